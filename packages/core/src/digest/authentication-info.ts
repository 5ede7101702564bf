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

/** Formats an Authentication-Info header value (RFC 7616 §3.5). */
export function encodeAuthenticationInfo(info: AuthenticationInfo): string {
  const parts: string[] = [];
  if (info.nextnonce !== undefined) parts.push(`nextnonce=${quote(info.nextnonce)}`);
  if (info.qop !== undefined) parts.push(`qop=${info.qop}`);
  parts.push(`rspauth=${quote(info.rspauth)}`);
  if (info.cnonce !== undefined) parts.push(`cnonce=${quote(info.cnonce)}`);
  if (info.nc !== undefined) parts.push(`nc=${info.nc}`);
  return parts.join(', ');
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
