/**
 * A single-pass reader of the `Authorization: Digest` parameters (RFC 7616 §3.4) for the accept
 * path: the header as every Digest client sends it, straight into {@link DigestFields}, without
 * the RFC 9110 parser's Map (grammar/http-auth.ts), which a Digest request paid for ten
 * parameters and then read back one by one.
 *
 * It is exactly as strict, by construction: it accepts only a subset of what the RFC 9110 parser
 * accepts, and reads from it what that parser would have put in the Map. Everything it does not
 * read itself answers `undefined`, and the caller takes the general parser, which then accepts
 * or refuses with its own code:
 *   - the grammar of RFC 9110 §11.4 / §5.6.2 / §5.6.4 (`#auth-param`, OWS and BWS, empty list
 *     elements, a token or a quoted-string value, qdtext octets only), every octet checked;
 *   - a quoted-pair (`\`) in a value (no client escapes these values; the parser unescapes);
 *   - a parameter RFC 7616 does not define (ignored by the package, but the parser still checks
 *     it and its repetition), and any parameter sent twice (a malformed header);
 *   - anything left over: a second set of credentials after a comma, a token68.
 * The checks of the values themselves (sizes, hex, nc, username / username*) are decodeFields,
 * shared with the general path. test/digest-scan.test.ts holds both readers to the same answer on
 * random and mutated headers.
 */
import { DigestFields } from './credentials.js';

// Quoted values (nonces, digests: 30-70 octets) are matched by a sticky regular expression (it
// never searches, only extends from lastIndex): the engine's compiled loop walks them several
// times faster than a charCodeAt loop. Names and token values are a few octets, for which the
// call costs more than a loop over a table.
/** RFC 9110 §5.6.2 tchar. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** The end of the run of tchar that starts at `from`. */
function tokenEnd(s: string, from: number): number {
  const n = s.length;
  let i = from;
  for (let c = 0; i < n && (c = s.charCodeAt(i)) < 128 && TCHAR[c] === 1;) i++;
  return i;
}

/** qdtext (RFC 9110 §5.6.4) without `"` and `\`: HTAB, SP, VCHAR, obs-text. */
const QDTEXT_RUN = /[\t\x20\x21\x23-\x5b\x5d-\x7e\x80-\xff]*/y;

/** The end of the run of `run` that starts at `from`. */
function runEnd(run: RegExp, s: string, from: number): number {
  run.lastIndex = from;
  run.test(s);
  return run.lastIndex;
}

function isWs(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** The parameter RFC 7616 §3.4 names at `s[start, end)`, in lower case, without a new string. */
function knownName(s: string, start: number, end: number): string | undefined {
  let name: string | undefined;
  switch (end - start) {
    case 2:
      name = 'nc';
      break;
    case 3:
      name = s.charCodeAt(start) === 0x71 ? 'qop' : 'uri';
      break;
    case 5:
      name = s.charCodeAt(start) === 0x72 ? 'realm' : 'nonce';
      break;
    case 6:
      name = s.charCodeAt(start) === 0x63 ? 'cnonce' : 'opaque';
      break;
    case 8:
      name =
        s.charCodeAt(start) === 0x72
          ? 'response'
          : s.charCodeAt(start + 4) === 0x6e
            ? 'username'
            : 'userhash';
      break;
    case 9:
      name = s.charCodeAt(start) === 0x61 ? 'algorithm' : 'username*';
      break;
    default:
      return undefined;
  }
  return s.startsWith(name, start) ? name : undefined;
}

/** Store one value under its (lower-case) name; false for an unknown or repeated parameter. */
function assign(fields: DigestFields, name: string, value: string): boolean {
  switch (name) {
    case 'username':
      if (fields.username !== undefined) return false;
      fields.username = value;
      return true;
    case 'username*':
      if (fields.usernameExt !== undefined) return false;
      fields.usernameExt = value;
      return true;
    case 'realm':
      if (fields.realm !== undefined) return false;
      fields.realm = value;
      return true;
    case 'nonce':
      if (fields.nonce !== undefined) return false;
      fields.nonce = value;
      return true;
    case 'uri':
      if (fields.uri !== undefined) return false;
      fields.uri = value;
      return true;
    case 'response':
      if (fields.response !== undefined) return false;
      fields.response = value;
      return true;
    case 'algorithm':
      if (fields.algorithm !== undefined) return false;
      fields.algorithm = value;
      return true;
    case 'qop':
      if (fields.qop !== undefined) return false;
      fields.qop = value;
      return true;
    case 'nc':
      if (fields.nc !== undefined) return false;
      fields.nc = value;
      return true;
    case 'cnonce':
      if (fields.cnonce !== undefined) return false;
      fields.cnonce = value;
      return true;
    case 'opaque':
      if (fields.opaque !== undefined) return false;
      fields.opaque = value;
      return true;
    case 'userhash':
      if (fields.userhash !== undefined) return false;
      fields.userhash = value;
      return true;
    default:
      return false;
  }
}

/**
 * The Digest parameters of `header` from `start` (the first octet after the scheme and its
 * whitespace), or undefined when the header needs the general parser (see above).
 */
export function scanDigestFields(header: string, start: number): DigestFields | undefined {
  const s = header;
  const n = s.length;
  const fields = new DigestFields();
  let count = 0;
  let i = start;
  for (;;) {
    // #rule (RFC 9110 §5.6.1): empty list elements and OWS around commas.
    let c = 0;
    while (i < n && (isWs((c = s.charCodeAt(i))) || c === 0x2c)) i++;
    if (i >= n) break;
    const nameStart = i;
    i = tokenEnd(s, i);
    if (i === nameStart) return undefined;
    const nameEnd = i;
    // BWS "=" BWS (§11.2).
    while (i < n && isWs(s.charCodeAt(i))) i++;
    if (i >= n || s.charCodeAt(i) !== 0x3d) return undefined;
    i++;
    while (i < n && isWs(s.charCodeAt(i))) i++;
    if (i >= n) return undefined;
    let value: string;
    if (s.charCodeAt(i) === 0x22) {
      const valueStart = i + 1;
      i = runEnd(QDTEXT_RUN, s, valueStart);
      // Only the closing quote may stop the run: an escape, a control or the end go elsewhere.
      if (i >= n || s.charCodeAt(i) !== 0x22) return undefined;
      value = s.slice(valueStart, i);
      i++;
    } else {
      const valueStart = i;
      i = tokenEnd(s, i);
      if (i === valueStart) return undefined;
      value = s.slice(valueStart, i);
    }
    // Parameter names are case-insensitive (§11.2); clients send them in lower case.
    const name = knownName(s, nameStart, nameEnd) ?? s.slice(nameStart, nameEnd).toLowerCase();
    if (!assign(fields, name, value)) return undefined;
    count++;
    while (i < n && isWs(s.charCodeAt(i))) i++;
    if (i >= n) break;
    if (s.charCodeAt(i) !== 0x2c) return undefined;
  }
  return count === 0 ? undefined : fields;
}
