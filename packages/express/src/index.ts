/**
 * @httpauth/express: httpauth as Express middleware (Express 5, and 4).
 *
 *   app.use(httpAuth({ packages: [digest({ realm, credentials })] }));
 *   app.get('/whoami', (req, res) => res.json(req.auth?.principal));
 *
 * Everything protocol-related happens in @httpauth/core; this file only maps an Express request
 * onto the engine and the decision back onto the response.
 */
import type { AuthenticatorOptions, AuthInfo, Authenticator } from '@httpauth/core';
// Aliased for the augmentation below: inside `namespace Express` the bare name `AuthInfo` would
// resolve to `Express.AuthInfo`, which @types/passport declares (empty) in the same namespace.
type HttpAuthInfo = AuthInfo;
import {
  applySuccessHeaders,
  createBodyLoader,
  disposeWhenDone,
  resolveAdapterOptionsFrom,
  resolveAuthenticator,
  sendChallenge,
  toAuthRequest,
  type AdapterOptions,
  type BodyLoader,
} from '@httpauth/core/node';
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

export type { AdapterOptions } from '@httpauth/core/node';
export type { AuthInfo } from '@httpauth/core';

/** Authenticator options and adapter options in one object. */
export interface HttpAuthOptions extends AuthenticatorOptions, AdapterOptions {}

export type HttpAuthMiddleware = RequestHandler & {
  /** The authenticator behind the middleware (close it on shutdown when you built it from options). */
  readonly authenticator: Authenticator;
};

/**
 * The middleware: requests without valid credentials get the challenge (401, or 407 in proxy
 * mode) or an error response here; the rest continue with `req.auth` set.
 *
 * @param source an Authenticator from createAuthenticator(), or options to build one
 * @param adapterOptions trustProxy / integrityBody / maxDrainBytes (override those in `source`)
 */
export function httpAuth(
  source: Authenticator | HttpAuthOptions,
  adapterOptions?: AdapterOptions,
): HttpAuthMiddleware {
  const options = resolveAdapterOptionsFrom(source, adapterOptions);
  const { authenticator } = resolveAuthenticator(source);

  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    const body: BodyLoader | undefined =
      options.integrityBodyMaxBytes > 0
        ? createBodyLoader(req, req, options.integrityBodyMaxBytes)
        : undefined;
    // originalUrl: the request-target as received, even when the middleware is mounted on a path.
    const request = toAuthRequest(req, options, body, req.originalUrl);
    authenticator
      .authenticate(request)
      .then((decision) => {
        if (decision.type === 'respond') {
          sendChallenge(req, res, decision, options, body);
          return;
        }
        applySuccessHeaders(res, decision.headers);
        disposeWhenDone(res, decision.auth);
        req.auth = decision.auth;
        if (body?.body !== undefined) req.rawBody = body.body;
        next();
      })
      .catch(next);
  };
  return Object.assign(middleware, { authenticator });
}

export default httpAuth;

export { authorize } from './authorize.js';
