/**
 * One canonical form of a request-target, so that the path rules, nginx's X-Original-URI, the
 * WebSocket upgrade path and the upstream all agree on which resource was authorised.
 *
 * Frameworks route on a normalised path (they percent-decode, drop dot segments, merge slashes,
 * some fold case), so matching rules on the raw target let `/ADMIN/x`, `/public/../admin/x` or
 * `/%61dmin/x` past a rule for `/admin`. The gateway therefore
 *   1. reduces absolute-form (`GET http://host/admin/x`, RFC 9112 §3.2.2) to its path,
 *   2. normalises percent-encodings (RFC 3986 §6.2.2.1-2): unreserved characters are decoded,
 *      every other triplet keeps its encoding with upper-case hex,
 *   3. percent-encodes bytes that may not appear raw in a path (RFC 3986 §3.3),
 *   4. merges runs of `/` (nginx's merge_slashes; `//admin` is `/admin` to most routers),
 *   5. removes dot segments (RFC 3986 §5.2.4),
 * and forwards exactly that path (with the query untouched), matching rules on it with a case
 * policy. What would still mean different things to different servers is refused (400
 * ERR_HTTPAUTH_PATH_AMBIGUOUS): an encoded `/` or `\`, an encoded dot segment, a NUL or other
 * control byte (raw or encoded), a raw backslash, `;` (Java servlet containers strip
 * `;parameters` from every segment, so `/admin;x/` and `/..;/` mean something else to them), a
 * segment ending in `.` or a space (Windows drops them), overlong UTF-8 (`%C0%AE`), and the four
 * letters outside ASCII whose simple case mapping is an ASCII letter (below).
 */

export type PathCase = 'insensitive' | 'sensitive';

export type CanonicalTarget =
  | {
      readonly ok: true;
      /** The canonical path: starts with `/`, no dot segments, no empty segments. */
      readonly path: string;
      /** The query (without `?`), exactly as sent; undefined when there was none. */
      readonly query: string | undefined;
      /** The target to forward: path plus `?query`. */
      readonly target: string;
    }
  | { readonly ok: false; readonly reason: string };

/** RFC 3986 §2.3 unreserved characters: decoding them never changes a URI's meaning. */
const UNRESERVED = /^[A-Za-z0-9._~-]$/;
/** Characters allowed raw in a path segment (RFC 3986 §3.3 pchar, without `;` and `%`). */
const PCHAR_RAW = /^[A-Za-z0-9._~!$&'()*+,=:@-]$/;
const HEX = /^[0-9A-Fa-f]{2}$/;
/** Overlong UTF-8 lead bytes with a continuation byte (after hex was upper-cased). */
const OVERLONG_UTF8 = /%C[01]%[89AB][0-9A-F]|%E0%[89][0-9A-F]|%F0%8[0-9A-F]/;
/**
 * UTF-8 of the letters whose simple case mapping (UnicodeData.txt) is ASCII: U+0130 İ (lower i),
 * U+0131 ı (upper I), U+017F ſ (upper S), U+212A Kelvin sign (lower k). A case-insensitive
 * upstream (.NET OrdinalIgnoreCase in ASP.NET Core routing, Java equalsIgnoreCase, /iu regexes)
 * routes `/ſecret` to `/secret`, while the rules fold ASCII only.
 */
const FOLDS_TO_ASCII = /%C4%B[01]|%C5%BF|%E2%84%AA/;

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) return true;
  }
  return false;
}

function refuse(reason: string): CanonicalTarget {
  return { ok: false, reason };
}

function hexOf(code: number): string {
  return '%' + code.toString(16).toUpperCase().padStart(2, '0');
}

/** The path of an origin-form or absolute-form target, or undefined for other forms. */
function pathPart(target: string): string | undefined {
  if (target.startsWith('/')) return target;
  // absolute-form: scheme "://" authority path-abempty [ "?" query ] (RFC 3986 §3).
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(target);
  if (absolute === null) return undefined; // asterisk-form, authority-form or garbage
  const rest = target.slice(absolute[0].length);
  return rest.startsWith('/') ? rest : '/' + rest;
}

/** Normalise one segment's encoding; undefined when it is ambiguous. */
function normaliseSegment(segment: string): { text: string; encodedDot: boolean } | string {
  let text = '';
  let encodedDot = false;
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i] as string;
    const code = c.charCodeAt(0);
    if (c === '%') {
      const hex = segment.slice(i + 1, i + 3);
      if (!HEX.test(hex)) return 'malformed percent-encoding';
      const byte = parseInt(hex, 16);
      i += 2;
      if (byte < 0x20 || byte === 0x7f) return 'encoded control character';
      if (byte === 0x2f || byte === 0x5c) return 'encoded slash or backslash';
      const decoded = String.fromCharCode(byte);
      if (UNRESERVED.test(decoded)) {
        if (decoded === '.') encodedDot = true;
        text += decoded;
      } else {
        text += hexOf(byte);
      }
    } else if (code < 0x20 || code === 0x7f) {
      return 'control character';
    } else if (c === '\\') {
      return 'backslash';
    } else if (c === ';') {
      return 'path parameter';
    } else if (PCHAR_RAW.test(c)) {
      text += c;
    } else if (code <= 0xff) {
      // Node hands the target over as latin1: one character per byte. Encode what may not
      // appear raw (space, quotes, braces, bytes above 0x7e) so the forwarded target is valid.
      text += hexOf(code);
    } else {
      return 'character outside latin1';
    }
  }
  return { text, encodedDot };
}

/**
 * An origin-form path that is already canonical: every segment non-empty, made of raw pchar
 * (no `%`, `;`, `\`, control or space) and not ending in `.` (so no dot segment and no trailing
 * dot), an optional trailing `/`. Each segment is delimited by `/`, which the classes exclude,
 * so the match is linear. Most requests' paths look like this.
 */
const CANONICAL_PATH = /^(?:\/[A-Za-z0-9._~!$&'()*+,=:@-]*[A-Za-z0-9_~!$&'()*+,=:@-])*\/?$/;

/**
 * Canonicalise a request-target (`req.url`). Runs in time linear in the target's length; the
 * server's header size limit bounds that length.
 */
export function canonicalTarget(target: string): CanonicalTarget {
  // The common case first: a path already in canonical form, with a query (if any) free of
  // controls, is its own canonical form; scanTarget would rebuild the same string.
  if (typeof target === 'string' && target.startsWith('/') && !target.includes('#')) {
    const q = target.indexOf('?');
    const path = q === -1 ? target : target.slice(0, q);
    const query = q === -1 ? undefined : target.slice(q + 1);
    if (CANONICAL_PATH.test(path) && (query === undefined || !hasControl(query))) {
      return { ok: true, path, query, target };
    }
  }
  return scanTarget(target);
}

/** canonicalTarget for any target: segment by segment (exported for the equivalence test). */
export function scanTarget(target: string): CanonicalTarget {
  if (typeof target !== 'string' || target.length === 0) return refuse('empty target');
  const raw = pathPart(target);
  if (raw === undefined) return refuse('not origin-form or absolute-form');
  if (raw.includes('#')) return refuse('fragment in request-target');
  const q = raw.indexOf('?');
  const rawPath = q === -1 ? raw : raw.slice(0, q);
  const query = q === -1 ? undefined : raw.slice(q + 1);
  if (query !== undefined && hasControl(query)) return refuse('control in query');
  const output: string[] = [];
  const segments = rawPath.split('/');
  const trailing = segments.length > 1 && segments[segments.length - 1] === '';
  // segments[0] is the empty string before the leading slash.
  for (let n = 1; n < segments.length; n++) {
    const result = normaliseSegment(segments[n] as string);
    if (typeof result === 'string') return refuse(result);
    const { text, encodedDot } = result;
    if (text === '') continue; // merge slashes
    if (text === '.' || text === '..') {
      if (encodedDot) return refuse('encoded dot segment');
      // RFC 3986 §5.2.4: "." is dropped, ".." drops the previous segment (never above root);
      // a dot segment at the end leaves a trailing slash ("/a/b/.." -> "/a/").
      if (text === '..') output.pop();
      if (n === segments.length - 1) output.push('');
      continue;
    }
    // Windows (IIS, and any app on NTFS) drops trailing dots and spaces from a name, so
    // "/admin./x" and "/admin%20/x" are "/admin/x" there.
    if (text.endsWith('.') || text.endsWith('%20')) return refuse('trailing dot or space');
    // Overlong UTF-8 for ASCII (%C0%AE is "." to a lax decoder, RFC 3629 §10).
    if (OVERLONG_UTF8.test(text)) return refuse('overlong UTF-8');
    if (FOLDS_TO_ASCII.test(text)) return refuse('letter whose case mapping is ASCII');
    output.push(text);
  }
  if (trailing && output[output.length - 1] !== '') output.push('');
  const path = '/' + output.join('/');
  const canonicalPath = path.replace(/\/{2,}/g, '/');
  return {
    ok: true,
    path: canonicalPath,
    query,
    target: query === undefined ? canonicalPath : `${canonicalPath}?${query}`,
  };
}

/** Lower-case the letters a run of percent-encoded UTF-8 spells (invalid UTF-8: left alone). */
function lowerEncodedRun(run: string): string {
  try {
    return encodeURIComponent(decodeURIComponent(run).toLowerCase());
  } catch {
    return run;
  }
}

/**
 * The key a rule prefix or a path is compared by, under the configured case policy. Insensitive
 * folds letters outside ASCII too (`/CAF%C3%89` is `/caf%C3%A9`), as a case-insensitive upstream
 * does once it has decoded the path; the letters whose case mapping is ASCII never get here.
 */
export function matchKey(path: string, policy: PathCase): string {
  if (policy === 'sensitive') return path;
  // Without a percent-encoding there is nothing outside ASCII to fold.
  if (!path.includes('%')) return path.toLowerCase();
  return path.replace(/(?:%[89A-F][0-9A-F])+/g, lowerEncodedRun).toLowerCase();
}
