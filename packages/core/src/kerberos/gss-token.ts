/**
 * The GSS-API initial context token framing (RFC 2743 §3.1) and the Kerberos token ids (RFC 4121
 * §4.1):
 *
 *   InitialContextToken ::= [APPLICATION 0] IMPLICIT SEQUENCE {
 *     thisMech     MechType,            -- OBJECT IDENTIFIER
 *     innerContextToken ANY DEFINED BY thisMech
 *   }
 *   krb5 innerContextToken = TOK_ID (2 octets) || message (AP-REQ, AP-REP or KRB-ERROR DER)
 *
 * The inner token is not itself ASN.1, so the framing is read by hand here: 0x60, a DER length,
 * the OID TLV, two token-id octets, the message.
 */
import { decodeOidContent, encodeOid, encodeTlv, readTlv, Tag } from '../asn1/der.js';
import { fail, isHttpAuthError } from '../errors.js';

/** RFC 1964 / RFC 4121 Kerberos V5 mechanism. */
export const KRB5_OID = '1.2.840.113554.1.2.2';
/** The OID Windows announces in SPNEGO for Kerberos (MS-KILE §3.1.5.11); same mechanism. */
export const MS_KRB5_OID = '1.2.840.48018.1.2.2';

/**
 * The two-octet token ids (RFC 4121 §4.1) that follow the mechanism OID in a Kerberos GSS token and
 * say which message comes next: AP-REQ, AP-REP or KRB-ERROR.
 */
export const TokenId = {
  AP_REQ: 0x0100,
  AP_REP: 0x0200,
  KRB_ERROR: 0x0300,
} as const;

/** A header-carried token is bounded by the header cap; this bounds the decoder independently. */
const MAX_TOKEN_BYTES = 256 * 1024;

/**
 * A GSS-API initial context token (RFC 2743 §3.1) unframed: the mechanism OID, the Kerberos token
 * id (see {@link TokenId}) and the Kerberos message DER.
 */
export interface GssToken {
  /** The mechanism OID the token names. */
  readonly mechOid: string;
  readonly tokenId: number;
  /** The Kerberos message after the token id (a view into the input). */
  readonly message: Buffer;
}

/**
 * Unframe a Kerberos GSS token. Throws ERR_HTTPAUTH_GSS_MALFORMED when the framing is wrong or
 * the OID is not a Kerberos one.
 */
export function decodeGssToken(token: Buffer): GssToken {
  if (!Buffer.isBuffer(token) || token.length > MAX_TOKEN_BYTES || token.length < 2) {
    fail('ERR_HTTPAUTH_GSS_MALFORMED');
  }
  try {
    const outer = readTlv(token, 0, token.length);
    if (outer.tag !== 0x60 || outer.end !== token.length) fail('ERR_HTTPAUTH_GSS_MALFORMED');
    const oid = readTlv(token, outer.contentStart, outer.end);
    if (oid.tag !== Tag.OID) fail('ERR_HTTPAUTH_GSS_MALFORMED');
    const mechOid = decodeOidContent(token.subarray(oid.contentStart, oid.end));
    if (mechOid !== KRB5_OID && mechOid !== MS_KRB5_OID) fail('ERR_HTTPAUTH_GSS_MALFORMED');
    if (oid.end + 2 > outer.end) fail('ERR_HTTPAUTH_GSS_MALFORMED');
    return {
      mechOid,
      tokenId: token.readUInt16BE(oid.end),
      message: token.subarray(oid.end + 2, outer.end),
    };
  } catch (error) {
    if (isHttpAuthError(error) && error.code === 'ERR_HTTPAUTH_GSS_MALFORMED') throw error;
    fail('ERR_HTTPAUTH_GSS_MALFORMED');
  }
}

const OID_DER = new Map<string, Buffer>([
  [KRB5_OID, encodeOid(KRB5_OID)],
  [MS_KRB5_OID, encodeOid(MS_KRB5_OID)],
]);

/** Frame a Kerberos message with the mechanism OID and token id. */
export function encodeGssToken(tokenId: number, message: Buffer, mechOid = KRB5_OID): Buffer {
  const id = Buffer.alloc(2);
  id.writeUInt16BE(tokenId);
  return encodeTlv(0x60, OID_DER.get(mechOid) ?? encodeOid(mechOid), id, message);
}

/** True when the bytes look like a GSS initial-context token rather than a bare message. */
export function isGssFramed(token: Buffer): boolean {
  return token.length > 0 && token[0] === 0x60;
}
