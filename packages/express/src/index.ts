/**
 * @httpauth/express: httpauth as Express middleware (Express 5, and 4).
 *
 *   app.use(httpAuth({ packages: [digest({ realm, credentials })] }));
 *   app.get('/whoami', (req, res) => res.json(req.auth?.principal));
 *
 * Everything protocol-related happens in @httpauth/core; this file only maps an Express request
 * onto the engine and the decision back onto the response.
 */
import type { AuthDecision, AuthenticatorOptions, AuthInfo, Authenticator } from '@httpauth/core';
// Aliased for the augmentation below: inside `namespace Express` the bare name `AuthInfo` would
// resolve to `Express.AuthInfo`, which @types/passport declares (empty) in the same namespace.
type HttpAuthInfo = AuthInfo;
import { HttpAuthError } from '@httpauth/core';
import {
  anonymousHeaders,
  applySuccessHeaders,
  authenticateAndLogNow,
  createBodyLoader,
  disposeWhenDone,
  isAuthenticator,
  isPromiseLike,
  passesAnonymously,
  prepareRefusal,
  refusalError,
  resetForHttp11,
  resolveAdapterOptionsFrom,
  resolveAuthenticator,
  resolveSeams,
  sendChallenge,
  toAuthRequest,
  type AdapterOptions,
  type BodyLoader,
  type RefusalError,
  type SeamOptions,
} from '@httpauth/core/adapter';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

declare global {
  // Express's own augmentation point for the request type.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Who the client is: set by httpAuth() on every request it lets through. */
      auth?: HttpAuthInfo;
      /** The raw request body, when Digest auth-int had to read it (the stream is consumed). */
      rawBody?: Buffer;
    }
  }
}

export type { AdapterOptions, RefusalError } from '@httpauth/core/adapter';
export type { AuthInfo } from '@httpauth/core';

/** How to fit the middleware into an application (see the README). */
export interface ExpressSeamOptions extends SeamOptions<Request> {
  /**
   * Shape the 401/403/503 response yourself. Status and challenge headers are already set on
   * `res`; send a body, or call `next(error)`.
   */
  readonly onRefused?: (
    error: RefusalError,
    req: Request,
    res: Response,
    next: NextFunction,
  ) => void;
  /**
   * Hand refusals to your error handler: `next(error)` with `error.status` (and the challenge
   * headers already set on `res`). Shorthand for `onRefused: (e, req, res, next) => next(e)`.
   */
  readonly passErrors?: boolean;
}

/** Everything the middleware takes besides the authenticator options. */
export interface ExpressAdapterOptions extends AdapterOptions, ExpressSeamOptions {}

/** Authenticator options and adapter options in one object. */
export interface HttpAuthOptions extends AuthenticatorOptions, ExpressAdapterOptions {}

type RefusalHandler = NonNullable<ExpressSeamOptions['onRefused']>;

const SEAM_KEYS = ['unless', 'optional', 'property', 'onRefused', 'passErrors'] as const;

/** Seam options given separately override those given inline (like the adapter options). */
function seamsFrom(
  source: Authenticator | HttpAuthOptions,
  override: ExpressAdapterOptions | undefined,
): { seams: ReturnType<typeof resolveSeams<Request>>; refuse: RefusalHandler | undefined } {
  const inline: ExpressSeamOptions =
    typeof source === 'object' && source !== null && !isAuthenticator(source)
      ? (source as HttpAuthOptions)
      : {};
  const merged: Record<string, unknown> = {};
  for (const key of SEAM_KEYS) {
    const value = override?.[key] ?? inline[key];
    if (value !== undefined) merged[key] = value;
  }
  const { onRefused, passErrors, ...rest } = merged as ExpressSeamOptions;
  const seams = resolveSeams<Request>(rest);
  if (onRefused !== undefined && typeof onRefused !== 'function') invalid();
  if (passErrors !== undefined && typeof passErrors !== 'boolean') invalid();
  // Two ways to say what to do with a refusal: one must be chosen.
  if (onRefused !== undefined && passErrors === true) invalid();
  const refuse: RefusalHandler | undefined =
    passErrors === true ? (error, _req, _res, next) => next(error) : onRefused;
  return { seams, refuse };
}

function invalid(): never {
  throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
}

/** What {@link httpAuth} returns: an Express middleware, with the authenticator it uses. */
export type HttpAuthMiddleware = RequestHandler & {
  /** The authenticator behind the middleware (close it on shutdown when you built it from options). */
  readonly authenticator: Authenticator;
};

/**
 * The middleware: requests without valid credentials get the challenge (401, or 407 in proxy
 * mode) or an error response here; the rest continue with `req.auth` set.
 *
 * @param source an Authenticator from createAuthenticator(), or options to build one
 * @param adapterOptions trustProxy / integrityBody / maxDrainBytes / logger / logSuccess and
 *   unless / optional / property / onRefused / passErrors (override those in `source`)
 */
export function httpAuth(
  source: Authenticator | HttpAuthOptions,
  adapterOptions?: ExpressAdapterOptions,
): HttpAuthMiddleware {
  const options = resolveAdapterOptionsFrom(source, adapterOptions);
  const { seams, refuse } = seamsFrom(source, adapterOptions);
  const { authenticator } = resolveAuthenticator(source);

  const { property } = seams;
  /**
   * Attach the identity. The default name is stored as a named property: a store under a
   * variable key costs Express's kept-alive requests more than the rest of the adapter.
   */
  const attach =
    property === 'auth'
      ? (req: Request, auth: HttpAuthInfo): void => {
          req.auth = auth;
        }
      : (req: Request, auth: HttpAuthInfo): void => {
          (req as unknown as Record<string, unknown>)[property] = auth;
        };

  /**
   * The decision onto Express: the refusal, or on to the route. Made once, not per request: a
   * kept connection's request calls it at once, with no closure of its own.
   */
  const answer = (
    req: Request,
    res: Response,
    next: NextFunction,
    body: BodyLoader | undefined,
    decision: AuthDecision,
  ): void => {
    if (decision.type === 'respond') {
      if (passesAnonymously(decision, seams)) {
        applySuccessHeaders(res, anonymousHeaders(decision));
        next();
      } else if (resetForHttp11(req, decision)) {
        // NTLM on an HTTP/2 stream: reset with HTTP_1_1_REQUIRED, the client retries on 1.1.
      } else if (refuse === undefined) {
        sendChallenge(req, res, decision, options, body);
      } else {
        const response = prepareRefusal(req, res, decision, options, body);
        refuse(refusalError(decision, response), req, res, next);
      }
      return;
    }
    applySuccessHeaders(res, decision.headers);
    disposeWhenDone(res, decision.auth);
    attach(req, decision.auth);
    if (body?.body !== undefined) req.rawBody = body.body;
    next();
  };

  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    try {
      if (seams.unless?.(req) === true) {
        next();
        return;
      }
    } catch (error) {
      next(error);
      return;
    }
    const body: BodyLoader | undefined =
      options.integrityBodyMaxBytes > 0
        ? createBodyLoader(req, req, options.integrityBodyMaxBytes)
        : undefined;
    let pending: AuthDecision | Promise<AuthDecision>;
    try {
      // originalUrl: the request-target as received, even when mounted on a path.
      const request = toAuthRequest(req, options, body, req.originalUrl);
      pending = authenticateAndLogNow(authenticator, request, options);
    } catch (error) {
      next(error);
      return;
    }
    if (isPromiseLike(pending)) {
      pending.then((decision) => answer(req, res, next, body, decision)).catch(next);
      return;
    }
    // A connection that stays authenticated: on to the route at once, as without auth.
    try {
      answer(req, res, next, body, pending);
    } catch (error) {
      next(error);
    }
  };
  return Object.assign(middleware, { authenticator });
}

export default httpAuth;

export { authorize } from './authorize.js';
