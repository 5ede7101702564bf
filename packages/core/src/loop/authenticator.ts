/**
 * The challenge loop: Authorization header in, decision out. Framework-free; the adapters only
 * translate a request into an AuthRequest and a decision into a response.
 *
 *   a client certificate    -> the certificate phase (certificate-phase.ts), when configured:
 *                              complete or reject here, none goes on below; a TLS handshake
 *                              that completed a certificate logon answers at once after that
 *   no credentials          -> the connection's kept authentication, else a session cookie,
 *                              else 401 with every package's challenges, in the configured order
 *   credentials             -> the accept phase (accept-phase.ts): continue, complete or reject
 *
 * Proxy mode (RFC 9110 §11.7) reads Proxy-Authorization and answers 407 / Proxy-Authenticate /
 * Proxy-Authentication-Info instead. The phases live in their own modules: options.ts (checked
 * once), challenge.ts (respond), connection-phase.ts, session-phase.ts, accept-phase.ts and
 * success.ts.
 */
import { decisionStart, publishDecision } from './publish.js';
import { HttpAuthError, isHttpAuthError } from '../errors.js';
import { singleHeader } from '../grammar/http-auth.js';
import type { AuthRequest, SecurityPackage } from '../security-package.js';
import { acceptCredentials } from './accept-phase.js';
import { certificatePhase, keptCertificate } from './certificate-phase.js';
import type { SessionData } from '../session/session-cookie.js';
import type { ConnectionAuthentication } from './connections.js';
import type { AuthDecision, Header } from './decision.js';
import { isPromiseLike } from './decision.js';
import type { AuthenticatorOptions, LoopState } from './options.js';
import { resolveOptions } from './options.js';
import { admit } from './success.js';

export type { AuthDecision, AuthInfo, Header } from './decision.js';
export { errorBody } from './decision.js';
export type { AuthenticatorOptions } from './options.js';
export type { ImpersonationFactory } from './success.js';

/**
 * The engine: one request in, one decision out, with no framework in between. The adapters
 * (Express, Fastify, Koa, `createHandler`, the gateway) wrap one; built by {@link
 * createAuthenticator}.
 */
export interface Authenticator {
  /**
   * Runs the challenge loop for one request: authenticated, or a response to send (a 401/407 with
   * the challenges, the next leg of a handshake, or a refusal with a stable `ERR_HTTPAUTH_*` code).
   * It never throws for bad input.
   */
  authenticate(request: AuthRequest): Promise<AuthDecision>;
  /** The packages, for adapters that need to know (HTTP/2 warnings, metrics). */
  readonly packages: readonly SecurityPackage[];
  readonly proxy: boolean;
  /** Pending connection-bound handshakes in this process. */
  readonly pendingHandshakes: number;
  /** Revoke an authentication session by id (needs `sessions.revocable`). */
  revokeSession(id: string): Promise<void>;
  /** Closes the store (a Redis connection, say); call it when the server shuts down. */
  close(): Promise<void>;
}

/** The decision for a request on a connection that stays authenticated. */
function admitKept(
  loop: LoopState,
  kept: ConnectionAuthentication,
): AuthDecision | Promise<AuthDecision> {
  return admit(loop.makeImpersonation, {
    principal: kept.principal,
    context: kept.context,
    headers: [],
    scheme: kept.packageName,
    reused: true,
  });
}

/** A request that a valid session cookie authenticates (no handshake ran). */
function admitSession(loop: LoopState, data: SessionData): AuthDecision | Promise<AuthDecision> {
  return admit(loop.makeImpersonation, {
    principal: data.principal,
    context: undefined,
    headers: [],
    scheme: 'Session',
    reused: true,
    session: { id: data.id, expiresAt: data.expiresAt, reused: true },
  });
}

/**
 * A request without credentials: the connection may still be authenticated (NTLM, as IIS keeps
 * it), or a session cookie may carry the principal; otherwise the client is challenged.
 */
async function withoutCredentials(
  loop: LoopState,
  request: AuthRequest,
  now: number,
): Promise<AuthDecision> {
  const connection = loop.connections.connectionOf(request);
  const persisted =
    connection === undefined ? undefined : loop.connections.persisted(request, connection);
  if (persisted !== undefined) return admitKept(loop, persisted);
  const session = await loop.sessions?.lookup(request, now);
  if (session?.type === 'valid') return admitSession(loop, session.data);
  const decision = loop.responder.refuse(
    request,
    now,
    new HttpAuthError('ERR_HTTPAUTH_CREDENTIALS_REQUIRED'),
    undefined,
  );
  // A tampered, expired, revoked or foreign cookie is removed, and the client is challenged.
  if (session?.type === 'invalid' && loop.sessions !== undefined) {
    const clear: Header = loop.sessions.clear(request);
    return { ...decision, headers: [...decision.headers, clear] };
  }
  return decision;
}

/** The credentials header not read yet (a certificate package decides first). */
const UNREAD = Symbol('unread');
type HeaderRead = string | undefined | typeof UNREAD;

/** The request's credentials header, or undefined when it carries none (throws on a repeat). */
function credentialsOf(loop: LoopState, request: AuthRequest): string | undefined {
  const raw = singleHeader(
    request.headers[loop.responder.headers.credentials],
    loop.maxHeaderBytes,
  );
  return raw === undefined || raw.trim() === '' ? undefined : raw;
}

/**
 * The full path. Without a certificate package, decide() has already read the credentials header
 * (`read`), and it is not read twice; with one, the certificate phase comes first, then the header.
 */
function handle(
  loop: LoopState,
  request: AuthRequest,
  now: number,
  read: HeaderRead,
): AuthDecision | Promise<AuthDecision> {
  if (loop.certificate !== undefined) {
    return handleAfterCertificate(loop, loop.certificate, request, now);
  }
  return handleCredentials(
    loop,
    request,
    now,
    read === UNREAD ? credentialsOf(loop, request) : read,
  );
}

/** With a certificate package: its phase first, the credentials header only when it passed. */
async function handleAfterCertificate(
  loop: LoopState,
  certificate: NonNullable<LoopState['certificate']>,
  request: AuthRequest,
  now: number,
): Promise<AuthDecision> {
  const decided = await certificatePhase(loop, certificate, request, now);
  if (decided !== undefined) return decided;
  return handleCredentials(loop, request, now, credentialsOf(loop, request));
}

/**
 * The credentials header's phase: at once when the package answered at once (Negotiate with an
 * in-process replay cache, no promise on the way), else by a promise.
 */
function handleCredentials(
  loop: LoopState,
  request: AuthRequest,
  now: number,
  raw: string | undefined,
): AuthDecision | Promise<AuthDecision> {
  if (raw === undefined) return withoutCredentials(loop, request, now);
  return acceptCredentials(loop, request, now, raw);
}

/**
 * The decision when nothing in it has to wait: a request without credentials (`raw`) on a
 * connection that stays authenticated, or with a session cookie that opens (sessions that are not
 * revocable). decide() asks keptCertificate instead when a certificate package is configured: its
 * phase comes first. Most of an NTLM or session deployment's requests are these; answered here,
 * they cost no promise. Undefined: take the full path.
 */
function keptConnection(
  loop: LoopState,
  request: AuthRequest,
  now: number,
  raw: string | undefined,
): AuthDecision | Promise<AuthDecision> | undefined {
  if (raw !== undefined) return undefined;
  const connection = loop.connections.connectionOf(request);
  const kept =
    connection === undefined ? undefined : loop.connections.persisted(request, connection);
  if (kept !== undefined) return admitKept(loop, kept);
  // A session cookie opens without waiting unless revocation needs a store read; expiry is
  // checked as on the full path. No cookie, or one that did not open: the full path (which
  // challenges, and clears a bad cookie).
  const session = loop.sessions?.lookupNow(request, now);
  return session?.type === 'valid' ? admitSession(loop, session.data) : undefined;
}

/** A malformed or repeated header, or a store that failed: refused with its own code. */
function refusal(loop: LoopState, request: AuthRequest, now: number, error: unknown): AuthDecision {
  const typed = isHttpAuthError(error)
    ? error
    : new HttpAuthError('ERR_HTTPAUTH_INTERNAL', { cause: error });
  return loop.responder.refuse(request, now, typed, undefined);
}

/** The full path (credentials, sessions, challenges): a promise only where something waits. */
function decideFully(
  loop: LoopState,
  request: AuthRequest,
  now: number,
  startedAt: number,
  read: HeaderRead,
): AuthDecision | Promise<AuthDecision> {
  let decided: AuthDecision | Promise<AuthDecision>;
  try {
    decided = handle(loop, request, now, read);
  } catch (error) {
    decided = refusal(loop, request, now, error);
  }
  if (isPromiseLike(decided)) {
    // An impersonation factory may answer with any thenable.
    return Promise.resolve(decided)
      .catch((error: unknown) => refusal(loop, request, now, error))
      .then((decision) => {
        publishDecision(decision, request, startedAt);
        return decision;
      });
  }
  publishDecision(decided, request, startedAt);
  return decided;
}

/**
 * One request through the loop: the decision at once when it can be had (keptConnection, a
 * package that answers at once).
 */
function decide(loop: LoopState, request: AuthRequest): AuthDecision | Promise<AuthDecision> {
  const startedAt = decisionStart();
  const now = loop.clock();
  let quick: AuthDecision | PromiseLike<AuthDecision> | undefined;
  let read: HeaderRead = UNREAD;
  try {
    if (loop.certificate !== undefined) {
      quick = keptCertificate(loop, loop.certificate, request, now);
    } else {
      read = credentialsOf(loop, request);
      // Credentials go straight to the accept phase, which answers at once when the package
      // does (Digest with a source and a store that answer at once); handle() would do the same.
      quick =
        read === undefined
          ? keptConnection(loop, request, now, read)
          : acceptCredentials(loop, request, now, read);
    }
  } catch (error) {
    quick = refusal(loop, request, now, error);
  }
  if (quick === undefined) return decideFully(loop, request, now, startedAt, read);
  if (isPromiseLike(quick)) {
    // An impersonation factory that answers later: the same decision, once it has answered.
    return Promise.resolve(quick)
      .catch((error: unknown) => refusal(loop, request, now, error))
      .then((decision) => {
        publishDecision(decision, request, startedAt);
        return decision;
      });
  }
  publishDecision(quick, request, startedAt);
  return quick;
}

/** The synchronous entry of every authenticator createAuthenticator made (authenticateNow). */
const immediate = new WeakMap<
  Authenticator,
  (request: AuthRequest) => AuthDecision | Promise<AuthDecision>
>();

/**
 * `authenticator.authenticate(request)`, but answered synchronously when the decision needs
 * nothing that waits (a request on a connection that stays authenticated, on a TLS handshake
 * whose client certificate already logged on, or with a valid cookie of sessions that are not
 * revocable; a Negotiate token checked against the in-process replay cache; Digest credentials
 * checked against a source and a nc store that answer at once; in each case with no directory or
 * impersonation that waits): the adapters use it
 * so that such a request goes on without a promise and a trip through the microtask queue. Any
 * other request, and any authenticator not made by createAuthenticator, gets the promise.
 */
export function authenticateNow(
  authenticator: Authenticator,
  request: AuthRequest,
): AuthDecision | Promise<AuthDecision> {
  const now = immediate.get(authenticator);
  return now === undefined ? authenticator.authenticate(request) : now(request);
}

/**
 * Builds an {@link Authenticator} from the security packages and options. The options are checked
 * here: a bad one throws `ERR_HTTPAUTH_INVALID_OPTIONS` at startup rather than on a request.
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const loop = resolveOptions(options);
  const authenticator: Authenticator = {
    packages: loop.packages,
    proxy: loop.proxy,
    get pendingHandshakes() {
      return loop.connections.pendingHandshakes;
    },
    async authenticate(request: AuthRequest): Promise<AuthDecision> {
      return decide(loop, request);
    },
    async revokeSession(id: string) {
      if (loop.sessions === undefined) throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
      await loop.sessions.revoke(id);
    },
    async close() {
      await loop.store.close?.();
    },
  };
  immediate.set(authenticator, (request) => decide(loop, request));
  return authenticator;
}
