/**
 * EncASRepPart and EncTGSRepPart (RFC 4120 §5.4.2), the part of a KDC reply only the client can
 * read (with its long-term key for AS, the TGT session key or subkey for TGS):
 *
 *   EncASRepPart  ::= [APPLICATION 25] EncKDCRepPart
 *   EncTGSRepPart ::= [APPLICATION 26] EncKDCRepPart
 *   EncKDCRepPart ::= SEQUENCE {
 *     key            [0] EncryptionKey,
 *     last-req       [1] LastReq,
 *     nonce          [2] UInt32,
 *     key-expiration [3] KerberosTime OPTIONAL,
 *     flags          [4] TicketFlags,
 *     authtime       [5] KerberosTime,
 *     starttime      [6] KerberosTime OPTIONAL,
 *     endtime        [7] KerberosTime,
 *     renew-till     [8] KerberosTime OPTIONAL,
 *     srealm         [9] Realm,
 *     sname          [10] PrincipalName,
 *     caddr          [11] HostAddresses OPTIONAL,
 *     encrypted-pa-data [12] SEQUENCE OF PA-DATA OPTIONAL  -- RFC 6806 §11
 *   }
 *   LastReq ::= SEQUENCE OF SEQUENCE { lr-type [0] Int32, lr-value [1] KerberosTime }
 *
 * §5.4.2 notes that some KDCs put tag 26 in an AS reply; RFC 4120 lets clients accept either tag,
 * and so does this decoder.
 */
import {
  applicationTag,
  children,
  contextFields,
  decodeDer,
  encodeContextSequence,
  encodeInteger,
  encodeKerberosFlags,
  encodeKerberosString,
  encodeKerberosTime,
  encodeSequence,
  encodeTlv,
  expectTag,
  readInt32,
  readKerberosFlags,
  readKerberosString,
  readKerberosTime,
  readTlv,
  readUInt32,
  Tag,
  type DerNode,
} from '../../asn1/der.js';
import { fail } from '../../errors.js';
import {
  decodeEncryptionKey,
  encodeEncryptionKey,
  type EncryptionKeyValue,
} from '../messages/encrypted-data.js';
import {
  decodePrincipalName,
  encodePrincipalName,
  type PrincipalName,
} from '../messages/principal-name.js';
import { decodePaDataSequence, encodePaDataSequence, type PaData } from './pa-data.js';

export const ENC_AS_REP_PART_TAG = applicationTag(25);
export const ENC_TGS_REP_PART_TAG = applicationTag(26);

export interface LastReqEntry {
  readonly type: number;
  readonly value: number;
}

export interface EncKdcRepPart {
  readonly key: EncryptionKeyValue;
  readonly lastReq: readonly LastReqEntry[];
  readonly nonce: number;
  /** When the client's key (password) expires, if the KDC says. */
  readonly keyExpiration: number | undefined;
  readonly flags: number;
  readonly authtime: number;
  readonly starttime: number | undefined;
  readonly endtime: number;
  readonly renewTill: number | undefined;
  readonly srealm: string;
  readonly sname: PrincipalName;
  readonly encryptedPaData: readonly PaData[];
}

const MAX_LAST_REQ = 16;

export function decodeEncKdcRepPart(der: Buffer): EncKdcRepPart {
  if (!Buffer.isBuffer(der) || der.length < 2) fail('ERR_HTTPAUTH_ASN1_MALFORMED');
  const tag = der[0];
  if (tag !== ENC_AS_REP_PART_TAG && tag !== ENC_TGS_REP_PART_TAG) {
    fail('ERR_HTTPAUTH_ASN1_MALFORMED');
  }
  const outer = decodeDer(der, tag);
  const sequence = readTlv(der, outer.contentStart, outer.end);
  if (sequence.end !== outer.end) fail('ERR_HTTPAUTH_ASN1_MALFORMED');
  const f = contextFields(sequence, 12, [0, 1, 2, 4, 5, 7, 9, 10]);
  const lastReqList = children(expectTag(f[1] as DerNode, Tag.SEQUENCE));
  if (lastReqList.length > MAX_LAST_REQ) fail('ERR_HTTPAUTH_ASN1_MALFORMED');
  return {
    key: decodeEncryptionKey(f[0] as DerNode),
    lastReq: lastReqList.map((entry) => {
      const lr = contextFields(entry, 1, [0, 1]);
      return { type: readInt32(lr[0] as DerNode), value: readKerberosTime(lr[1] as DerNode) };
    }),
    nonce: readUInt32(f[2] as DerNode),
    keyExpiration: f[3] === undefined ? undefined : readKerberosTime(f[3]),
    flags: readKerberosFlags(f[4] as DerNode),
    authtime: readKerberosTime(f[5] as DerNode),
    starttime: f[6] === undefined ? undefined : readKerberosTime(f[6]),
    endtime: readKerberosTime(f[7] as DerNode),
    renewTill: f[8] === undefined ? undefined : readKerberosTime(f[8]),
    srealm: readKerberosString(f[9] as DerNode),
    sname: decodePrincipalName(f[10] as DerNode),
    encryptedPaData: f[12] === undefined ? [] : decodePaDataSequence(f[12]),
  };
}

/** For tests and fake KDCs. `tag` is ENC_AS_REP_PART_TAG or ENC_TGS_REP_PART_TAG. */
export function encodeEncKdcRepPart(tag: number, part: EncKdcRepPart): Buffer {
  return encodeTlv(
    tag,
    encodeContextSequence([
      encodeEncryptionKey(part.key),
      encodeSequence(
        ...part.lastReq.map((lr) =>
          encodeContextSequence([encodeInteger(lr.type), encodeKerberosTime(lr.value)]),
        ),
      ),
      encodeInteger(part.nonce >>> 0),
      part.keyExpiration === undefined ? undefined : encodeKerberosTime(part.keyExpiration),
      encodeKerberosFlags(part.flags),
      encodeKerberosTime(part.authtime),
      part.starttime === undefined ? undefined : encodeKerberosTime(part.starttime),
      encodeKerberosTime(part.endtime),
      part.renewTill === undefined ? undefined : encodeKerberosTime(part.renewTill),
      encodeKerberosString(part.srealm),
      encodePrincipalName(part.sname),
      undefined,
      part.encryptedPaData.length === 0 ? undefined : encodePaDataSequence(part.encryptedPaData),
    ]),
  );
}
