/**
 * createHandler: a request listener for plain node:http (and the HTTP/2 compatibility API), for
 * servers without a framework. Published as `@httpauth/core/node`:
 *
 *   import { createServer } from 'node:http';
 *   import { digest } from '@httpauth/core';
 *   import { createHandler } from '@httpauth/core/node';
 *
 *   const handler = createHandler({ packages: [digest({ ... })] }, (req, res, auth) => {
 *     res.end(`hello ${auth.principal.name}`);
 *   });
 *   createServer(handler).listen(8080, '127.0.0.1');
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { HttpAuthError } from '../errors.js';
import type {
  AuthDecision,
  AuthInfo,
  Authenticator,
  AuthenticatorOptions,
} from '../loop/authenticator.js';
import { isPromiseLike } from '../loop/decision.js';
import type { BodyLoader } from './body.js';
import { createBodyLoader } from './body.js';
import { disposeWhenDone } from './connection.js';
import { authenticateAndLogNow } from './decision-log.js';
import { resetForHttp11 } from './http11.js';
import type { AdapterOptions, AuthenticatorSource } from './options.js';
import { resolveAdapterOptionsFrom, resolveAuthenticator } from './options.js';
import { toAuthRequest } from './request.js';
import { applySuccessHeaders, sendChallenge } from './response.js';
import type { RefusalError, ResolvedSeams } from './seams.js';
import {
  anonymousHeaders,
  passesAnonymously,
  prepareRefusal,
  refusalError,
  resolveSeams,
} from './seams.js';

/** The requests a handler accepts: node:http and node:http2 (compatibility API). */
export type AnyRequest = IncomingMessage | Http2ServerRequest;
/** The responses a handler writes to: node:http and node:http2 (compatibility API). */
export type AnyResponse = ServerResponse | Http2ServerResponse;

/** The request as the application handler sees it: the raw body is kept when auth-int read it. */
export type AuthenticatedRequest<Req extends AnyRequest = AnyRequest> = Req & {
  auth: AuthInfo;
  /** The request body, when Digest auth-int had to read it (the stream is then consumed). */
  rawBody?: Buffer;
};

/**
 * The application handler of `createHandler`: called only for authenticated requests, with the
 * identity as `auth` (also on `req.auth`).
 */
export type AuthenticatedHandler<
  Req extends AnyRequest = IncomingMessage,
  Res extends AnyResponse = ServerResponse,
> = (req: AuthenticatedRequest<Req>, res: Res, auth: AuthInfo) => unknown;

/**
 * The handler of a createHandler with `unless` or `optional`: `auth` (and `req.auth`) is
 * undefined for a request let through without authentication.
 */
export type MaybeAuthenticatedHandler<
  Req extends AnyRequest = IncomingMessage,
  Res extends AnyResponse = ServerResponse,
> = (
  req: Req & { auth?: AuthInfo; rawBody?: Buffer },
  res: Res,
  auth: AuthInfo | undefined,
) => unknown;

export interface NodeHandlerOptions<
  Req extends AnyRequest = IncomingMessage,
  Res extends AnyResponse = ServerResponse,
> extends AdapterOptions {
  /** Called with anything the application handler (or a seam hook) throws (after a 500 is sent). */
  readonly onError?: (error: unknown) => void;
  /** Requests for which this returns true reach the handler without authentication (`auth` undefined). */
  readonly unless?: (req: Req) => boolean;
  /**
   * Let a request that carries no credentials at all through with `auth` undefined (no
   * challenge). Credentials that fail are still refused; a connection-bound handshake (NTLM,
   * Negotiate) still gets its next leg.
   */
  readonly optional?: boolean;
  /**
   * Shape a refusal's body: the status, every challenge line, Retry-After and Connection are
   * already set on `res` (RFC 9110 §11.6.1: a 401 always carries WWW-Authenticate); the hook
   * writes the body and ends the response. What it throws gets a 500 (and goes to `onError`).
   */
  readonly onRefused?: (error: RefusalError, req: Req, res: Res) => unknown;
}

/** Without `unless` and `optional`, every request the handler sees is authenticated. */
export type StrictHandlerOptions<
  Req extends AnyRequest,
  Res extends AnyResponse,
> = NodeHandlerOptions<Req, Res> & { readonly unless?: undefined; readonly optional?: false };

/**
 * What `createHandler` returns: a `node:http` / `node:http2` request listener, with the
 * authenticator it uses (to close it on shutdown).
 */
export type NodeHandler<Req extends AnyRequest, Res extends AnyResponse> = ((
  req: Req,
  res: Res,
) => void) & { readonly authenticator: Authenticator };

/** What createHandler authenticates with: an authenticator, or the options to build one. */
export type HandlerSource = AuthenticatorSource | (AuthenticatorOptions & AdapterOptions);

function invalidOptions(): never {
  throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
}

/**
 * The seams createHandler shares with the framework adapters (core's node/seams.ts). `property`
 * and `passErrors` are refused rather than ignored: the identity is passed as an argument (and
 * as `req.auth`), and there is no framework error handler to pass a refusal to (`onRefused`
 * does that job).
 */
function handlerSeams<Req extends AnyRequest, Res extends AnyResponse>(
  options: NodeHandlerOptions<Req, Res>,
): { seams: ResolvedSeams<Req>; onRefused: NodeHandlerOptions<Req, Res>['onRefused'] } {
  if (typeof options !== 'object' || options === null) invalidOptions();
  const extra = options as { property?: unknown; passErrors?: unknown };
  if (extra.property !== undefined || extra.passErrors !== undefined) invalidOptions();
  const { unless, optional, onRefused, onError } = options;
  if (onError !== undefined && typeof onError !== 'function') invalidOptions();
  if (onRefused !== undefined && typeof onRefused !== 'function') invalidOptions();
  return {
    seams: resolveSeams<Req>({
      ...(unless !== undefined && { unless }),
      ...(optional !== undefined && { optional }),
    }),
    onRefused,
  };
}

/**
 * Build a request listener that authenticates every request and calls `handler` only for those
 * that got through (or that `unless` / `optional` let through without an identity); the others
 * receive the challenge or error response here (or from `onRefused`).
 */
export function createHandler<
  Req extends AnyRequest = IncomingMessage,
  Res extends AnyResponse = ServerResponse,
>(
  source: HandlerSource,
  handler: AuthenticatedHandler<Req, Res>,
  options?: StrictHandlerOptions<Req, Res>,
): NodeHandler<Req, Res>;
export function createHandler<
  Req extends AnyRequest = IncomingMessage,
  Res extends AnyResponse = ServerResponse,
>(
  source: HandlerSource,
  handler: MaybeAuthenticatedHandler<Req, Res>,
  options: NodeHandlerOptions<Req, Res>,
): NodeHandler<Req, Res>;
export function createHandler<
  Req extends AnyRequest = IncomingMessage,
  Res extends AnyResponse = ServerResponse,
>(
  source: HandlerSource,
  application: AuthenticatedHandler<Req, Res> | MaybeAuthenticatedHandler<Req, Res>,
  options: NodeHandlerOptions<Req, Res> = {},
): NodeHandler<Req, Res> {
  if (typeof application !== 'function') invalidOptions();
  // The overloads tie `auth` possibly undefined to `unless` / `optional` being set.
  const handler = application as MaybeAuthenticatedHandler<Req, Res>;
  const adapterOptions = resolveAdapterOptionsFrom(source, options);
  const { seams, onRefused } = handlerSeams(options);
  const { authenticator } = resolveAuthenticator(source);
  const onError = options.onError;

  const fail = (res: AnyResponse, error: unknown): void => {
    onError?.(error);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.statusCode = 500;
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end('Internal Server Error');
  };

  /**
   * Call the application (or a hook): what it throws, or the promise it returns rejects with,
   * gets the 500 and onError. A handler that returns nothing costs no promise.
   */
  const run = (call: () => unknown, res: Res): void => {
    let result: unknown;
    try {
      result = call();
    } catch (error) {
      fail(res, error);
      return;
    }
    if (isPromiseLike(result)) {
      Promise.resolve(result).catch((error: unknown) => fail(res, error));
    }
  };

  /** `run` for the application itself, without a closure per request. */
  const runHandler = (req: Req, res: Res, auth: AuthInfo | undefined): void => {
    let result: unknown;
    try {
      result = handler(req, res, auth);
    } catch (error) {
      fail(res, error);
      return;
    }
    if (isPromiseLike(result)) {
      Promise.resolve(result).catch((error: unknown) => fail(res, error));
    }
  };

  /**
   * The decision onto the response: the refusal, or the application. Made once, not per request:
   * a kept connection's request calls it at once, with no closure of its own.
   */
  const answer = (
    req: Req,
    res: Res,
    body: BodyLoader | undefined,
    decision: AuthDecision,
  ): void => {
    if (decision.type === 'respond') {
      if (passesAnonymously(decision, seams)) {
        applySuccessHeaders(res, anonymousHeaders(decision));
        run(() => handler(req, res, undefined), res);
      } else if (onRefused === undefined) {
        sendChallenge(req, res, decision, adapterOptions, body);
      } else if (resetForHttp11(req, decision)) {
        // NTLM on an HTTP/2 stream: reset with HTTP_1_1_REQUIRED, the client retries on 1.1.
      } else {
        const response = prepareRefusal(req, res, decision, adapterOptions, body);
        run(() => onRefused(refusalError(decision, response), req, res), res);
      }
      return;
    }
    applySuccessHeaders(res, decision.headers);
    disposeWhenDone(res, decision.auth, onError);
    const authed = req as AuthenticatedRequest<Req>;
    authed.auth = decision.auth;
    if (body?.body !== undefined) authed.rawBody = body.body;
    runHandler(authed, res, decision.auth);
  };

  const listener = (req: Req, res: Res): void => {
    try {
      if (seams.unless?.(req) === true) {
        run(() => handler(req, res, undefined), res);
        return;
      }
    } catch (error) {
      // A throwing predicate fails the request: it never lets it through unauthenticated.
      fail(res, error);
      return;
    }
    const body: BodyLoader | undefined =
      adapterOptions.integrityBodyMaxBytes > 0
        ? createBodyLoader(req, req, adapterOptions.integrityBodyMaxBytes)
        : undefined;
    let pending: AuthDecision | Promise<AuthDecision>;
    try {
      pending = authenticateAndLogNow(
        authenticator,
        toAuthRequest(req, adapterOptions, body),
        adapterOptions,
      );
    } catch (error) {
      fail(res, error);
      return;
    }
    // A connection that stays authenticated is answered at once: no promise in between.
    if (isPromiseLike(pending)) {
      pending
        .then((decision) => answer(req, res, body, decision))
        .catch((error: unknown) => fail(res, error));
      return;
    }
    try {
      answer(req, res, body, pending);
    } catch (error) {
      fail(res, error);
    }
  };
  return Object.assign(listener, { authenticator });
}
