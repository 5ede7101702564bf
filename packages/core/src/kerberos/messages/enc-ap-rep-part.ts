/**
 * EncAPRepPart (RFC 4120 §5.5.2):
 *
 *   EncAPRepPart ::= [APPLICATION 27] SEQUENCE {
 *     ctime      [0] KerberosTime,
 *     cusec      [1] Microseconds,
 *     subkey     [2] EncryptionKey OPTIONAL,
 *     seq-number [3] UInt32 OPTIONAL
 *   }
 */
import {
  applicationTag,
  contextFields,
  decodeDer,
  encodeContextSequence,
  encodeInteger,
  encodeKerberosTime,
  encodeTlv,
  readKerberosTime,
  readMicroseconds,
  readUInt32,
  unwrap,
  Tag,
  type DerNode,
} from '../../asn1/der.js';
import {
  decodeEncryptionKey,
  encodeEncryptionKey,
  type EncryptionKeyValue,
} from './encrypted-data.js';

export const ENC_AP_REP_PART_TAG = applicationTag(27);

/**
 * EncAPRepPart (RFC 4120 §5.5.2), the decrypted body of an AP-REP: the client's authenticator time
 * echoed back, and optionally the acceptor's subkey and initial sequence number.
 */
export interface EncApRepPart {
  readonly ctime: number;
  readonly cusec: number;
  readonly subkey: EncryptionKeyValue | undefined;
  readonly seqNumber: number | undefined;
}

/**
 * Decodes an EncAPRepPart (RFC 4120 §5.5.2) after decryption. Throws `ERR_HTTPAUTH_ASN1_MALFORMED`
 * on bad DER.
 */
export function decodeEncApRepPart(der: Buffer): EncApRepPart {
  const f = contextFields(unwrap(decodeDer(der, ENC_AP_REP_PART_TAG), Tag.SEQUENCE), 3, [0, 1]);
  return {
    ctime: readKerberosTime(f[0] as DerNode),
    cusec: readMicroseconds(f[1] as DerNode),
    subkey: f[2] === undefined ? undefined : decodeEncryptionKey(f[2]),
    seqNumber: f[3] === undefined ? undefined : readUInt32(f[3]),
  };
}

export function encodeEncApRepPart(value: EncApRepPart): Buffer {
  return encodeTlv(
    ENC_AP_REP_PART_TAG,
    encodeContextSequence([
      encodeKerberosTime(value.ctime),
      encodeInteger(value.cusec),
      value.subkey === undefined ? undefined : encodeEncryptionKey(value.subkey),
      value.seqNumber === undefined ? undefined : encodeInteger(value.seqNumber),
    ]),
  );
}
