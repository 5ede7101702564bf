/**
 * The Digest checks that are pure functions of their inputs, kept apart from parsing
 * (credentials.ts) and from the package's flow (digest.ts).
 */
import { textEqual } from '../crypto/constant-time.js';

const ABSOLUTE_PREFIX = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/** The origin-form (path and query) of an absolute-form or origin-form request-target. */
function originForm(target: string): string {
  const match = ABSOLUTE_PREFIX.exec(target);
  if (match === null) return target;
  const rest = target.slice(match[0].length);
  return rest === '' || rest.startsWith('?') ? '/' + rest : rest;
}

/**
 * RFC 7616 §3.4.6: the `uri` must designate the resource of the request line. Equal strings
 * match; otherwise absolute-form and origin-form are compared by their path and query, because
 * clients talking to a proxy send one form and servers behind it see the other. The path is
 * compared as sent (no percent-decoding, no dot-segment removal): the response hashes exactly
 * these octets, so any normalisation would let one response serve two different targets.
 */
export function uriMatchesTarget(uri: string, target: string): boolean {
  if (uri === target) return true;
  return originForm(uri) === originForm(target);
}

/** Constant-time equality of two hex digests (lengths are public: they follow the algorithm). */
export function digestsEqual(expected: string, received: string): boolean {
  return textEqual(expected, received, 'latin1');
}
