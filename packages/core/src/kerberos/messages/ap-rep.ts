/**
 * KRB_AP_REP (RFC 4120 §5.5.2), the acceptor's answer for mutual authentication:
 *
 *   AP-REP ::= [APPLICATION 15] SEQUENCE {
 *     pvno     [0] INTEGER (5),
 *     msg-type [1] INTEGER (15),
 *     enc-part [2] EncryptedData  -- EncAPRepPart, key usage 12
 *   }
 */
import {
  applicationTag,
  contextFields,
  decodeDer,
  encodeContextSequence,
  encodeInteger,
  encodeTlv,
  readInteger,
  unwrap,
  Tag,
  type DerNode,
} from '../../asn1/der.js';
import { decodeEncryptedData, encodeEncryptedData, type EncryptedData } from './encrypted-data.js';

export const AP_REP_TAG = applicationTag(15);
export const MSG_TYPE_AP_REP = 15;

/**
 * KRB_AP_REP (RFC 4120 §5.5.2): the acceptor's answer for mutual authentication; `encPart` is the
 * {@link EncApRepPart} encrypted with the session key (usage 12).
 */
export interface ApRep {
  readonly encPart: EncryptedData;
}

/**
 * Decodes a KRB_AP_REP (RFC 4120 §5.5.2). Throws `ERR_HTTPAUTH_ASN1_MALFORMED` on bad DER or a
 * wrong pvno or msg-type.
 */
export function decodeApRep(der: Buffer): ApRep {
  const f = contextFields(unwrap(decodeDer(der, AP_REP_TAG), Tag.SEQUENCE), 2, [0, 1, 2]);
  readInteger(f[0] as DerNode, 5, 5);
  readInteger(f[1] as DerNode, MSG_TYPE_AP_REP, MSG_TYPE_AP_REP);
  return { encPart: decodeEncryptedData(f[2] as DerNode) };
}

export function encodeApRep(value: ApRep): Buffer {
  return encodeTlv(
    AP_REP_TAG,
    encodeContextSequence([
      encodeInteger(5),
      encodeInteger(MSG_TYPE_AP_REP),
      encodeEncryptedData(value.encPart),
    ]),
  );
}
