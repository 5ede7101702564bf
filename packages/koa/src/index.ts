/**
 * @httpauth/koa: httpauth as Koa middleware (Koa 3, and 2).
 *
 *   app.use(httpAuth({ packages: [digest({ realm, credentials })] }));
 *   app.use((ctx) => { ctx.body = ctx.state.auth.principal; });
 *
 * Everything protocol-related happens in @httpauth/core; this file only maps a Koa context
 * onto the engine and the decision back onto the context.
 */
import type { AuthDecision, Authenticator } from '@httpauth/core';
import { HttpAuthError } from '@httpauth/core';
import {
  anonymousHeaders,
  authenticateAndLogNow,
  challengeResponse,
  createBodyLoader,
  disposeWhenDone,
  drainRequestBody,
  isAuthenticator,
  isPromiseLike,
  keepsConnection,
  passesAnonymously,
  refusalError,
  resetForHttp11,
  resolveAdapterOptionsFrom,
  resolveAuthenticator,
  resolveSeams,
  toAuthRequest,
  type BodyLoader,
} from '@httpauth/core/adapter';
import type { Context, Middleware } from 'koa';
import type {
  HttpAuthMiddleware,
  HttpAuthOptions,
  HttpAuthState,
  KoaAdapterOptions,
  KoaSeamOptions,
} from './types.js';

export type { AdapterOptions, RefusalError } from '@httpauth/core/adapter';
export type { AuthInfo } from '@httpauth/core';
export type {
  HttpAuthMiddleware,
  HttpAuthOptions,
  HttpAuthState,
  KoaAdapterOptions,
  KoaSeamOptions,
} from './types.js';

const SEAM_KEYS = ['unless', 'optional', 'property', 'onRefused', 'passErrors'] as const;

function invalid(): never {
  throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
}

/** Seam options given separately override those given inline (like the adapter options). */
function seamsFrom(source: Authenticator | HttpAuthOptions, override: KoaAdapterOptions = {}) {
  const inline: KoaSeamOptions =
    typeof source === 'object' && source !== null && !isAuthenticator(source) ? source : {};
  const merged: Record<string, unknown> = {};
  for (const key of SEAM_KEYS) {
    const value = override[key] ?? inline[key];
    if (value !== undefined) merged[key] = value;
  }
  const { onRefused, passErrors, ...rest } = merged as KoaSeamOptions;
  const seams = resolveSeams<Context>(rest);
  if (onRefused !== undefined && typeof onRefused !== 'function') invalid();
  if (passErrors !== undefined && typeof passErrors !== 'boolean') invalid();
  // Two ways to say what to do with a refusal: one must be chosen.
  if (onRefused !== undefined && passErrors === true) invalid();
  return { seams, onRefused, passErrors: passErrors === true };
}

/**
 * The middleware: requests without valid credentials get the challenge (401, or 407 in proxy
 * mode) or an error response here; the rest continue with `ctx.state.auth` set.
 */
export function httpAuth(
  source: Authenticator | HttpAuthOptions,
  adapterOptions?: KoaAdapterOptions,
): HttpAuthMiddleware {
  const options = resolveAdapterOptionsFrom(source, adapterOptions);
  const { seams, onRefused, passErrors } = seamsFrom(source, adapterOptions);
  const { authenticator } = resolveAuthenticator(source);

  /** A refusal, a challenge or an anonymous pass onto the context. */
  const respond = async (
    ctx: Parameters<Middleware<HttpAuthState>>[0],
    next: () => Promise<unknown>,
    body: BodyLoader | undefined,
    decision: AuthDecision & { type: 'respond' },
  ): Promise<void> => {
    if (passesAnonymously(decision, seams)) {
      for (const [name, value] of anonymousHeaders(decision)) ctx.append(name, value);
      await next();
      return;
    }
    if (resetForHttp11(ctx.req, decision)) {
      // NTLM on an HTTP/2 stream: the stream is reset with HTTP_1_1_REQUIRED, nothing is sent.
      ctx.respond = false;
      return;
    }
    const response = challengeResponse(ctx.req, decision, options, body);
    drainRequestBody(ctx.req, ctx.res, response, options, keepsConnection(decision));
    if (passErrors) throw refusalError(decision, response);
    ctx.status = response.status;
    if (onRefused === undefined) ctx.body = response.body;
    for (const [name, values] of response.headers) {
      if (name === 'content-type' && onRefused !== undefined) continue;
      ctx.set(name, values.length === 1 ? (values[0] as string) : [...values]);
    }
    if (onRefused !== undefined) await onRefused(refusalError(decision, response), ctx);
  };

  /** The decision onto the context: on to the next middleware, or answered here. */
  const answer = (
    ctx: Parameters<Middleware<HttpAuthState>>[0],
    next: () => Promise<unknown>,
    body: BodyLoader | undefined,
    decision: AuthDecision,
  ): Promise<unknown> => {
    if (decision.type === 'respond') return respond(ctx, next, body, decision);
    for (const [name, value] of decision.headers) ctx.append(name, value);
    // The error callback is only made when there is something to dispose of.
    if (decision.auth.impersonation.needsDispose !== false) {
      disposeWhenDone(ctx.res, decision.auth, (error) => ctx.app.emit('error', error, ctx));
    }
    if (seams.property === 'auth') ctx.state.auth = decision.auth;
    else (ctx.state as unknown as Record<string, unknown>)[seams.property] = decision.auth;
    if (body?.body !== undefined) ctx.state.rawBody = body.body;
    return next();
  };

  // Not an async function: a request on a connection that stays authenticated is decided
  // synchronously (authenticateAndLogNow) and hands Koa next()'s promise, with none of its own.
  // Koa's dispatcher turns what this throws into a rejection, as for an async middleware.
  const middleware: Middleware<HttpAuthState> = (ctx, next) => {
    if (seams.unless?.(ctx) === true) return next();
    const body: BodyLoader | undefined =
      options.integrityBodyMaxBytes > 0
        ? createBodyLoader(ctx.req, ctx.req, options.integrityBodyMaxBytes)
        : undefined;
    // originalUrl: the request-target as received, even under a mounted sub-app.
    const pending = authenticateAndLogNow(
      authenticator,
      toAuthRequest(ctx.req, options, body, ctx.originalUrl),
      options,
    );
    return isPromiseLike(pending)
      ? pending.then((decision) => answer(ctx, next, body, decision))
      : answer(ctx, next, body, pending);
  };
  return Object.assign(middleware, { authenticator });
}

export default httpAuth;

export { authorize } from './authorize.js';
