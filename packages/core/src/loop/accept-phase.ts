/**
 * The accept phase: credentials in, the package's answer out. The package for the credentials'
 * scheme runs AcceptSecurityContext (`accept`) with the connection's handshake slot, the channel
 * binding and the store, and its result becomes the decision:
 *
 *   continue -> 401 with `<scheme> <token>` (one leg of NTLM or SPNEGO)
 *   complete -> authenticated (+ mutual-auth token / Authentication-Info, connection, session)
 *   reject   -> 401 + challenges (denied), 400 (malformed), 403, 503, under the package's scheme
 */
import { HttpAuthError, isHttpAuthError } from '../errors.js';
import type { SchemeSpan } from '../grammar/http-auth.js';
import { ScannedCredentials, parseCredentialsAfter, readScheme } from '../grammar/http-auth.js';
import type {
  AcceptContext,
  AcceptResult,
  AuthRequest,
  Connection,
  Credentials,
  HandshakeSlot,
  SecurityPackage,
} from '../security-package.js';
import { acceptNowOf, scannerOf } from '../security-package.js';
import { http11Required } from './challenge.js';
import { isPromiseLike, type AuthDecision, type Header } from './decision.js';
import type { LoopState } from './options.js';
import type { Principal } from '../principal.js';
import { admit, withNames } from './success.js';

/**
 * Run the package. Packages reject by returning `reject`; a throw is a bug, refused like a
 * rejection (ERR_HTTPAUTH_INTERNAL unless it is an HttpAuthError) so the decision and the
 * failure event still name the package's scheme. A package whose accept has a synchronous form
 * (acceptNowOf: Digest) is answered without a promise when nothing in it waits.
 */
export function runPackage(
  pkg: SecurityPackage,
  credentials: Credentials,
  context: AcceptContext,
): AcceptResult | Promise<AcceptResult> {
  const now = acceptNowOf(pkg);
  let answer: AcceptResult | PromiseLike<AcceptResult>;
  try {
    answer = now === undefined ? pkg.accept(credentials, context) : now(credentials, context);
  } catch (error) {
    return packageFailed(context, error);
  }
  return isPromiseLike(answer)
    ? Promise.resolve(answer).then(undefined, (error: unknown) => packageFailed(context, error))
    : answer;
}

function packageFailed(context: AcceptContext, error: unknown): AcceptResult {
  context.handshake?.clear();
  const typed = isHttpAuthError(error)
    ? error
    : new HttpAuthError('ERR_HTTPAUTH_INTERNAL', { cause: error });
  return { type: 'reject', error: typed };
}

/**
 * A completed handshake (or a mapped client certificate, scheme 'Certificate'): the principal
 * named, kept on the connection and in a session. Without a directory nothing here waits, so
 * the decision comes without a promise of its own.
 */
export function complete(
  loop: LoopState,
  request: AuthRequest,
  now: number,
  scheme: string,
  connection: Connection | undefined,
  result: Extract<AcceptResult, { type: 'complete' }>,
): AuthDecision | Promise<AuthDecision> {
  if (loop.directory === undefined) {
    return completeFor(loop, request, now, scheme, connection, result, result.principal);
  }
  return withNames(loop.directory, result.principal).then((principal) =>
    completeFor(loop, request, now, scheme, connection, result, principal),
  );
}

function completeFor(
  loop: LoopState,
  request: AuthRequest,
  now: number,
  scheme: string,
  connection: Connection | undefined,
  result: Extract<AcceptResult, { type: 'complete' }>,
  principal: Principal,
): AuthDecision | Promise<AuthDecision> {
  const { responder } = loop;
  const headers: Header[] = [];
  if (result.token !== undefined) {
    headers.push([responder.headers.challenge, `${scheme} ${result.token}`]);
  }
  if (result.authenticationInfo !== undefined) {
    headers.push([responder.headers.info, result.authenticationInfo]);
  }
  if (result.persist === true && connection !== undefined) {
    loop.connections.persist(request, connection, {
      principal,
      context: result.context,
      packageName: scheme,
    });
  }
  const issued = loop.sessions?.issue(principal, now, request);
  if (issued !== undefined) headers.push(issued.header);
  return admit(loop.makeImpersonation, {
    principal,
    context: result.context,
    headers,
    scheme,
    reused: false,
    ...(issued === undefined ? {} : { session: issued.session }),
  });
}

/**
 * The credentials, read by the package's own single-pass reader when it has one and can (Digest,
 * digest/scan.ts), else by the RFC 9110 parser, which also gives every malformed header its code.
 */
function credentialsFor(
  pkg: SecurityPackage | undefined,
  raw: string,
  span: SchemeSpan,
): Credentials {
  const scan = pkg === undefined ? undefined : scannerOf(pkg);
  if (scan !== undefined) {
    const scanned = scan(raw, span.rest);
    if (scanned !== undefined) return new ScannedCredentials(span.scheme, raw, scan, scanned);
  }
  return parseCredentialsAfter(raw, span);
}

/**
 * Authenticate a request that carries credentials (`raw`, the one header value): the decision at
 * once when the package answered at once (runPackage), else once it has. Throws only what the
 * caller refuses (a malformed header's HttpAuthError, a failing store).
 */
export function acceptCredentials(
  loop: LoopState,
  request: AuthRequest,
  now: number,
  raw: string,
): AuthDecision | Promise<AuthDecision> {
  const { responder } = loop;
  const span = readScheme(raw);
  const pkg = loop.byScheme.get(span.scheme.toLowerCase());
  const credentials = credentialsFor(pkg, raw, span);
  if (pkg === undefined) {
    return responder.refuse(
      request,
      now,
      new HttpAuthError('ERR_HTTPAUTH_SCHEME_UNSUPPORTED'),
      credentials.scheme,
    );
  }
  const connection = loop.connections.connectionOf(request);
  if (pkg.connectionBound && connection === undefined) {
    return responder.refuse(
      request,
      now,
      http11Required(request, new HttpAuthError('ERR_HTTPAUTH_CONNECTION_REQUIRED')),
      pkg.scheme,
    );
  }
  if (connection !== undefined) loop.connections.forget(connection);

  const handshake: HandshakeSlot | undefined =
    connection === undefined
      ? undefined
      : loop.connections.slot(request, connection, pkg.name, now);
  const result = runPackage(pkg, credentials, {
    request,
    handshake,
    channelBinding: loop.channelBindingFor(request),
    store: loop.store,
    now,
  });
  return isPromiseLike(result)
    ? result.then((settled) => decideOn(loop, request, now, pkg, connection, handshake, settled))
    : decideOn(loop, request, now, pkg, connection, handshake, result);
}

/** The package's answer as the decision: the next leg, authenticated, or refused. */
function decideOn(
  loop: LoopState,
  request: AuthRequest,
  now: number,
  pkg: SecurityPackage,
  connection: Connection | undefined,
  handshake: HandshakeSlot | undefined,
  result: AcceptResult,
): AuthDecision | Promise<AuthDecision> {
  const { responder } = loop;
  switch (result.type) {
    case 'continue':
      return responder.continueHandshake(pkg, result.token);
    case 'complete':
      handshake?.clear();
      return complete(loop, request, now, pkg.scheme, connection, result);
    case 'reject':
      handshake?.clear();
      return responder.refuse(
        request,
        now,
        http11Required(request, result.error),
        pkg.scheme,
        result.challenges === undefined ? undefined : { pkg, challenges: result.challenges },
      );
  }
}
