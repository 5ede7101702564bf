/**
 * @httpauth/koa: httpauth as Koa middleware (Koa 3, and 2).
 *
 *   app.use(httpAuth({ packages: [digest({ realm, credentials })] }));
 *   app.use((ctx) => { ctx.body = ctx.state.auth.principal; });
 *
 * Everything protocol-related happens in @httpauth/core; this file only maps a Koa context
 * onto the engine and the decision back onto the context.
 */
import type { AuthenticatorOptions, AuthInfo, Authenticator } from '@httpauth/core';
import {
  challengeResponse,
  createBodyLoader,
  disposeWhenDone,
  drainRequestBody,
  keepsConnection,
  resolveAdapterOptionsFrom,
  resolveAuthenticator,
  toAuthRequest,
  type AdapterOptions,
  type BodyLoader,
} from '@httpauth/core/node';
import type { Middleware } from 'koa';

export type { AdapterOptions } from '@httpauth/core/node';
export type { AuthInfo } from '@httpauth/core';

/** What the middleware adds to `ctx.state`. */
export interface HttpAuthState {
  /** Who the client is: set on every request the middleware lets through. */
  auth: AuthInfo;
  /** The raw request body, when Digest auth-int had to read it (the stream is then consumed). */
  rawBody?: Buffer;
}

/** Authenticator options and adapter options in one object. */
export interface HttpAuthOptions extends AuthenticatorOptions, AdapterOptions {}

export type HttpAuthMiddleware = Middleware<HttpAuthState> & {
  readonly authenticator: Authenticator;
};

/**
 * The middleware: requests without valid credentials get the challenge (401, or 407 in proxy
 * mode) or an error response here; the rest continue with `ctx.state.auth` set.
 */
export function httpAuth(
  source: Authenticator | HttpAuthOptions,
  adapterOptions?: AdapterOptions,
): HttpAuthMiddleware {
  const options = resolveAdapterOptionsFrom(source, adapterOptions);
  const { authenticator } = resolveAuthenticator(source);

  const middleware: Middleware<HttpAuthState> = async (ctx, next) => {
    const body: BodyLoader | undefined =
      options.integrityBodyMaxBytes > 0
        ? createBodyLoader(ctx.req, ctx.req, options.integrityBodyMaxBytes)
        : undefined;
    // originalUrl: the request-target as received, even under a mounted sub-app.
    const decision = await authenticator.authenticate(
      toAuthRequest(ctx.req, options, body, ctx.originalUrl),
    );
    if (decision.type === 'respond') {
      const response = challengeResponse(ctx.req, decision, options, body);
      ctx.status = response.status;
      ctx.body = response.body;
      for (const [name, values] of response.headers) {
        ctx.set(name, values.length === 1 ? (values[0] as string) : [...values]);
      }
      drainRequestBody(ctx.req, ctx.res, response, options, keepsConnection(decision));
      return;
    }
    for (const [name, value] of decision.headers) ctx.append(name, value);
    disposeWhenDone(ctx.res, decision.auth, (error) => ctx.app.emit('error', error, ctx));
    ctx.state.auth = decision.auth;
    if (body?.body !== undefined) ctx.state.rawBody = body.body;
    await next();
  };
  return Object.assign(middleware, { authenticator });
}

export default httpAuth;

export { authorize } from './authorize.js';
