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

export interface AuthenticationInfo {
  readonly rspauth: string;
  readonly qop?: string | undefined;
  readonly cnonce?: string | undefined;
  readonly nc?: string | undefined;
  readonly nextnonce?: string | undefined;
}

export function encodeAuthenticationInfo(info: AuthenticationInfo): string {
  const parts: string[] = [];
  if (info.nextnonce !== undefined) parts.push(`nextnonce=${quote(info.nextnonce)}`);
  if (info.qop !== undefined) parts.push(`qop=${info.qop}`);
  parts.push(`rspauth=${quote(info.rspauth)}`);
  if (info.cnonce !== undefined) parts.push(`cnonce=${quote(info.cnonce)}`);
  if (info.nc !== undefined) parts.push(`nc=${info.nc}`);
  return parts.join(', ');
}

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
