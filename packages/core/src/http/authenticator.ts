/**
 * The challenge loop: Authorization header in, decision out. Framework-free; the adapters only
 * translate a request into an AuthRequest and a decision into a response.
 *
 *   no credentials          -> 401 with every package's challenges, in the configured order
 *   credentials, continue   -> 401 with `<scheme> <token>` (one leg of NTLM)
 *   credentials, complete   -> authenticated (+ mutual-auth token / Authentication-Info)
 *   credentials, reject     -> 401 + challenges (denied), 400 (malformed), 403, 503
 *
 * Proxy mode (RFC 9110 §11.7) reads Proxy-Authorization and answers 407 / Proxy-Authenticate /
 * Proxy-Authentication-Info instead.
 */
import { ChannelBindingCache, tlsServerEndPoint } from '../channel-binding.js';
import { publishChallenge, publishFailure, publishSuccess } from '../events.js';
import { HttpAuthError, isHttpAuthError, statusForKind } from '../errors.js';
import type { ImpersonationContext } from '../impersonation/context.js';
import { identifyContext } from '../impersonation/context.js';
import type {
  AcceptContext,
  AcceptResult,
  AuthRequest,
  Credentials,
  SecurityContextData,
  SecurityPackage,
} from '../package.js';
import type { PrincipalDirectory } from '../directory/resolver.js';
import type { Principal } from '../principal.js';
import { MemoryStore } from '../store/memory.js';
import { sessionRevokedKey } from '../store/keys.js';
import type { KeyValueStore } from '../store/types.js';
import type { SessionOptions } from '../session/session-cookie.js';
import { SessionCookies } from '../session/session-cookie.js';
import { DEFAULT_MAX_HEADER_BYTES, parseCredentials, singleHeader } from './authorization.js';
import type { ConnectionLimits } from './connections.js';
import { ConnectionRegistry } from './connections.js';
import { cameThroughProxy, clientAddressOf } from './client-address.js';

export type Header = readonly [name: string, value: string];

/** What a request that got through carries: `req.auth`, `request.auth`, `ctx.state.auth`. */
export interface AuthInfo {
  readonly principal: Principal;
  readonly impersonation: ImpersonationContext;
  /** Keys and credentials the package produced (session key, delegated credential). */
  readonly context: SecurityContextData | undefined;
  /** The authentication session (cookie) this request was authenticated by, or issued with. */
  readonly session?: { readonly id: string; readonly expiresAt: number; readonly reused: boolean };
}

export type AuthDecision =
  | {
      readonly type: 'authenticated';
      /**
       * The auth-scheme that authenticated this request, as the package names it ('Negotiate',
       * 'NTLM', 'Digest', 'Basic'), or 'Session' for an authentication-session cookie.
       */
      readonly scheme: string;
      readonly auth: AuthInfo;
      /** Headers for the successful response (mutual authentication, Authentication-Info). */
      readonly headers: readonly Header[];
    }
  | {
      readonly type: 'respond';
      /**
       * The auth-scheme whose credentials were refused or continued (the package's spelling; the
       * client's own spelling for an unsupported scheme), or undefined when none were sent.
       */
      readonly scheme: string | undefined;
      readonly status: number;
      readonly headers: readonly Header[];
      readonly error: HttpAuthError;
    };

/** Builds the impersonation context for an authenticated principal (the impersonation policy). */
export type ImpersonationFactory = (
  principal: Principal,
  context: SecurityContextData | undefined,
) => Promise<ImpersonationContext> | ImpersonationContext;

export interface AuthenticatorOptions {
  /** The security packages, in the order their challenges are offered. */
  readonly packages: readonly SecurityPackage[];
  /** Act as a proxy: Proxy-Authorization in, 407 and Proxy-Authenticate out. */
  readonly proxy?: boolean;
  /** Nonce counts and replay cache; defaults to a bounded in-memory store. */
  readonly store?: KeyValueStore;
  /** Largest credentials header accepted (default 64 KiB, enough for large AD PACs). */
  readonly maxHeaderBytes?: number;
  readonly connections?: ConnectionLimits;
  /**
   * Behind a TLS-terminating proxy: the certificate the proxy presents to clients (DER or PEM),
   * so packages can verify channel bindings against it.
   */
  readonly channelBindingCertificate?: Buffer | string;
  readonly impersonation?: ImpersonationFactory;
  /**
   * Names for the group SIDs a logon proved (`createSidResolver`): runs once per successful
   * handshake, before the connection or a session keeps the principal. A directory that cannot
   * answer leaves the SIDs alone; it never refuses the logon.
   */
  readonly directory?: PrincipalDirectory;
  /**
   * Authentication sessions (like mod_auth_gssapi's GssapiUseSessions): an encrypted cookie that
   * carries the principal so later requests skip the handshake. Off unless configured.
   */
  readonly sessions?: SessionOptions & {
    /** Check every session against a revocation list in the store (one store read per request). */
    readonly revocable?: boolean;
  };
  /** Clock in milliseconds, for tests. */
  readonly now?: () => number;
}

export interface Authenticator {
  authenticate(request: AuthRequest): Promise<AuthDecision>;
  /** The packages, for adapters that need to know (HTTP/2 warnings, metrics). */
  readonly packages: readonly SecurityPackage[];
  readonly proxy: boolean;
  /** Pending connection-bound handshakes in this process. */
  readonly pendingHandshakes: number;
  /** Revoke an authentication session by id (needs `sessions.revocable`). */
  revokeSession(id: string): Promise<void>;
  close(): Promise<void>;
}

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  if (!Array.isArray(options.packages) || options.packages.length === 0) {
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const packages = [...options.packages];
  const byScheme = new Map<string, SecurityPackage>();
  for (const pkg of packages) {
    const key = pkg.scheme.toLowerCase();
    if (byScheme.has(key)) throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
    byScheme.set(key, pkg);
  }
  const proxy = options.proxy === true;
  const store = options.store ?? new MemoryStore();
  const maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const clock = options.now ?? Date.now;
  const registry = new ConnectionRegistry(options.connections);
  const bindings = new ChannelBindingCache();
  const fixedBinding =
    options.channelBindingCertificate === undefined
      ? undefined
      : tlsServerEndPoint(options.channelBindingCertificate);
  const makeImpersonation = options.impersonation ?? identifyContext;
  const directory = options.directory;
  if (
    directory !== undefined &&
    (directory === null || typeof directory.resolvePrincipal !== 'function')
  ) {
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const sessions =
    options.sessions === undefined ? undefined : new SessionCookies(options.sessions);
  const sessionsRevocable = options.sessions?.revocable === true;
  const sessionMaxAgeMs = options.sessions?.maxAgeMs ?? 3_600_000;
  const revokedKey = sessionRevokedKey;

  const credentialsHeader = proxy ? 'proxy-authorization' : 'authorization';
  const challengeHeader = proxy ? 'proxy-authenticate' : 'www-authenticate';
  const infoHeader = proxy ? 'proxy-authentication-info' : 'authentication-info';
  const challengeStatus = proxy ? 407 : 401;

  function connectionUsable(request: AuthRequest): boolean {
    return request.connection !== undefined && request.httpVersionMajor < 2;
  }

  function challengesFor(
    request: AuthRequest,
    now: number,
    replace?: { pkg: SecurityPackage; challenges: readonly string[] },
  ): Header[] {
    const headers: Header[] = [];
    const usable = connectionUsable(request);
    for (const pkg of packages) {
      if (pkg.connectionBound && !usable) continue;
      const values =
        replace !== undefined && replace.pkg === pkg
          ? replace.challenges
          : pkg.challenges(request, now);
      for (const value of values) headers.push([challengeHeader, value]);
    }
    return headers;
  }

  function respond(
    request: AuthRequest,
    now: number,
    error: HttpAuthError,
    scheme: string | undefined,
    replace?: { pkg: SecurityPackage; challenges: readonly string[] },
  ): AuthDecision {
    const status = error.kind === 'denied' ? challengeStatus : statusForKind(error.kind);
    const headers: Header[] = error.kind === 'denied' ? challengesFor(request, now, replace) : [];
    if (error.kind === 'unavailable') headers.push(['retry-after', '5']);
    if (error.code === 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED') {
      publishChallenge({ scheme, step: 'initial' });
    } else {
      publishFailure({
        scheme,
        code: error.code,
        status,
        ...(error.reason === undefined ? {} : { reason: error.reason }),
      });
    }
    return { type: 'respond', scheme, status, headers, error };
  }

  /** The principal with names for its SIDs, when a directory is configured. */
  async function withNames(principal: Principal): Promise<Principal> {
    if (directory === undefined) return principal;
    try {
      return await directory.resolvePrincipal(principal);
    } catch {
      return principal;
    }
  }

  async function authenticated(
    principal: Principal,
    context: SecurityContextData | undefined,
    headers: Header[],
    scheme: string,
    reused: boolean,
    session?: AuthInfo['session'],
  ): Promise<AuthDecision> {
    const impersonation = await makeImpersonation(principal, context);
    publishSuccess({ mechanism: principal.mechanism, scheme, name: principal.name, reused });
    const auth: AuthInfo =
      session === undefined
        ? { principal, impersonation, context }
        : { principal, impersonation, context, session };
    return { type: 'authenticated', scheme, auth, headers };
  }

  /** A valid session cookie authenticates the request without a handshake. */
  async function fromSession(
    request: AuthRequest,
    now: number,
  ): Promise<AuthDecision | 'invalid' | undefined> {
    if (sessions === undefined) return undefined;
    const value = sessions.find(request);
    if (value === undefined) return undefined;
    const data = sessions.open(value, now, request);
    if (data === undefined) return 'invalid';
    if (sessionsRevocable && (await store.get(revokedKey(data.id))) !== undefined) return 'invalid';
    return authenticated(data.principal, undefined, [], 'Session', true, {
      id: data.id,
      expiresAt: data.expiresAt,
      reused: true,
    });
  }

  function channelBindingFor(request: AuthRequest): Buffer | undefined {
    if (fixedBinding !== undefined) return fixedBinding;
    if (request.localCertificate === undefined || request.localCertificate.length === 0) {
      return undefined;
    }
    try {
      return bindings.applicationData(request.localCertificate);
    } catch {
      return undefined;
    }
  }

  async function handle(request: AuthRequest, now: number): Promise<AuthDecision> {
    const raw = singleHeader(request.headers[credentialsHeader], maxHeaderBytes);
    const connection = connectionUsable(request) ? request.connection : undefined;

    // Through a proxy, one backend connection carries many clients' requests: an identity kept
    // on it would answer for whoever sends the next request (IIS: authPersistSingleRequest).
    const proxied = cameThroughProxy(request);
    if (raw === undefined || raw.trim() === '') {
      let persisted = connection === undefined ? undefined : registry.authenticated(connection);
      if (persisted !== undefined && proxied) {
        registry.setAuthenticated(connection!, undefined);
        persisted = undefined;
      }
      if (persisted !== undefined) {
        return authenticated(
          persisted.principal,
          persisted.context,
          [],
          persisted.packageName,
          true,
        );
      }
      const session = await fromSession(request, now);
      if (session !== undefined && session !== 'invalid') return session;
      const decision = respond(
        request,
        now,
        new HttpAuthError('ERR_HTTPAUTH_CREDENTIALS_REQUIRED'),
        undefined,
      );
      // A tampered, expired, revoked or foreign cookie is removed, and the client is challenged.
      if (session === 'invalid' && sessions !== undefined && decision.type === 'respond') {
        const clear: Header = ['set-cookie', sessions.clearCookie(request)];
        return { ...decision, headers: [...decision.headers, clear] };
      }
      return decision;
    }

    const credentials: Credentials = parseCredentials(raw);
    const pkg = byScheme.get(credentials.scheme.toLowerCase());
    if (pkg === undefined) {
      return respond(
        request,
        now,
        new HttpAuthError('ERR_HTTPAUTH_SCHEME_UNSUPPORTED'),
        credentials.scheme,
      );
    }
    if (pkg.connectionBound && connection === undefined) {
      return respond(
        request,
        now,
        new HttpAuthError('ERR_HTTPAUTH_CONNECTION_REQUIRED'),
        pkg.scheme,
      );
    }
    // New credentials on a connection replace whatever authenticated it before (IIS does the same).
    if (connection !== undefined) registry.setAuthenticated(connection, undefined);

    const handshake =
      connection === undefined
        ? undefined
        : registry.slot(connection, pkg.name, now, clientAddressOf(request, connection));
    const context: AcceptContext = {
      request,
      handshake,
      channelBinding: channelBindingFor(request),
      store,
      now,
    };

    let result: AcceptResult;
    try {
      result = await pkg.accept(credentials, context);
    } catch (error) {
      handshake?.clear();
      // A package that throws is refused like one that rejects, under its own scheme, so failure
      // events and the decision still name it.
      const typed = isHttpAuthError(error)
        ? error
        : new HttpAuthError('ERR_HTTPAUTH_INTERNAL', { cause: error });
      result = { type: 'reject', error: typed };
    }

    switch (result.type) {
      case 'continue':
        publishChallenge({ scheme: pkg.scheme, step: 'continue' });
        return {
          type: 'respond',
          scheme: pkg.scheme,
          status: challengeStatus,
          headers: [[challengeHeader, `${pkg.scheme} ${result.token}`]],
          error: new HttpAuthError('ERR_HTTPAUTH_HANDSHAKE_CONTINUE'),
        };
      case 'complete': {
        handshake?.clear();
        const principal = await withNames(result.principal);
        const headers: Header[] = [];
        if (result.token !== undefined)
          headers.push([challengeHeader, `${pkg.scheme} ${result.token}`]);
        if (result.authenticationInfo !== undefined)
          headers.push([infoHeader, result.authenticationInfo]);
        if (result.persist === true && connection !== undefined && !proxied) {
          registry.setAuthenticated(connection, {
            principal,
            context: result.context,
            packageName: pkg.scheme,
          });
        }
        const issued = sessions?.issue(principal, now, request);
        if (issued !== undefined) {
          headers.push(['set-cookie', issued.setCookie]);
          return authenticated(principal, result.context, headers, pkg.scheme, false, {
            id: issued.data.id,
            expiresAt: issued.data.expiresAt,
            reused: false,
          });
        }
        return authenticated(principal, result.context, headers, pkg.scheme, false);
      }
      case 'reject':
        handshake?.clear();
        return respond(
          request,
          now,
          result.error,
          pkg.scheme,
          result.challenges === undefined ? undefined : { pkg, challenges: result.challenges },
        );
    }
  }

  return {
    packages,
    proxy,
    get pendingHandshakes() {
      return registry.pendingHandshakes;
    },
    async authenticate(request: AuthRequest): Promise<AuthDecision> {
      const now = clock();
      try {
        return await handle(request, now);
      } catch (error) {
        const typed = isHttpAuthError(error)
          ? error
          : new HttpAuthError('ERR_HTTPAUTH_INTERNAL', { cause: error });
        return respond(request, now, typed, undefined);
      }
    },
    async revokeSession(id: string) {
      if (!sessionsRevocable) throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
      await store.add(revokedKey(id), '1', sessionMaxAgeMs);
    },
    async close() {
      await store.close?.();
    },
  };
}

/** The JSON body adapters send with a non-success decision: a stable code and a fixed message. */
export function errorBody(error: HttpAuthError): { error: string; message: string } {
  return { error: error.code, message: error.message };
}
