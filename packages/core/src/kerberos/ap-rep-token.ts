/**
 * The acceptor's per-request answer to an AP-REQ, each part written into one pre-sized Buffer:
 * the EncAPRepPart (RFC 4120 §5.5.2) and the GSS-framed AP-REP around its ciphertext (RFC 2743
 * §3.1, RFC 4121 §4.1). Every field's size follows from the values, so each message is sized
 * first and filled once, instead of one Buffer per TLV copied into its parent's (the generic
 * encoders in messages/ do that, and stay for everything else). The output is byte for byte what
 * `encodeEncApRepPart` and `encodeGssToken(TokenId.AP_REP, encodeApRep(...))` produce: a test
 * compares them on random values.
 */
import {
  applicationTag,
  contextTag,
  encodeOid,
  int32TlvSize,
  kerberosTimeText,
  Tag,
  tlvSize,
  writeInt32Tlv,
  writeTlvHeader,
} from '../asn1/der.js';
import { encodeGssToken, KRB5_OID, MS_KRB5_OID, TokenId } from './gss-token.js';
import { encodeApRep } from './messages/ap-rep.js';
import { encodeEncApRepPart, type EncApRepPart } from './messages/enc-ap-rep-part.js';

const ENC_AP_REP_PART_TAG = applicationTag(27);
const AP_REP_TAG = applicationTag(15);
/** GSS InitialContextToken (RFC 2743 §3.1): [APPLICATION 0] IMPLICIT, constructed. */
const GSS_FRAME_TAG = 0x60;
/** AP-REP's fixed fields: pvno [0] INTEGER 5 and msg-type [1] INTEGER 15 (RFC 4120 §5.5.2). */
const PVNO_AND_MSG_TYPE = Buffer.from([0xa0, 0x03, 0x02, 0x01, 0x05, 0xa1, 0x03, 0x02, 0x01, 0x0f]);
/** KerberosTime is GeneralizedTime "YYYYMMDDHHMMSSZ": always 15 octets (RFC 4120 §5.2.3). */
const KERBEROS_TIME_BYTES = 15;

const MECH_OID_DER = new Map<string, Buffer>([
  [KRB5_OID, encodeOid(KRB5_OID)],
  [MS_KRB5_OID, encodeOid(MS_KRB5_OID)],
]);

// Each field below is `[n] EXPLICIT` around one TLV: tlvSize(tlvSize(content)).
// The authenticator's ctime is echoed in every AP-REP and moves once a second: keep the last
// text instead of formatting a Date per request.
let lastTimeMs = Number.NaN;
let lastTimeText = '';
function timeText(ms: number): string {
  if (ms !== lastTimeMs) {
    lastTimeText = kerberosTimeText(ms);
    lastTimeMs = ms;
  }
  return lastTimeText;
}

function isInt32(value: number): boolean {
  return Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff;
}

/**
 * The DER of an EncAPRepPart (RFC 4120 §5.5.2): ctime, cusec, the optional subkey and
 * seq-number, in one allocation.
 */
export function encodeEncApRepPartPresized(value: EncApRepPart): Buffer {
  const time = timeText(value.ctime);
  // Values this writer does not size (beyond Int32, a year past 9999): the generic encoder.
  if (
    time.length !== KERBEROS_TIME_BYTES ||
    !isInt32(value.cusec) ||
    (value.subkey !== undefined && !isInt32(value.subkey.keytype)) ||
    (value.seqNumber !== undefined && !isInt32(value.seqNumber))
  ) {
    return encodeEncApRepPart(value);
  }
  const ctimeField = tlvSize(tlvSize(KERBEROS_TIME_BYTES));
  const cusecField = tlvSize(int32TlvSize(value.cusec));
  let subkeyField = 0;
  let keySequence = 0;
  let keytypeField = 0;
  let keyvalueField = 0;
  if (value.subkey !== undefined) {
    keytypeField = tlvSize(int32TlvSize(value.subkey.keytype));
    keyvalueField = tlvSize(tlvSize(value.subkey.keyvalue.length));
    keySequence = keytypeField + keyvalueField;
    subkeyField = tlvSize(tlvSize(keySequence));
  }
  const seqField = value.seqNumber === undefined ? 0 : tlvSize(int32TlvSize(value.seqNumber));
  const sequence = ctimeField + cusecField + subkeyField + seqField;
  const out = Buffer.allocUnsafe(tlvSize(tlvSize(sequence)));
  let pos = writeTlvHeader(out, 0, ENC_AP_REP_PART_TAG, tlvSize(sequence));
  pos = writeTlvHeader(out, pos, Tag.SEQUENCE, sequence);
  pos = writeTlvHeader(out, pos, contextTag(0), tlvSize(KERBEROS_TIME_BYTES));
  pos = writeTlvHeader(out, pos, Tag.GENERALIZED_TIME, KERBEROS_TIME_BYTES);
  pos += out.write(time, pos, 'latin1');
  pos = writeTlvHeader(out, pos, contextTag(1), int32TlvSize(value.cusec));
  pos = writeInt32Tlv(out, pos, value.cusec);
  if (value.subkey !== undefined) {
    // EncryptionKey ::= SEQUENCE { keytype [0] Int32, keyvalue [1] OCTET STRING }
    pos = writeTlvHeader(out, pos, contextTag(2), tlvSize(keySequence));
    pos = writeTlvHeader(out, pos, Tag.SEQUENCE, keySequence);
    pos = writeTlvHeader(out, pos, contextTag(0), int32TlvSize(value.subkey.keytype));
    pos = writeInt32Tlv(out, pos, value.subkey.keytype);
    pos = writeTlvHeader(out, pos, contextTag(1), tlvSize(value.subkey.keyvalue.length));
    pos = writeTlvHeader(out, pos, Tag.OCTET_STRING, value.subkey.keyvalue.length);
    out.set(value.subkey.keyvalue, pos);
    pos += value.subkey.keyvalue.length;
  }
  if (value.seqNumber !== undefined) {
    pos = writeTlvHeader(out, pos, contextTag(3), int32TlvSize(value.seqNumber));
    pos = writeInt32Tlv(out, pos, value.seqNumber);
  }
  if (pos !== out.length) throw new RangeError('EncAPRepPart size mismatch');
  return out;
}

/**
 * The GSS-framed AP-REP (RFC 4121 §4.1: the mechanism OID, token id 02 00, then the AP-REP of
 * RFC 4120 §5.5.2 with its enc-part: `etype` and `cipher`, no kvno) in one allocation.
 */
export function encodeApRepGssToken(etype: number, cipher: Buffer, mechOid: string): Buffer {
  if (!isInt32(etype)) {
    return encodeGssToken(
      TokenId.AP_REP,
      encodeApRep({ encPart: { etype, kvno: undefined, cipher } }),
      mechOid,
    );
  }
  const oid = MECH_OID_DER.get(mechOid) ?? encodeOid(mechOid);
  // EncryptedData ::= SEQUENCE { etype [0] Int32, kvno [1] UInt32 OPTIONAL, cipher [2] OCTET STRING }
  const etypeField = tlvSize(int32TlvSize(etype));
  const cipherField = tlvSize(tlvSize(cipher.length));
  const encryptedData = tlvSize(etypeField + cipherField);
  const apRepSequence = PVNO_AND_MSG_TYPE.length + tlvSize(encryptedData);
  const apRep = tlvSize(tlvSize(apRepSequence));
  const frame = oid.length + 2 + apRep;
  const out = Buffer.allocUnsafe(tlvSize(frame));
  let pos = writeTlvHeader(out, 0, GSS_FRAME_TAG, frame);
  pos += oid.copy(out, pos);
  pos = out.writeUInt16BE(TokenId.AP_REP, pos);
  pos = writeTlvHeader(out, pos, AP_REP_TAG, tlvSize(apRepSequence));
  pos = writeTlvHeader(out, pos, Tag.SEQUENCE, apRepSequence);
  pos += PVNO_AND_MSG_TYPE.copy(out, pos);
  pos = writeTlvHeader(out, pos, contextTag(2), encryptedData);
  pos = writeTlvHeader(out, pos, Tag.SEQUENCE, etypeField + cipherField);
  pos = writeTlvHeader(out, pos, contextTag(0), int32TlvSize(etype));
  pos = writeInt32Tlv(out, pos, etype);
  pos = writeTlvHeader(out, pos, contextTag(2), tlvSize(cipher.length));
  pos = writeTlvHeader(out, pos, Tag.OCTET_STRING, cipher.length);
  pos += cipher.copy(out, pos);
  if (pos !== out.length) throw new RangeError('AP-REP size mismatch');
  return out;
}
