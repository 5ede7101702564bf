/**
 * The Digest security package (RFC 7616, with RFC 2617 and, opt-in, RFC 2069 clients).
 *
 * Per request, no connection state. The flow of accept(), in the order that keeps a client from
 * learning anything it should not:
 *   1. parse the credentials (credentials.ts);
 *   2. check what the server offered: algorithm, qop, realm, opaque, the uri against the request
 *      target, and the nonce's HMAC (an unauthenticated nonce is never "stale");
 *   3. compute the expected response with the user's H(A1), or a dummy H(A1) for unknown users so
 *      both cases cost the same and fail with the same code;
 *   4. only then: an expired nonce gets `stale=true` challenges (RFC 7616 §3.3), and nc must rise
 *      strictly per nonce and user in the store (§5.4 replay protection, nonce-use.ts); one-time
 *      nonces are consumed;
 *   5. success: Authentication-Info with rspauth (§3.5) and, when configured, nextnonce.
 * Every refusal on the way is a `reject` result with its own code, never a throw.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { HttpAuthError, fail, isHttpAuthError } from '../errors.js';
import type {
  AcceptContext,
  AcceptResult,
  AuthRequest,
  Credentials,
  SecurityPackage,
} from '../security-package.js';
import { rejectRefusals } from '../security-package.js';
import type { Principal } from '../principal.js';
import type { AlgorithmInfo, DigestAlgorithm, DigestHash } from './algorithms.js';
import { DIGEST_ALGORITHMS, HEX_LENGTH, algorithmInfo, isHashHex } from './algorithms.js';
import { encodeAuthenticationInfo } from './authentication-info.js';
import { encodeChallenge } from './challenge.js';
import type { DigestQop } from './compute.js';
import { bodyHashHex, computeHa1, computeHa2, computeResponse, sessionHa1 } from './compute.js';
import type { DigestCredentials } from './credentials.js';
import { decodeCredentials } from './credentials.js';
import { NonceMinter } from './nonce.js';
import { recordNonceUse } from './nonce-use.js';
import type { DigestCredentialCallback, DigestCredentialSource } from './sources.js';
import { digestCallback } from './sources.js';
import { digestsEqual, hostOf, uriMatchesTarget } from './verify.js';

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
/** C0 controls and DEL: never allowed in text that goes into a header. */
function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

function invalid(): never {
  throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
}

function checkText(value: unknown, allowEmpty = false): string {
  if (typeof value !== 'string' || (!allowEmpty && value === '') || hasControl(value)) invalid();
  return value;
}

interface Resolved {
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

function resolveOptions(options: DigestOptions): Resolved {
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

/** Create the Digest security package. Throws ERR_HTTPAUTH_INVALID_OPTIONS on bad options. */
export function digest(options: DigestOptions): SecurityPackage {
  const cfg = resolveOptions(options);
  // Dummy H(A1) per hash for unknown users: the same computation, a certain failure.
  const dummyHa1: Record<DigestHash, string> = {
    'SHA-256': randomBytes(HEX_LENGTH['SHA-256'] / 2).toString('hex'),
    'SHA-512-256': randomBytes(HEX_LENGTH['SHA-512-256'] / 2).toString('hex'),
    MD5: randomBytes(HEX_LENGTH.MD5 / 2).toString('hex'),
  };

  function offeredAlgorithms(): DigestAlgorithm[] {
    let served: readonly DigestHash[];
    try {
      served = cfg.source.hashes();
    } catch {
      // A broken custom source offers nothing rather than breaking every 401.
      return [];
    }
    return cfg.algorithms.filter((a) => served.includes((algorithmInfo(a) as AlgorithmInfo).hash));
  }

  function offeredQop(request: AuthRequest): DigestQop[] {
    return cfg.qop.filter((q) => q === 'auth' || request.body !== undefined);
  }

  function buildChallenges(request: AuthRequest, now: number, stale: boolean): string[] {
    const qop = offeredQop(request);
    if (qop.length === 0 && !cfg.rfc2069) return [];
    const nonce = cfg.minter.mint(now);
    return offeredAlgorithms()
      .filter((algorithm) => qop.length > 0 || !algorithm.endsWith('-sess'))
      .map((algorithm) =>
        encodeChallenge({
          realm: cfg.realm,
          domain: cfg.domain,
          nonce,
          opaque: cfg.opaque,
          stale,
          algorithm,
          qop,
          charsetUtf8: true,
          userhash: cfg.userhash,
        }),
      );
  }

  /** Custom sources may throw anything; the client only ever sees a stable code. */
  async function fromSource<T>(call: () => T | Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (isHttpAuthError(error)) throw error;
      return fail('ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED', error);
    }
  }

  async function findSecret(
    creds: DigestCredentials,
    hash: DigestHash,
  ): Promise<{ user: string | undefined; ha1: string }> {
    let user: string | undefined = creds.username;
    if (creds.userhash) {
      user =
        cfg.source.resolveUserhash === undefined
          ? undefined
          : await fromSource(() => cfg.source.resolveUserhash?.(creds.username, cfg.realm, hash));
    }
    const name = user;
    const secret =
      name === undefined
        ? undefined
        : await fromSource(() => cfg.source.lookup(name, cfg.realm, hash));
    if (secret === undefined || secret === null) return { user: undefined, ha1: dummyHa1[hash] };
    if (typeof secret !== 'object') fail('ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED');
    if ('ha1' in secret) {
      const ha1 = typeof secret.ha1 === 'string' ? secret.ha1.toLowerCase() : '';
      if (!isHashHex(hash, ha1)) fail('ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED');
      return { user, ha1 };
    }
    if (typeof secret.password !== 'string') fail('ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED');
    return { user, ha1: computeHa1(hash, user as string, cfg.realm, secret.password) };
  }

  async function readBody(request: AuthRequest): Promise<Buffer> {
    if (request.body === undefined) fail('ERR_HTTPAUTH_DIGEST_QOP');
    try {
      const body = await request.body();
      if (!Buffer.isBuffer(body)) fail('ERR_HTTPAUTH_DIGEST_BODY_UNAVAILABLE');
      return body;
    } catch (error) {
      if (isHttpAuthError(error)) throw error;
      return fail('ERR_HTTPAUTH_DIGEST_BODY_UNAVAILABLE', error);
    }
  }

  /** The checks of accept(), in order; the first that fails throws its HttpAuthError. */
  async function verify(credentials: Credentials, context: AcceptContext): Promise<AcceptResult> {
    const { request, now, store } = context;
    if (credentials.params === undefined) fail('ERR_HTTPAUTH_DIGEST_PARAMS');
    const creds = decodeCredentials(credentials.params);

    const info = algorithmInfo(creds.algorithm ?? 'MD5');
    if (info === undefined || !offeredAlgorithms().includes(info.algorithm)) {
      fail('ERR_HTTPAUTH_DIGEST_ALGORITHM');
    }
    let qop: DigestQop | undefined;
    if (creds.qop === undefined) {
      // RFC 2069 has no cnonce, which the -sess algorithms need.
      if (!cfg.rfc2069 || info.session) fail('ERR_HTTPAUTH_DIGEST_QOP');
    } else {
      const wanted = creds.qop.toLowerCase();
      const match = offeredQop(request).find((q) => q === wanted);
      if (match === undefined) fail('ERR_HTTPAUTH_DIGEST_QOP');
      qop = match;
    }
    if (creds.userhash && !cfg.userhash) fail('ERR_HTTPAUTH_DIGEST_PARAMS');
    if (creds.realm !== cfg.realm) fail('ERR_HTTPAUTH_DIGEST_REALM_MISMATCH');
    if (cfg.opaque !== undefined && creds.opaque !== cfg.opaque) {
      fail('ERR_HTTPAUTH_DIGEST_OPAQUE_MISMATCH');
    }
    if (!uriMatchesTarget(creds.uri, request.target, hostOf(request))) {
      fail('ERR_HTTPAUTH_DIGEST_URI_MISMATCH');
    }
    const nonce = cfg.minter.check(creds.nonce, now);
    if (nonce.status === 'invalid') fail('ERR_HTTPAUTH_DIGEST_NONCE_INVALID');

    const { hash } = info;
    const found = await findSecret(creds, hash);
    const ha1 = info.session
      ? sessionHa1(hash, found.ha1, creds.nonce, creds.cnonce ?? '')
      : found.ha1;
    const bodyHash = qop === 'auth-int' ? bodyHashHex(hash, await readBody(request)) : undefined;
    const expected = computeResponse({
      hash,
      ha1,
      ha2: computeHa2(hash, request.method, creds.uri, bodyHash),
      nonce: creds.nonce,
      qop,
      nc: creds.nc,
      cnonce: creds.cnonce,
    });
    const matches = digestsEqual(expected, creds.response);
    if (!matches || found.user === undefined) fail('ERR_HTTPAUTH_BAD_CREDENTIALS');
    const user = found.user;

    const staleResult = (): AcceptResult => ({
      type: 'reject',
      error: new HttpAuthError('ERR_HTTPAUTH_DIGEST_NONCE_STALE'),
      challenges: buildChallenges(request, now, true),
    });
    if (nonce.status === 'stale') return staleResult();

    let count: number | undefined;
    if (qop !== undefined) {
      count = Number.parseInt(creds.nc as string, 16);
      if (count < 1) fail('ERR_HTTPAUTH_DIGEST_PARAMS');
    }
    const use = await recordNonceUse(store, {
      nonce: creds.nonce,
      realm: cfg.realm,
      // The account (its HA1), not the name as sent: see nonce-use.ts.
      account: cfg.minter.accountTag(found.ha1),
      count,
      consume: cfg.oneTime || qop === undefined,
      // Keep the replay records as long as the nonce itself is accepted.
      ttlMs: nonce.expiresAt - now + 1000,
    });
    if (use === 'consumed') return staleResult();
    if (use === 'replayed') fail('ERR_HTTPAUTH_DIGEST_NC_REPLAY');

    // rspauth: the same digest with an empty method in A2 (RFC 7616 §3.5).
    const rspauth = computeResponse({
      hash,
      ha1,
      ha2: computeHa2(hash, '', creds.uri, bodyHash),
      nonce: creds.nonce,
      qop,
      nc: creds.nc,
      cnonce: creds.cnonce,
    });
    const principal: Principal = { name: user, user, realm: cfg.realm, mechanism: 'Digest' };
    return {
      type: 'complete',
      principal,
      authenticationInfo: encodeAuthenticationInfo({
        rspauth,
        qop,
        cnonce: creds.cnonce,
        nc: creds.nc,
        nextnonce: cfg.nextnonce ? cfg.minter.mint(now) : undefined,
      }),
    };
  }

  return {
    name: 'Digest',
    scheme: 'Digest',
    connectionBound: false,
    challenges: (request, now) => buildChallenges(request, now, false),
    accept: (credentials, context) => rejectRefusals(() => verify(credentials, context)),
  };
}
