// size: one closure over the resolved options; verify() is split into its phases (withSecret, checkResponse, afterNonceUse) so it can answer without a promise.
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
import { randomBytes } from 'node:crypto';
import { attemptedName, HttpAuthError, fail, isHttpAuthError } from '../errors.js';
import type { ScannedCredentials } from '../grammar/http-auth.js';
import type {
  AcceptContext,
  AcceptResult,
  AuthRequest,
  Credentials,
  ScanningPackage,
  SecurityPackage,
} from '../security-package.js';
import { scanParams, withAcceptNow } from '../security-package.js';
import type { AlgorithmInfo, DigestAlgorithm, DigestHash } from './algorithms.js';
import { HEX_LENGTH, algorithmInfo, hashText, isHashHex } from './algorithms.js';
import { A2Cache } from './a2-cache.js';
import { encodeAuthenticationInfo } from './authentication-info.js';
import { encodeChallenge } from './challenge.js';
import type { DigestQop } from './compute.js';
import { bodyHashHex, computeHa1, computeHa2, responsePrefix, sessionHa1 } from './compute.js';
import type { DigestCredentials, DigestFields } from './credentials.js';
import { decodeCredentials, decodeFields } from './credentials.js';
import type { NonceUse } from './nonce-use.js';
import { UserTags, recordNonceUse } from './nonce-use.js';
import type { NonceCheck } from './nonce.js';
import { DigestPrincipals } from './principals.js';
import { scanDigestFields } from './scan.js';
import type { DigestSecret } from './sources.js';
import { isThenable } from './sources.js';
import type { DigestOptions } from './options.js';
import { resolveDigestOptions } from './options.js';
import { digestsEqual, hostOf, uriMatchesTarget } from './verify.js';

/** Whose H(A1) a request is checked with: the account's, or the dummy one (`user` undefined). */
interface FoundSecret {
  readonly user: string | undefined;
  readonly ha1: string;
}

/** One request's credentials, checked up to its H(A1): what the later checks need. */
interface Attempt {
  readonly context: AcceptContext;
  readonly creds: DigestCredentials;
  readonly info: AlgorithmInfo;
  readonly qop: DigestQop | undefined;
  readonly nonce: Exclude<NonceCheck, { status: 'invalid' }>;
}

/** A refusal as the package's answer: a `reject` result with its own code. */
function rejectionOf(error: unknown): AcceptResult {
  if (!isHttpAuthError(error)) throw error;
  return { type: 'reject', error };
}

/** A custom source's failure as the client may see it: a stable code, the cause kept for logs. */
function sourceFailed(error: unknown): never {
  if (isHttpAuthError(error)) throw error;
  return fail('ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED', error);
}

/** For the operator: who tried, with which algorithm (the name as sent, or that it was hashed). */
function failureDetail(
  creds: DigestCredentials,
  info: AlgorithmInfo,
): { user: string; algorithm: DigestAlgorithm } {
  return {
    user: creds.userhash ? '(userhash)' : attemptedName(creds.username),
    algorithm: info.algorithm,
  };
}

/**
 * The credentials' Digest parameters, checked for presence and syntax (credentials.ts): from the
 * loop's single-pass reading (scan.ts) when it made one, else from the RFC 9110 parser's Map.
 */
function digestCredentialsOf(credentials: Credentials): DigestCredentials {
  // By its own properties rather than its class, so a copy (`{ ...credentials }`) still reads.
  const read = credentials as Partial<ScannedCredentials>;
  if (read.scanner === scanDigestFields) return decodeFields(read.scanned as DigestFields);
  if (credentials.params === undefined) fail('ERR_HTTPAUTH_DIGEST_PARAMS');
  return decodeCredentials(credentials.params);
}

function sameHashes(a: readonly DigestHash[], b: readonly DigestHash[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Create the Digest security package. Throws ERR_HTTPAUTH_INVALID_OPTIONS on bad options. */
export function digest(options: DigestOptions): SecurityPackage {
  const cfg = resolveDigestOptions(options);
  const a2Cache = new A2Cache();
  const userTags = new UserTags(cfg.realm, cfg.minter);
  const principals = new DigestPrincipals(cfg.realm);
  // Dummy H(A1) per hash for unknown users: the same computation, a certain failure.
  const dummyHa1: Record<DigestHash, string> = {
    'SHA-256': randomBytes(HEX_LENGTH['SHA-256'] / 2).toString('hex'),
    'SHA-512-256': randomBytes(HEX_LENGTH['SHA-512-256'] / 2).toString('hex'),
    MD5: randomBytes(HEX_LENGTH.MD5 / 2).toString('hex'),
  };

  // The offer follows what the source serves now (a reloaded file may hold other hashes). It is
  // recomputed only when that list changes: compared by content, since a custom source may
  // change its array in place.
  let offeredFor: readonly DigestHash[] = [];
  let offered: readonly DigestAlgorithm[] = [];
  function offeredAlgorithms(): readonly DigestAlgorithm[] {
    let served: readonly DigestHash[];
    try {
      served = cfg.source.hashes();
    } catch {
      // A broken custom source offers nothing rather than breaking every 401.
      return [];
    }
    if (!sameHashes(served, offeredFor)) {
      offered = cfg.algorithms.filter((a) =>
        served.includes((algorithmInfo(a) as AlgorithmInfo).hash),
      );
      offeredFor = [...served];
    }
    return offered;
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

  /**
   * Custom sources may throw anything; the client only ever sees a stable code. A source that
   * answers at once is answered at once: no promise per request for a table in memory.
   */
  function fromSource<T>(call: () => T | Promise<T>): T | Promise<T> {
    let answer: T | Promise<T>;
    try {
      answer = call();
    } catch (error) {
      return sourceFailed(error);
    }
    return isThenable(answer) ? Promise.resolve(answer).catch(sourceFailed) : answer;
  }

  /** H(A1) of the account behind the credentials, or the dummy one for an unknown user. */
  function findSecret(
    creds: DigestCredentials,
    hash: DigestHash,
  ): FoundSecret | Promise<FoundSecret> {
    if (!creds.userhash) return secretOf(creds.username, hash);
    const resolve = cfg.source.resolveUserhash;
    if (resolve === undefined) return secretOf(undefined, hash);
    const user = fromSource(() => resolve.call(cfg.source, creds.username, cfg.realm, hash));
    return isThenable(user) ? user.then((name) => secretOf(name, hash)) : secretOf(user, hash);
  }

  function secretOf(
    user: string | undefined,
    hash: DigestHash,
  ): FoundSecret | Promise<FoundSecret> {
    if (user === undefined) return { user: undefined, ha1: dummyHa1[hash] };
    const secret = fromSource(() => cfg.source.lookup(user, cfg.realm, hash));
    return isThenable(secret)
      ? secret.then((settled) => foundSecret(user, hash, settled))
      : foundSecret(user, hash, secret);
  }

  function foundSecret(
    user: string,
    hash: DigestHash,
    secret: DigestSecret | undefined | null,
  ): FoundSecret {
    if (secret === undefined || secret === null) return { user: undefined, ha1: dummyHa1[hash] };
    if (typeof secret !== 'object') fail('ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED');
    if ('ha1' in secret) {
      const ha1 = typeof secret.ha1 === 'string' ? secret.ha1.toLowerCase() : '';
      if (!isHashHex(hash, ha1)) fail('ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED');
      return { user, ha1 };
    }
    if (typeof secret.password !== 'string') fail('ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED');
    return { user, ha1: computeHa1(hash, user, cfg.realm, secret.password) };
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

  /**
   * The checks of accept(), in order; the first that fails throws its HttpAuthError. Answered at
   * once when nothing waits (a source that answers at once, the memory store's nc record, no body
   * to read); otherwise the same checks, in the same order, continue when it has answered.
   */
  function verify(
    credentials: Credentials,
    context: AcceptContext,
  ): AcceptResult | Promise<AcceptResult> {
    const { request, now } = context;
    const creds = digestCredentialsOf(credentials);

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

    const attempt: Attempt = { context, creds, info, qop, nonce };
    const pending = findSecret(creds, info.hash);
    return isThenable(pending)
      ? pending.then((found) => withSecret(attempt, found))
      : withSecret(attempt, pending);
  }

  /** The account's H(A1) found: H(entity-body) for auth-int (the body is read), then the response. */
  function withSecret(attempt: Attempt, found: FoundSecret): AcceptResult | Promise<AcceptResult> {
    const { creds, info } = attempt;
    const ha1 = info.session
      ? sessionHa1(info.hash, found.ha1, creds.nonce, creds.cnonce ?? '')
      : found.ha1;
    if (attempt.qop !== 'auth-int') return checkResponse(attempt, found, ha1, undefined);
    return readBody(attempt.context.request).then((body) =>
      checkResponse(attempt, found, ha1, bodyHashHex(info.hash, body)),
    );
  }

  /** The response compared in constant time, then the nonce's age and its nc record. */
  function checkResponse(
    attempt: Attempt,
    found: FoundSecret,
    ha1: string,
    bodyHash: string | undefined,
  ): AcceptResult | Promise<AcceptResult> {
    const { context, creds, info, qop, nonce } = attempt;
    const { request, now, store } = context;
    const { hash } = info;
    const a2 =
      bodyHash === undefined
        ? a2Cache.get(hash, request.method, creds.uri)
        : {
            request: computeHa2(hash, request.method, creds.uri, bodyHash),
            rspauth: computeHa2(hash, '', creds.uri, bodyHash),
          };
    // Both digests hash `H(A1):nonce:nc:cnonce:qop:` (or `H(A1):nonce:` without qop) and then
    // their own H(A2) (§3.4.1, §3.5): that prefix is built once.
    const prefix = responsePrefix(ha1, creds.nonce, qop, creds.nc, creds.cnonce);
    const matches = digestsEqual(hashText(hash, prefix + a2.request), creds.response);
    if (!matches || found.user === undefined) {
      throw new HttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS', {
        detail: failureDetail(creds, info),
      });
    }
    const user = found.user;
    if (nonce.status === 'stale') return staleResult(request, now, creds, info);

    let count: number | undefined;
    if (qop !== undefined) {
      count = Number.parseInt(creds.nc as string, 16);
      if (count < 1) fail('ERR_HTTPAUTH_DIGEST_PARAMS');
    }
    const recorded = recordNonceUse(store, {
      nonce: creds.nonce,
      // The account (its HA1), not the name as sent: see nonce-use.ts.
      userTag: userTags.of(found.ha1),
      count,
      consume: cfg.oneTime || qop === undefined,
      // Keep the replay records as long as the nonce itself is accepted.
      ttlMs: nonce.expiresAt - now + 1000,
    });
    return isThenable(recorded)
      ? recorded.then((use) => afterNonceUse(attempt, user, prefix, a2.rspauth, use))
      : afterNonceUse(attempt, user, prefix, a2.rspauth, recorded);
  }

  /** A first use of the nc: authenticated, with Authentication-Info (RFC 7616 §3.5). */
  function afterNonceUse(
    attempt: Attempt,
    user: string,
    prefix: string,
    rspauthHa2: string,
    use: NonceUse,
  ): AcceptResult {
    const { context, creds, info, qop } = attempt;
    const { request, now } = context;
    if (use === 'consumed') return staleResult(request, now, creds, info);
    if (use === 'replayed') {
      throw new HttpAuthError('ERR_HTTPAUTH_DIGEST_NC_REPLAY', {
        detail: failureDetail(creds, info),
      });
    }
    return {
      type: 'complete',
      principal: principals.of(user),
      authenticationInfo: encodeAuthenticationInfo({
        // rspauth: the same digest with an empty method in A2 (RFC 7616 §3.5).
        rspauth: hashText(info.hash, prefix + rspauthHa2),
        qop,
        cnonce: creds.cnonce,
        nc: creds.nc,
        nextnonce: cfg.nextnonce ? cfg.minter.mint(now) : undefined,
      }),
    };
  }

  /**
   * accept() without a promise when verify() needs none. Every refusal verify throws (at once, or
   * as its promise's rejection) becomes a `reject` result; anything else stays a bug for the loop.
   */
  function acceptNow(
    credentials: Credentials,
    context: AcceptContext,
  ): AcceptResult | Promise<AcceptResult> {
    let answer: AcceptResult | Promise<AcceptResult>;
    try {
      answer = verify(credentials, context);
    } catch (error) {
      return rejectionOf(error);
    }
    return isThenable(answer) ? Promise.resolve(answer).catch(rejectionOf) : answer;
  }

  /** An expired or already consumed nonce: `stale=true` challenges (RFC 7616 §3.3). */
  function staleResult(
    request: AuthRequest,
    now: number,
    creds: DigestCredentials,
    info: AlgorithmInfo,
  ): AcceptResult {
    return {
      type: 'reject',
      error: new HttpAuthError('ERR_HTTPAUTH_DIGEST_NONCE_STALE', {
        detail: { ...failureDetail(creds, info), stale: true },
      }),
      challenges: buildChallenges(request, now, true),
    };
  }

  const pkg: ScanningPackage = {
    name: 'Digest',
    scheme: 'Digest',
    connectionBound: false,
    challenges: (request, now) => buildChallenges(request, now, false),
    // The promise form for every caller; the loop calls acceptNow (acceptNowOf), the same checks.
    accept: withAcceptNow(
      async (credentials, context) => acceptNow(credentials, context),
      acceptNow,
    ),
    [scanParams]: scanDigestFields,
  };
  return pkg;
}
