/**
 * The Basic credentials, RFC 7617 §2:
 *
 *   credentials = "Basic" SP token68          token68 = base64( user-id ":" password )
 *
 * With charset="UTF-8" in the challenge (§2.1) the octets are UTF-8; user-id and password must
 * not contain control characters (§2), and the user-id cannot contain ':'. decode() enforces the
 * syntax only; verify is the configured verifier's job.
 */
import { fail } from '../errors.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The user name and password of a Basic token (RFC 7617 §2). */
export interface BasicCredentials {
  readonly user: string;
  readonly password: string;
}

function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0)) return true;
  }
  return false;
}

/**
 * Decodes a Basic token68 (RFC 7617 §2): canonical padded base64 of UTF-8 `user:password`. Throws
 * `ERR_HTTPAUTH_BASIC_MALFORMED` for other base64, invalid UTF-8, no colon or control characters.
 */
export function decodeBasicToken(token: string): BasicCredentials {
  // Canonical padded base64 only: a token that decodes leniently could hide trailing bytes.
  if (token.length === 0 || token.length % 4 !== 0 || !BASE64.test(token)) {
    fail('ERR_HTTPAUTH_BASIC_MALFORMED');
  }
  const bytes = Buffer.from(token, 'base64');
  if (bytes.toString('base64') !== token) fail('ERR_HTTPAUTH_BASIC_MALFORMED');
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return fail('ERR_HTTPAUTH_BASIC_MALFORMED');
  }
  const colon = text.indexOf(':');
  if (colon < 0) fail('ERR_HTTPAUTH_BASIC_MALFORMED');
  const user = text.slice(0, colon);
  const password = text.slice(colon + 1);
  if (hasControl(user) || hasControl(password)) fail('ERR_HTTPAUTH_BASIC_MALFORMED');
  return { user, password };
}

/** The token68 a client sends for `user` and `password` (UTF-8). */
export function encodeBasicToken(credentials: BasicCredentials): string {
  if (credentials.user.includes(':')) fail('ERR_HTTPAUTH_BASIC_MALFORMED');
  return Buffer.from(`${credentials.user}:${credentials.password}`, 'utf8').toString('base64');
}
