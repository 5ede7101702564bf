/**
 * The Digest checks that are pure functions of their inputs, kept apart from parsing
 * (credentials.ts) and from the package's flow (digest.ts).
 */
import { timingSafeEqual } from 'node:crypto';
import { textEqual } from '../crypto/constant-time.js';
import type { AuthRequest } from '../security-package.js';

/** The Host header (HTTP/2: `:authority`); a repeated one names no single host (RFC 9112 §3.2). */
export function hostOf(request: AuthRequest): string | undefined {
  const host = request.headers.host ?? request.headers[':authority'];
  return typeof host === 'string' ? host : undefined;
}

const ABSOLUTE_PREFIX = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/;
const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443' };

/** The origin-form (path and query) of an absolute-form or origin-form request-target. */
function originForm(target: string): string {
  const match = ABSOLUTE_PREFIX.exec(target);
  if (match === null) return target;
  const rest = target.slice(match[0].length);
  return rest === '' || rest.startsWith('?') ? '/' + rest : rest;
}

/**
 * An authority compared the way RFC 3986 §6.2.2.1 and §6.2.3 allow: the host case-folded and the
 * scheme's default port dropped. Userinfo is not part of a request's authority (RFC 9110 §4.2.4
 * forbids it in http(s) URIs), so an authority carrying it never matches.
 */
function normalAuthority(authority: string, scheme: string): string | undefined {
  if (authority === '' || authority.includes('@')) return undefined;
  const lower = authority.toLowerCase();
  const port = DEFAULT_PORTS[scheme.toLowerCase()];
  return port !== undefined && lower.endsWith(':' + port)
    ? lower.slice(0, -(port.length + 1))
    : lower;
}

/**
 * The authority the request was sent to: the target's own when it is in absolute-form (RFC 9112
 * §3.2.2: the Host header is then ignored), else the Host header (HTTP/2: `:authority`).
 */
function requestAuthority(target: string, host: string | undefined): string | undefined {
  const match = ABSOLUTE_PREFIX.exec(target);
  return match === null ? host : match[2];
}

/**
 * RFC 7616 §3.4.6: the `uri` must designate the resource of the request line. Equal strings
 * match; otherwise absolute-form and origin-form are compared by their path and query, because
 * clients talking to a proxy send one form and servers behind it see the other. An absolute `uri`
 * also names a host, and that host must be the one the request went to: otherwise a response
 * computed for `http://other.example/x` would be accepted for `/x` on this host. The path is
 * compared as sent (no percent-decoding, no dot-segment removal): the response hashes exactly
 * these octets, so any normalisation would let one response serve two different targets.
 */
export function uriMatchesTarget(uri: string, target: string, host: string | undefined): boolean {
  if (uri === target) return true;
  const absolute = ABSOLUTE_PREFIX.exec(uri);
  if (absolute !== null) {
    const scheme = absolute[1] as string;
    const sent = requestAuthority(target, host);
    const expected = sent === undefined ? undefined : normalAuthority(sent, scheme);
    if (expected === undefined || normalAuthority(absolute[2] as string, scheme) !== expected) {
      return false;
    }
  }
  return originForm(uri) === originForm(target);
}

/** The longest digest compared in the scratch buffer (SHA-256 and SHA-512-256: 64 hex digits). */
const SCRATCH_DIGEST_LENGTH = 64;
/** Both digests side by side, written over on every comparison (synchronous, one thread). */
const scratch = Buffer.alloc(2 * SCRATCH_DIGEST_LENGTH);
/** The two halves' views for each length, made once: a comparison allocates nothing. */
const scratchViews = new Map<number, readonly [Buffer, Buffer]>();

function viewsOf(length: number): readonly [Buffer, Buffer] {
  let views = scratchViews.get(length);
  if (views === undefined) {
    views = [
      scratch.subarray(0, length),
      scratch.subarray(SCRATCH_DIGEST_LENGTH, SCRATCH_DIGEST_LENGTH + length),
    ];
    scratchViews.set(length, views);
  }
  return views;
}

/**
 * Constant-time equality of two hex digests (lengths are public: they follow the algorithm), with
 * node:crypto's timingSafeEqual as before. Digests of the usual lengths are copied into one
 * scratch buffer instead of two new Buffers per request; anything else takes textEqual.
 */
export function digestsEqual(expected: string, received: string): boolean {
  const length = expected.length;
  if (length !== received.length || length > SCRATCH_DIGEST_LENGTH) {
    return textEqual(expected, received, 'latin1');
  }
  const [a, b] = viewsOf(length);
  // latin1 writes one byte per character, so each string fills its view exactly.
  a.write(expected, 0, length, 'latin1');
  b.write(received, 0, length, 'latin1');
  return timingSafeEqual(a, b);
}
