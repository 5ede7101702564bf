/**
 * The Digest checks that are pure functions of their inputs, kept apart from parsing
 * (credentials.ts) and from the package's flow (digest.ts).
 */
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

/** Constant-time equality of two hex digests (lengths are public: they follow the algorithm). */
export function digestsEqual(expected: string, received: string): boolean {
  return textEqual(expected, received, 'latin1');
}
