/**
 * The Digest computations, RFC 7616 §3.4 (and RFC 2617 §3.2.2 for clients without qop):
 *
 *   A1       = username ":" realm ":" passwd                  (§3.4.2)
 *   A1-sess  = H(username ":" realm ":" passwd) ":" nonce ":" cnonce
 *   A2       = Method ":" request-uri                          (qop=auth, §3.4.3)
 *   A2       = Method ":" request-uri ":" H(entity-body)       (qop=auth-int)
 *   response = KD(H(A1), nonce ":" nc ":" cnonce ":" qop ":" H(A2))   (§3.4.1)
 *   response = KD(H(A1), nonce ":" H(A2))                       (RFC 2069, no qop)
 *   rspauth  = the same with Method empty in A2                 (§3.5)
 *   userhash = H(username ":" realm)                            (§3.4.4)
 *
 * Pure functions of their inputs: both the server's verifier and test clients use them.
 */
import type { DigestHash } from './algorithms.js';
import { hashHex, hashText } from './algorithms.js';

/**
 * A Digest quality of protection (RFC 7616 §3.3): `auth`, or `auth-int`, which also hashes the
 * body.
 */
export type DigestQop = 'auth' | 'auth-int';

/** H(A1) for the plain algorithm, from the password. */
export function computeHa1(
  hash: DigestHash,
  username: string,
  realm: string,
  password: string,
): string {
  return hashHex(hash, username, realm, password);
}

/** H(A1) for a -sess algorithm: H(H(user:realm:pw) ":" nonce ":" cnonce). */
export function sessionHa1(hash: DigestHash, ha1: string, nonce: string, cnonce: string): string {
  return hashHex(hash, ha1, nonce, cnonce);
}

/** H(A2). `bodyHash` is H(entity-body) and is given only for qop=auth-int. */
export function computeHa2(
  hash: DigestHash,
  method: string,
  uri: string,
  bodyHash?: string,
): string {
  return bodyHash === undefined ? hashHex(hash, method, uri) : hashHex(hash, method, uri, bodyHash);
}

/** H(entity-body) for qop=auth-int. */
export function bodyHashHex(hash: DigestHash, body: Buffer): string {
  return hashHex(hash, body);
}

export interface ResponseInputs {
  readonly hash: DigestHash;
  /** H(A1) already rekeyed for -sess algorithms. */
  readonly ha1: string;
  readonly ha2: string;
  readonly nonce: string;
  /** Omitted together with cnonce and nc for RFC 2069 clients. */
  readonly qop?: DigestQop | undefined;
  readonly nc?: string | undefined;
  readonly cnonce?: string | undefined;
}

/**
 * What KD(H(A1), ...) hashes before H(A2): `H(A1):nonce:nc:cnonce:qop:`, or `H(A1):nonce:`
 * without qop (RFC 2069). The request-digest and rspauth differ only in H(A2) (§3.5), so a
 * server builds this once and hashes it with each.
 */
export function responsePrefix(
  ha1: string,
  nonce: string,
  qop: DigestQop | undefined,
  nc: string | undefined,
  cnonce: string | undefined,
): string {
  return qop === undefined
    ? `${ha1}:${nonce}:`
    : `${ha1}:${nonce}:${nc ?? ''}:${cnonce ?? ''}:${qop}:`;
}

/** The request-digest (and, with an empty method in A2, rspauth). */
export function computeResponse(inputs: ResponseInputs): string {
  const { hash, ha1, ha2, nonce, qop, nc, cnonce } = inputs;
  return hashText(hash, responsePrefix(ha1, nonce, qop, nc, cnonce) + ha2);
}

/** userhash = H(username ":" realm), RFC 7616 §3.4.4. */
export function computeUserhash(hash: DigestHash, username: string, realm: string): string {
  return hashHex(hash, username, realm);
}

/**
 * What `clientResponse` needs to compute a Digest `response=` value as a user agent does (RFC 7616
 * §3.4.1): the algorithm's hash and whether it is a `-sess` one, the credentials, the request and
 * the challenge's nonce with the client's qop, nc and cnonce.
 */
export interface ClientResponseInputs {
  readonly hash: DigestHash;
  readonly session?: boolean;
  readonly username: string;
  readonly realm: string;
  readonly password: string;
  readonly method: string;
  readonly uri: string;
  readonly nonce: string;
  readonly qop?: DigestQop;
  readonly nc?: string;
  readonly cnonce?: string;
  readonly body?: Buffer;
}

/** The whole client side in one call: what a user agent puts in `response=`. */
export function clientResponse(inputs: ClientResponseInputs): string {
  const base = computeHa1(inputs.hash, inputs.username, inputs.realm, inputs.password);
  const ha1 =
    inputs.session === true
      ? sessionHa1(inputs.hash, base, inputs.nonce, inputs.cnonce ?? '')
      : base;
  const bodyHash =
    inputs.qop === 'auth-int'
      ? bodyHashHex(inputs.hash, inputs.body ?? Buffer.alloc(0))
      : undefined;
  const ha2 = computeHa2(inputs.hash, inputs.method, inputs.uri, bodyHash);
  return computeResponse({
    hash: inputs.hash,
    ha1,
    ha2,
    nonce: inputs.nonce,
    qop: inputs.qop,
    nc: inputs.nc,
    cnonce: inputs.cnonce,
  });
}
