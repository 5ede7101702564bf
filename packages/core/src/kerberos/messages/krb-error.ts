/**
 * KRB-ERROR (RFC 4120 §5.9.1), sent back to the client when it can act on the failure (skew):
 *
 *   KRB-ERROR ::= [APPLICATION 30] SEQUENCE {
 *     pvno       [0] INTEGER (5),
 *     msg-type   [1] INTEGER (30),
 *     ctime      [2] KerberosTime OPTIONAL,
 *     cusec      [3] Microseconds OPTIONAL,
 *     stime      [4] KerberosTime,
 *     susec      [5] Microseconds,
 *     error-code [6] Int32,
 *     crealm     [7] Realm OPTIONAL,
 *     cname      [8] PrincipalName OPTIONAL,
 *     realm      [9] Realm,        -- service realm
 *     sname      [10] PrincipalName, -- service name
 *     e-text     [11] KerberosString OPTIONAL,
 *     e-data     [12] OCTET STRING OPTIONAL
 *   }
 */
import {
  applicationTag,
  contextFields,
  decodeDer,
  encodeContextSequence,
  encodeInteger,
  encodeKerberosString,
  encodeKerberosTime,
  encodeOctetString,
  encodeTlv,
  readInt32,
  readInteger,
  readKerberosString,
  readKerberosTime,
  readMicroseconds,
  readOctetString,
  unwrap,
  Tag,
  type DerNode,
} from '../../asn1/der.js';
import { decodePrincipalName, encodePrincipalName, type PrincipalName } from './principal-name.js';

export const KRB_ERROR_TAG = applicationTag(30);
export const MSG_TYPE_KRB_ERROR = 30;

/** The error codes the acceptor sends (RFC 4120 §7.5.9). */
export const KrbErrorCode = {
  KDC_ERR_ETYPE_NOSUPP: 14,
  KRB_AP_ERR_BAD_INTEGRITY: 31,
  KRB_AP_ERR_TKT_EXPIRED: 32,
  KRB_AP_ERR_TKT_NYV: 33,
  KRB_AP_ERR_REPEAT: 34,
  KRB_AP_ERR_NOT_US: 35,
  KRB_AP_ERR_BADMATCH: 36,
  KRB_AP_ERR_SKEW: 37,
  KRB_AP_ERR_MSG_TYPE: 40,
  KRB_AP_ERR_MODIFIED: 41,
  KRB_AP_ERR_BADVERSION: 39,
  KRB_AP_ERR_NOKEY: 45,
  KRB_AP_ERR_BADKEYVER: 44,
  KRB_ERR_GENERIC: 60,
} as const;

/**
 * KRB-ERROR (RFC 4120 §5.9.1): the error message a Kerberos service or KDC returns, with an error
 * code from `KrbErrorCode`, the server's time and optional text and data.
 */
export interface KrbError {
  readonly ctime?: number | undefined;
  readonly cusec?: number | undefined;
  readonly stime: number;
  readonly susec: number;
  readonly errorCode: number;
  readonly crealm?: string | undefined;
  readonly cname?: PrincipalName | undefined;
  readonly realm: string;
  readonly sname: PrincipalName;
  readonly eText?: string | undefined;
  readonly eData?: Buffer | undefined;
}

/**
 * Decodes a KRB-ERROR (RFC 4120 §5.9.1). Throws `ERR_HTTPAUTH_ASN1_MALFORMED` on bad DER or a wrong
 * pvno or msg-type.
 */
export function decodeKrbError(der: Buffer): KrbError {
  const f = contextFields(
    unwrap(decodeDer(der, KRB_ERROR_TAG), Tag.SEQUENCE),
    12,
    [0, 1, 4, 5, 6, 9, 10],
  );
  readInteger(f[0] as DerNode, 5, 5);
  readInteger(f[1] as DerNode, MSG_TYPE_KRB_ERROR, MSG_TYPE_KRB_ERROR);
  return {
    ctime: f[2] === undefined ? undefined : readKerberosTime(f[2]),
    cusec: f[3] === undefined ? undefined : readMicroseconds(f[3]),
    stime: readKerberosTime(f[4] as DerNode),
    susec: readMicroseconds(f[5] as DerNode),
    errorCode: readInt32(f[6] as DerNode),
    crealm: f[7] === undefined ? undefined : readKerberosString(f[7]),
    cname: f[8] === undefined ? undefined : decodePrincipalName(f[8]),
    realm: readKerberosString(f[9] as DerNode),
    sname: decodePrincipalName(f[10] as DerNode),
    eText: f[11] === undefined ? undefined : readKerberosString(f[11]),
    eData: f[12] === undefined ? undefined : readOctetString(f[12]),
  };
}

/**
 * Encodes a KRB-ERROR (RFC 4120 §5.9.1); the acceptor sends one when the client can recover, such
 * as on clock skew.
 */
export function encodeKrbError(value: KrbError): Buffer {
  return encodeTlv(
    KRB_ERROR_TAG,
    encodeContextSequence([
      encodeInteger(5),
      encodeInteger(MSG_TYPE_KRB_ERROR),
      value.ctime === undefined ? undefined : encodeKerberosTime(value.ctime),
      value.cusec === undefined ? undefined : encodeInteger(value.cusec),
      encodeKerberosTime(value.stime),
      encodeInteger(value.susec),
      encodeInteger(value.errorCode),
      value.crealm === undefined ? undefined : encodeKerberosString(value.crealm),
      value.cname === undefined ? undefined : encodePrincipalName(value.cname),
      encodeKerberosString(value.realm),
      encodePrincipalName(value.sname),
      value.eText === undefined ? undefined : encodeKerberosString(value.eText),
      value.eData === undefined ? undefined : encodeOctetString(value.eData),
    ]),
  );
}
