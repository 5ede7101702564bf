/**
 * The Authorization / Proxy-Authorization header grammar, RFC 9110 §11:
 *
 *   credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param  = token BWS "=" BWS ( token / quoted-string )
 *   token68     = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
 *
 * One request carries one set of credentials: a second header, or a second auth-scheme after a
 * comma, is ERR_HTTPAUTH_MULTIPLE_CREDENTIALS. Parameter names are case-insensitive and may appear
 * once each. The parser is a single left-to-right scan with no backtracking and no regular
 * expression over the whole header, so its cost is linear in the header size.
 *
 * It sits below every security package: the loop parses credentials with it, and Digest and
 * Basic quote and format their challenges with it, without importing the loop.
 */
import { fail } from '../errors.js';

/** One parsed set of credentials (RFC 9110 §11.4): a token68 or a list of auth-params. */
export interface Credentials {
  /** The auth-scheme as the client spelled it. */
  readonly scheme: string;
  readonly token68?: string;
  /** Parameter names lower-cased; values unquoted and unescaped. */
  readonly params?: ReadonlyMap<string, string>;
}

/** Default cap on the header size: large Active Directory PACs make Kerberos tokens ~64 KiB. */
export const DEFAULT_MAX_HEADER_BYTES = 64 * 1024;

// RFC 9110 §5.6.2 tchar.
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/**
 * A run of token68 characters (RFC 9110 §11.2), without the trailing "=" padding, from
 * lastIndex; sticky, so it never searches.
 */
const TOKEN68_RUN = /[A-Za-z0-9\-._~+/]*/y;

function isTchar(code: number): boolean {
  return code < 128 && TCHAR[code] === 1;
}

function isWs(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** qdtext and quoted-pair octets (RFC 9110 §5.6.4): HTAB, SP, VCHAR, obs-text. */
function isQuotable(code: number): boolean {
  return code === 0x09 || (code >= 0x20 && code !== 0x7f && code <= 0xff);
}

/**
 * Reduce the header as Node delivers it (a string, or the list of repeated headers) to the single
 * credentials string, refusing repeats and oversized values.
 */
export function singleHeader(
  value: string | readonly string[] | undefined,
  maxBytes = DEFAULT_MAX_HEADER_BYTES,
): string | undefined {
  if (value === undefined) return undefined;
  let text: string;
  if (typeof value === 'string') {
    text = value;
  } else {
    if (value.length === 0) return undefined;
    if (value.length > 1) fail('ERR_HTTPAUTH_MULTIPLE_CREDENTIALS');
    text = value[0] as string;
  }
  if (text.length > maxBytes) fail('ERR_HTTPAUTH_HEADER_TOO_LARGE');
  return text;
}

/** Where a credentials value's auth-scheme is, and where what follows it starts. */
export interface SchemeSpan {
  /** The auth-scheme as the client spelled it. */
  readonly scheme: string;
  /** The first octet after the scheme and its whitespace (the header's length when none). */
  readonly rest: number;
}

/** The auth-scheme of one credentials value (RFC 9110 §11.4). Throws on a malformed one. */
export function readScheme(header: string): SchemeSpan {
  const s = header;
  const n = s.length;
  let i = 0;
  while (i < n && isWs(s.charCodeAt(i))) i++;
  const schemeStart = i;
  while (i < n && isTchar(s.charCodeAt(i))) i++;
  if (i === schemeStart) fail('ERR_HTTPAUTH_HEADER_MALFORMED');
  const scheme = s.slice(schemeStart, i);
  if (i < n && !isWs(s.charCodeAt(i))) fail('ERR_HTTPAUTH_HEADER_MALFORMED');
  while (i < n && isWs(s.charCodeAt(i))) i++;
  return { scheme, rest: i };
}

/** Parse one credentials value. Throws HttpAuthError on anything outside the grammar. */
export function parseCredentials(header: string): Credentials {
  return parseCredentialsAfter(header, readScheme(header));
}

/** parseCredentials once readScheme has read the scheme. */
export function parseCredentialsAfter(header: string, span: SchemeSpan): Credentials {
  const { scheme, rest } = span;
  if (rest === header.length) return { scheme };
  // token68: the rest (up to trailing whitespace) is token68 chars then "=" padding only.
  const token68 = matchToken68(header, rest);
  if (token68 !== undefined) return { scheme, token68 };
  return { scheme, params: parseParams(header, rest) };
}

/**
 * Credentials a package read itself in one pass (SecurityPackage's internal `scanParams`), as
 * strictly as parseCredentials would have. `scanned` is that package's result, `scanner` the
 * function that made it (so a package only ever trusts its own); `params` is still there, parsed
 * when first asked for, for any other reader.
 */
export class ScannedCredentials implements Credentials {
  readonly scheme: string;
  readonly scanned: unknown;
  readonly scanner: unknown;
  readonly #header: string;
  #params: ReadonlyMap<string, string> | undefined;

  constructor(scheme: string, header: string, scanner: unknown, scanned: unknown) {
    this.scheme = scheme;
    this.#header = header;
    this.scanner = scanner;
    this.scanned = scanned;
  }

  get params(): ReadonlyMap<string, string> | undefined {
    this.#params ??= parseCredentials(this.#header).params;
    return this.#params;
  }
}

function matchToken68(s: string, start: number): string | undefined {
  const n = s.length;
  // The token68 characters, scanned by the regular expression engine: a
  // Negotiate or NTLM token is 100–2,000 characters on every request, which a charCodeAt loop
  // walks about 2.5 times slower.
  TOKEN68_RUN.lastIndex = start;
  TOKEN68_RUN.test(s);
  let i = TOKEN68_RUN.lastIndex;
  if (i === start) return undefined;
  while (i < n && s.charCodeAt(i) === 0x3d) i++;
  const end = i;
  while (i < n && isWs(s.charCodeAt(i))) i++;
  // "token68, Scheme ..." is a second set of credentials after the first.
  if (i < n && s.charCodeAt(i) === 0x2c) fail('ERR_HTTPAUTH_MULTIPLE_CREDENTIALS');
  if (i !== n) return undefined;
  return s.slice(start, end);
}

function parseParams(s: string, start: number): Map<string, string> {
  const params = new Map<string, string>();
  const n = s.length;
  let i = start;
  for (;;) {
    // #rule: empty list elements and OWS around commas are allowed.
    while (i < n && (isWs(s.charCodeAt(i)) || s.charCodeAt(i) === 0x2c)) i++;
    if (i >= n) break;
    const nameStart = i;
    while (i < n && isTchar(s.charCodeAt(i))) i++;
    if (i === nameStart) fail('ERR_HTTPAUTH_HEADER_MALFORMED');
    const name = s.slice(nameStart, i).toLowerCase();
    let j = i;
    while (j < n && isWs(s.charCodeAt(j))) j++;
    if (j >= n || s.charCodeAt(j) !== 0x3d) {
      // "token SP something" after a comma is the start of a second credentials.
      if (j > i && j < n && params.size > 0) fail('ERR_HTTPAUTH_MULTIPLE_CREDENTIALS');
      fail('ERR_HTTPAUTH_HEADER_MALFORMED');
    }
    i = j + 1;
    while (i < n && isWs(s.charCodeAt(i))) i++;
    let value: string;
    if (i < n && s.charCodeAt(i) === 0x22) {
      i++;
      let out = '';
      let segment = i;
      for (;;) {
        if (i >= n) fail('ERR_HTTPAUTH_HEADER_MALFORMED');
        const c = s.charCodeAt(i);
        if (c === 0x22) {
          out += s.slice(segment, i);
          i++;
          break;
        }
        if (c === 0x5c) {
          out += s.slice(segment, i);
          if (i + 1 >= n || !isQuotable(s.charCodeAt(i + 1))) fail('ERR_HTTPAUTH_HEADER_MALFORMED');
          out += s[i + 1];
          i += 2;
          segment = i;
          continue;
        }
        if (!isQuotable(c)) fail('ERR_HTTPAUTH_HEADER_MALFORMED');
        i++;
      }
      value = out;
    } else {
      const valueStart = i;
      while (i < n && isTchar(s.charCodeAt(i))) i++;
      if (i === valueStart) fail('ERR_HTTPAUTH_HEADER_MALFORMED');
      value = s.slice(valueStart, i);
    }
    if (params.has(name)) fail('ERR_HTTPAUTH_HEADER_MALFORMED');
    params.set(name, value);
    while (i < n && isWs(s.charCodeAt(i))) i++;
    if (i >= n) break;
    if (s.charCodeAt(i) !== 0x2c) fail('ERR_HTTPAUTH_HEADER_MALFORMED');
  }
  if (params.size === 0) fail('ERR_HTTPAUTH_HEADER_MALFORMED');
  return params;
}

/**
 * True when `value` holds a C0 control (HTAB included) or DEL. Text the server puts into a
 * challenge (a realm, an opaque, a domain URI) must hold none: RFC 9110 §5.5 forbids them in
 * field values, HTAB aside, which no realm needs.
 */
export function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** Quote a value as an RFC 9110 quoted-string, escaping `"` and `\`. */
export function quote(value: string): string {
  // Most values (hex digests, nonces, realms) hold neither: no regular expression for them.
  if (!value.includes('"') && !value.includes('\\')) return '"' + value + '"';
  return '"' + value.replace(/["\\]/g, (c) => '\\' + c) + '"';
}

/** Build a challenge `Scheme a=b, c="d"` from ordered parameters; `quoted` false for tokens. */
export function formatChallenge(
  scheme: string,
  params: ReadonlyArray<readonly [name: string, value: string, quoted?: boolean]>,
): string {
  if (params.length === 0) return scheme;
  return (
    scheme +
    ' ' +
    params
      .map(([name, value, quoted = true]) => `${name}=${quoted ? quote(value) : value}`)
      .join(', ')
  );
}
