/**
 * The Digest package's options (RFC 7616 §3.3 challenge parameters and the server's own
 * choices), checked once when the package is created: anything wrong is
 * ERR_HTTPAUTH_INVALID_OPTIONS then, never a surprise on a request.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { HttpAuthError } from '../errors.js';
import { hasControl } from '../grammar/http-auth.js';
import type { AlgorithmInfo, DigestAlgorithm } from './algorithms.js';
import { DIGEST_ALGORITHMS, algorithmInfo } from './algorithms.js';
import type { DigestQop } from './compute.js';
import { NonceMinter } from './nonce.js';
import type { DigestCredentialCallback, DigestCredentialSource } from './sources.js';
import { digestCallback } from './sources.js';

/**
 * Options of `digest()`, the HTTP Digest package (RFC 7616): the realm, the credential source, the
 * algorithms and qop offered, and the nonce policy. Checked when the package is created: a bad
 * value throws `ERR_HTTPAUTH_INVALID_OPTIONS` then.
 */
export interface DigestOptions {
  /** The protection space (RFC 7616 §3.3 realm). Must match the credentials exactly. */
  readonly realm: string;
  /** Where H(A1) comes from: a source (htdigestFile, digestFile, digestCallback) or a callback. */
  readonly credentials: DigestCredentialSource | DigestCredentialCallback;
  /**
   * Algorithms in challenge order, one WWW-Authenticate each (default SHA-256 then MD5). Only
   * those whose hash the credential source can serve are offered.
   */
  readonly algorithms?: readonly DigestAlgorithm[];
  /**
   * Qualities of protection (default ['auth']). 'auth-int' hashes the request body: it is offered
   * only on requests whose adapter supplies `AuthRequest.body`.
   */
  readonly qop?: readonly DigestQop[];
  /** How long a nonce is accepted (default 300 000 ms); then `stale=true`. */
  readonly nonceLifetimeMs?: number;
  /**
   * The HMAC key that authenticates nonces (at least 16 bytes). Default: random per process.
   * Give every node behind one load balancer the same key (and a shared store) so a nonce minted
   * by one verifies on the others.
   */
  readonly nonceKey?: Buffer;
  /** Accept each nonce for one request only; the next request gets `stale=true` (or nextnonce). */
  readonly oneTimeNonces?: boolean;
  /**
   * The opaque value echoed by clients (§3.3). Default: derived from nonceKey and realm, so all
   * nodes sharing the key agree. `false` sends none and checks none.
   */
  readonly opaque?: string | false;
  /** URIs of the protection space, sent as `domain` (§3.3). */
  readonly domain?: readonly string[];
  /** Offer `userhash=true` (§3.4.4): clients may send H(user ":" realm) instead of the name. */
  readonly userhash?: boolean;
  /** Send `nextnonce` in Authentication-Info on success (§3.5). */
  readonly nextnonce?: boolean;
  /**
   * Accept credentials without qop (RFC 2069 clients). Such a request carries no nc, so each of
   * these nonces is accepted once. Off by default.
   */
  readonly allowRfc2069?: boolean;
}

const DEFAULT_ALGORITHMS: readonly DigestAlgorithm[] = ['SHA-256', 'MD5'];
const DEFAULT_LIFETIME_MS = 300_000;

function invalid(): never {
  throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
}

function checkText(value: unknown, allowEmpty = false): string {
  if (typeof value !== 'string' || (!allowEmpty && value === '') || hasControl(value)) invalid();
  return value;
}

export interface ResolvedDigestOptions {
  readonly realm: string;
  readonly source: DigestCredentialSource;
  readonly algorithms: readonly DigestAlgorithm[];
  readonly qop: readonly DigestQop[];
  readonly minter: NonceMinter;
  readonly oneTime: boolean;
  readonly opaque: string | undefined;
  readonly domain: readonly string[] | undefined;
  readonly userhash: boolean;
  readonly nextnonce: boolean;
  readonly rfc2069: boolean;
}

export function resolveDigestOptions(options: DigestOptions): ResolvedDigestOptions {
  if (typeof options !== 'object' || options === null) invalid();
  const realm = checkText(options.realm);
  const source =
    typeof options.credentials === 'function'
      ? digestCallback(options.credentials)
      : options.credentials;
  if (
    typeof source !== 'object' ||
    source === null ||
    typeof source.hashes !== 'function' ||
    typeof source.lookup !== 'function'
  ) {
    invalid();
  }
  const algorithms = options.algorithms ?? DEFAULT_ALGORITHMS;
  if (
    !Array.isArray(algorithms) ||
    algorithms.length === 0 ||
    new Set(algorithms).size !== algorithms.length ||
    !algorithms.every((a) => (DIGEST_ALGORITHMS as readonly string[]).includes(a))
  ) {
    invalid();
  }
  const qop = options.qop ?? ['auth'];
  if (
    !Array.isArray(qop) ||
    qop.length === 0 ||
    new Set(qop).size !== qop.length ||
    !qop.every((q) => q === 'auth' || q === 'auth-int')
  ) {
    invalid();
  }
  const lifetime = options.nonceLifetimeMs ?? DEFAULT_LIFETIME_MS;
  if (!Number.isSafeInteger(lifetime) || lifetime < 1000) invalid();
  const key = options.nonceKey ?? randomBytes(32);
  if (!Buffer.isBuffer(key) || key.length < 16) invalid();
  let opaque: string | undefined;
  if (options.opaque === false) opaque = undefined;
  else if (options.opaque === undefined) {
    opaque = createHmac('sha256', key)
      .update('httpauth-digest-opaque/1')
      .update(Buffer.from(realm, 'utf8'))
      .digest()
      .subarray(0, 24)
      .toString('base64url');
  } else opaque = checkText(options.opaque);
  let domain: readonly string[] | undefined;
  if (options.domain !== undefined) {
    if (!Array.isArray(options.domain)) invalid();
    domain = options.domain.map((d) => {
      const uri = checkText(d);
      if (/[\s"\\]/.test(uri)) invalid();
      return uri;
    });
  }
  const userhash = options.userhash === true;
  if (userhash && typeof source.resolveUserhash !== 'function') invalid();
  // The source must be able to serve at least one configured algorithm right now.
  const served = source.hashes();
  if (!algorithms.some((a) => served.includes((algorithmInfo(a) as AlgorithmInfo).hash))) {
    invalid();
  }
  return {
    realm,
    source,
    algorithms: [...algorithms],
    qop: [...qop],
    minter: new NonceMinter(key, realm, lifetime),
    oneTime: options.oneTimeNonces === true,
    opaque,
    domain,
    userhash,
    nextnonce: options.nextnonce === true,
    rfc2069: options.allowRfc2069 === true,
  };
}
