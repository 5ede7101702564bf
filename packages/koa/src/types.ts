/**
 * The types of the Koa adapter, apart from the middleware itself, so that `authorize.ts` can
 * name the state without importing the module that re-exports it (a type-only import cycle).
 */
import type { AuthenticatorOptions, AuthInfo, Authenticator } from '@httpauth/core';
import type { AdapterOptions, RefusalError, SeamOptions } from '@httpauth/core/adapter';
import type { Context, Middleware } from 'koa';

/** What the middleware adds to `ctx.state` (under another name with the `property` option). */
export interface HttpAuthState {
  /**
   * Who the client is: set on every request the middleware authenticates (absent on requests
   * let through by `unless`, or anonymously by `optional`).
   */
  auth: AuthInfo;
  /** The raw request body, when Digest auth-int had to read it (the stream is then consumed). */
  rawBody?: Buffer;
}

/** How to fit the middleware into an application (see the README). */
export interface KoaSeamOptions extends SeamOptions<Context> {
  /**
   * Shape the 401/403/503 response yourself: status and challenge headers are already set on
   * `ctx`; set `ctx.body` (or throw).
   */
  readonly onRefused?: (error: RefusalError, ctx: Context) => unknown;
  /**
   * Throw refusals to your error-handling middleware: an HttpAuthError with `status`, `expose`
   * and `headers` (the challenges), which Koa's own handler also honours.
   */
  readonly passErrors?: boolean;
}

/** Everything the middleware takes besides the authenticator options. */
export interface KoaAdapterOptions extends AdapterOptions, KoaSeamOptions {}

/** Authenticator options and adapter options in one object. */
export interface HttpAuthOptions extends AuthenticatorOptions, KoaAdapterOptions {}

/**
 * What `httpAuth` returns: a Koa middleware that sets `ctx.state.auth`, with the authenticator it
 * uses (close it on shutdown when you built it from options).
 */
export type HttpAuthMiddleware = Middleware<HttpAuthState> & {
  readonly authenticator: Authenticator;
};
