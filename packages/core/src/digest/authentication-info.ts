/**
 * The Authentication-Info header on success, RFC 7616 §3.5 (RFC 9110 §11.6.3):
 *
 *   Authentication-Info = #auth-param: nextnonce, qop, rspauth, cnonce, nc
 *
 * rspauth proves the server knew H(A1) too (mutual authentication); nextnonce hands the client
 * the nonce for its next request.
 */
import { fail } from '../errors.js';
import { parseCredentials, quote } from '../grammar/http-auth.js';

/**
 * The Digest Authentication-Info header (RFC 7616 §3.5) the server sends on success: `rspauth`,
 * which proves the server knew H(A1) too, and optionally `nextnonce`.
 */
export interface AuthenticationInfo {
  readonly rspauth: string;
  readonly qop?: string | undefined;
  readonly cnonce?: string | undefined;
  readonly nc?: string | undefined;
  readonly nextnonce?: string | undefined;
}

/** Formats an Authentication-Info header value (RFC 7616 §3.5), as one string without a list. */
export function encodeAuthenticationInfo(info: AuthenticationInfo): string {
  let value = `rspauth=${quote(info.rspauth)}`;
  if (info.qop !== undefined) value = `qop=${info.qop}, ${value}`;
  if (info.nextnonce !== undefined) value = `nextnonce=${quote(info.nextnonce)}, ${value}`;
  if (info.cnonce !== undefined) value += `, cnonce=${quote(info.cnonce)}`;
  if (info.nc !== undefined) value += `, nc=${info.nc}`;
  return value;
}

/**
 * Parses an Authentication-Info header value (RFC 7616 §3.5), as a client checking `rspauth` does.
 * Throws `ERR_HTTPAUTH_DIGEST_PARAMS` when it has no `rspauth` or is not an auth-param list.
 */
export function decodeAuthenticationInfo(value: string): AuthenticationInfo {
  // The header is a bare auth-param list; borrow the credentials grammar with a dummy scheme.
  const parsed = parseCredentials('x ' + value);
  if (parsed.params === undefined) fail('ERR_HTTPAUTH_DIGEST_PARAMS');
  const rspauth = parsed.params.get('rspauth');
  if (rspauth === undefined) fail('ERR_HTTPAUTH_DIGEST_PARAMS');
  return {
    rspauth,
    qop: parsed.params.get('qop'),
    cnonce: parsed.params.get('cnonce'),
    nc: parsed.params.get('nc'),
    nextnonce: parsed.params.get('nextnonce'),
  };
}
