/**
 * The Digest credentials, RFC 7616 §3.4 (Authorization / Proxy-Authorization):
 *
 *   credentials = "Digest" username | username*, realm, nonce, uri, response, [algorithm],
 *                 [cnonce], [opaque], [qop], [nc], [userhash]
 *
 * decode() checks presence and syntax only; whether the values are right for this server is the
 * verifier's job (verify.ts). The header grammar itself (quoted-strings, repeated parameters) was
 * already enforced by grammar/http-auth.ts, or by scan.ts, which accepts a subset of it.
 */
import { fail } from '../errors.js';
import { quote } from '../grammar/http-auth.js';
import { decodeExtValue, decodeHeaderText, encodeExtValue, encodeHeaderText } from './ext-value.js';

/** No Digest parameter a real client sends comes near this; longer ones are refused unread. */
const MAX_PARAM_LENGTH = 4096;
/** The uri repeats the request-target, which may carry a long query string. */
const MAX_URI_LENGTH = 32 * 1024;
/** The longest response: 64 hex digits (SHA-256, SHA-512-256). */
const MAX_RESPONSE_LENGTH = 128;
/** Lower-case hex digits, 1 to MAX_RESPONSE_LENGTH of them. */
const RESPONSE_HEX = new RegExp(`^[0-9a-f]{1,${MAX_RESPONSE_LENGTH}}$`);

/**
 * The parameters of an `Authorization: Digest` header (RFC 7616 §3.4), checked for presence and
 * syntax, with the user name decoded.
 */
export interface DigestCredentials {
  /** The user name (decoded from `username*` or as UTF-8 header text), or the userhash. */
  readonly username: string;
  /** True when `username` is H(user ":" realm) (§3.4.4). */
  readonly userhash: boolean;
  /** True when the name came from `username*`. */
  readonly extendedUsername: boolean;
  readonly realm: string;
  readonly nonce: string;
  readonly uri: string;
  /** Lower-case hex. */
  readonly response: string;
  /** The algorithm token as sent; absent means MD5 (RFC 2617 §3.2.2). */
  readonly algorithm: string | undefined;
  readonly qop: string | undefined;
  readonly nc: string | undefined;
  readonly cnonce: string | undefined;
  readonly opaque: string | undefined;
}

/**
 * The Digest parameters as sent, one field each (names lower-cased, values unquoted): what the
 * RFC 9110 parser's Map holds for them, or what scan.ts reads in one pass. Unknown parameters
 * are not kept: RFC 7616 §3.4 has the server ignore them.
 */
export class DigestFields {
  username: string | undefined = undefined;
  usernameExt: string | undefined = undefined;
  realm: string | undefined = undefined;
  nonce: string | undefined = undefined;
  uri: string | undefined = undefined;
  response: string | undefined = undefined;
  algorithm: string | undefined = undefined;
  qop: string | undefined = undefined;
  nc: string | undefined = undefined;
  cnonce: string | undefined = undefined;
  opaque: string | undefined = undefined;
  userhash: string | undefined = undefined;
}

/** The fields of a parsed parameter Map (grammar/http-auth.ts). */
export function fieldsOf(params: ReadonlyMap<string, string>): DigestFields {
  const fields = new DigestFields();
  fields.username = params.get('username');
  fields.usernameExt = params.get('username*');
  fields.realm = params.get('realm');
  fields.nonce = params.get('nonce');
  fields.uri = params.get('uri');
  fields.response = params.get('response');
  fields.algorithm = params.get('algorithm');
  fields.qop = params.get('qop');
  fields.nc = params.get('nc');
  fields.cnonce = params.get('cnonce');
  fields.opaque = params.get('opaque');
  fields.userhash = params.get('userhash');
  return fields;
}

function bounded(value: string | undefined, limit = MAX_PARAM_LENGTH): string | undefined {
  if (value !== undefined && value.length > limit) fail('ERR_HTTPAUTH_DIGEST_PARAMS');
  return value;
}

function required(value: string | undefined, limit = MAX_PARAM_LENGTH): string {
  if (value === undefined) fail('ERR_HTTPAUTH_DIGEST_PARAMS');
  return bounded(value, limit) as string;
}

/** Exactly 8 hex digits, either case (§3.4 nc). */
function isNonceCount(value: string): boolean {
  if (value.length !== 8) return false;
  for (let i = 0; i < 8; i++) {
    const c = value.charCodeAt(i);
    const digit = c >= 0x30 && c <= 0x39;
    if (!digit && !(c >= 0x41 && c <= 0x46) && !(c >= 0x61 && c <= 0x66)) return false;
  }
  return true;
}

/**
 * Reads the parameters of an `Authorization: Digest` header (RFC 7616 §3.4) into {@link
 * DigestCredentials}. Throws `ERR_HTTPAUTH_DIGEST_PARAMS` for a missing, oversized or malformed
 * parameter, or both or neither of `username` and `username*` (§3.4.4). Whether the values are
 * right for this server is the package's check, not this one.
 */
export function decodeCredentials(params: ReadonlyMap<string, string>): DigestCredentials {
  return decodeFields(fieldsOf(params));
}

/** decodeCredentials on the fields themselves: the one set of checks both readers share. */
export function decodeFields(fields: DigestFields): DigestCredentials {
  const plainName = bounded(fields.username);
  const extName = bounded(fields.usernameExt);
  // §3.4.4: exactly one of username and username*; username* never with userhash.
  if ((plainName === undefined) === (extName === undefined)) fail('ERR_HTTPAUTH_DIGEST_PARAMS');

  const userhashRaw = bounded(fields.userhash)?.toLowerCase();
  if (userhashRaw !== undefined && userhashRaw !== 'true' && userhashRaw !== 'false') {
    fail('ERR_HTTPAUTH_DIGEST_PARAMS');
  }
  const userhash = userhashRaw === 'true';
  if (userhash && extName !== undefined) fail('ERR_HTTPAUTH_DIGEST_PARAMS');

  const username =
    extName !== undefined ? decodeExtValue(extName) : decodeHeaderText(plainName ?? '');

  const response = required(fields.response).toLowerCase();
  if (!RESPONSE_HEX.test(response)) fail('ERR_HTTPAUTH_DIGEST_PARAMS');

  const qop = bounded(fields.qop);
  const nc = bounded(fields.nc);
  const cnonce = bounded(fields.cnonce);
  if (qop !== undefined) {
    // §3.4: with qop, cnonce and nc are mandatory; nc is exactly 8 hex digits.
    if (nc === undefined || cnonce === undefined) fail('ERR_HTTPAUTH_DIGEST_PARAMS');
    if (!isNonceCount(nc)) fail('ERR_HTTPAUTH_DIGEST_PARAMS');
  } else if (nc !== undefined || cnonce !== undefined) {
    fail('ERR_HTTPAUTH_DIGEST_PARAMS');
  }

  return {
    username,
    userhash,
    extendedUsername: extName !== undefined,
    realm: decodeHeaderText(required(fields.realm)),
    nonce: required(fields.nonce),
    uri: required(fields.uri, MAX_URI_LENGTH),
    response,
    algorithm: bounded(fields.algorithm),
    qop,
    nc,
    cnonce,
    opaque: bounded(fields.opaque),
  };
}

/** Values for encodeCredentials: what a client sends. */
export interface DigestCredentialsInput {
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  readonly uri: string;
  readonly response: string;
  readonly algorithm?: string | undefined;
  readonly qop?: string | undefined;
  readonly nc?: string | undefined;
  readonly cnonce?: string | undefined;
  readonly opaque?: string | undefined;
  readonly userhash?: boolean | undefined;
  /** Send the name as `username*` (RFC 8187) instead of `username`. */
  readonly extendedUsername?: boolean | undefined;
}

/** The Authorization header value a client sends (RFC 7616 §3.4). */
export function encodeCredentials(input: DigestCredentialsInput): string {
  const parts: string[] = [];
  if (input.extendedUsername === true) parts.push(`username*=${encodeExtValue(input.username)}`);
  else parts.push(`username=${quote(encodeHeaderText(input.username))}`);
  parts.push(`realm=${quote(encodeHeaderText(input.realm))}`);
  parts.push(`uri=${quote(input.uri)}`);
  if (input.algorithm !== undefined) parts.push(`algorithm=${input.algorithm}`);
  parts.push(`nonce=${quote(input.nonce)}`);
  if (input.nc !== undefined) parts.push(`nc=${input.nc}`);
  if (input.cnonce !== undefined) parts.push(`cnonce=${quote(input.cnonce)}`);
  if (input.qop !== undefined) parts.push(`qop=${input.qop}`);
  parts.push(`response=${quote(input.response)}`);
  if (input.opaque !== undefined) parts.push(`opaque=${quote(input.opaque)}`);
  if (input.userhash !== undefined) parts.push(`userhash=${input.userhash ? 'true' : 'false'}`);
  return 'Digest ' + parts.join(', ');
}
