/**
 * The mechanism-independent framing of a GSS-API initial context token (RFC 2743 §3.1):
 *
 *   InitialContextToken ::= [APPLICATION 0] IMPLICIT SEQUENCE {
 *       thisMech      MechType,                   -- an OBJECT IDENTIFIER
 *       innerContextToken ANY DEFINED BY thisMech -- not necessarily one TLV
 *   }
 *
 * So the bytes are 0x60, a DER length, the OID TLV, and the mechanism's inner token filling the
 * rest. SPNEGO wraps its NegTokenInit in it; a raw Kerberos AP-REQ (requests-kerberos) carries
 * it with the krb5 OID. This module only frames and unframes; the inner token is the mechanism's.
 */
import { MAX_DER_BYTES, Tag, encodeOid, encodeTlv, readOid, readTlv } from '../asn1/der.js';
import { fail, isHttpAuthError } from '../errors.js';

export const INITIAL_CONTEXT_TOKEN_TAG = 0x60;

export interface InitialContextToken {
  /** thisMech, dotted. */
  readonly mechOid: string;
  /** The mechanism's token after the OID (a view into the input). */
  readonly innerToken: Buffer;
}

/** Unframe; ERR_HTTPAUTH_GSS_MALFORMED on anything but one well-formed 0x60 token. */
export function decodeInitialContextToken(token: Buffer): InitialContextToken {
  try {
    if (token.length > MAX_DER_BYTES) fail('ERR_HTTPAUTH_GSS_MALFORMED');
    const outer = readTlv(token, 0, token.length);
    if (outer.tag !== INITIAL_CONTEXT_TOKEN_TAG || outer.end !== token.length) {
      fail('ERR_HTTPAUTH_GSS_MALFORMED');
    }
    const oid = readTlv(token, outer.contentStart, outer.end);
    if (oid.tag !== Tag.OID) fail('ERR_HTTPAUTH_GSS_MALFORMED');
    return { mechOid: readOid(oid), innerToken: token.subarray(oid.end, outer.end) };
  } catch (error) {
    if (isHttpAuthError(error) && error.code === 'ERR_HTTPAUTH_GSS_MALFORMED') throw error;
    fail('ERR_HTTPAUTH_GSS_MALFORMED', error);
  }
}

export function encodeInitialContextToken(mechOid: string, innerToken: Buffer): Buffer {
  return encodeTlv(INITIAL_CONTEXT_TOKEN_TAG, encodeOid(mechOid), innerToken);
}
