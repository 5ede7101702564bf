/**
 * @httpauth/fastify: httpauth as a Fastify 5 plugin.
 *
 *   await app.register(httpAuth, { packages: [digest({ realm, credentials })] });
 *   app.get('/whoami', async (request) => request.auth?.principal);
 *   app.get('/health', { config: { httpauth: false } }, async () => 'ok');
 *
 * Authentication runs in an onRequest hook, before the body is read. With `integrityBody` (for
 * Digest qop=auth-int) it runs in a preParsing hook instead: the payload is buffered (with a
 * cap) only when a client answers with auth-int, and the buffered bytes are handed on to
 * Fastify's content-type parsers, so `request.body` works as usual.
 */
import { Readable } from 'node:stream';
import type { AuthDecision, AuthenticatorOptions, AuthInfo, Authenticator } from '@httpauth/core';
import { HttpAuthError } from '@httpauth/core';
import {
  anonymousHeaders,
  authenticateAndLog,
  authenticateAndLogNow,
  challengeResponse,
  createBodyLoader,
  drainRequestBody,
  isPromiseLike,
  keepsConnection,
  passesAnonymously,
  refusalError,
  resetForHttp11,
  resolveAdapterOptionsFrom,
  resolveAuthenticator,
  resolveSeams,
  toAuthRequest,
  type AdapterOptions,
  type BodyLoader,
  type RefusalError,
  type ResolvedAdapterOptions,
  type SeamOptions,
} from '@httpauth/core/adapter';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { applyAuthenticated } from './authenticated.js';
import { decorateHttpAuth } from './decorator.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the client is; null on routes that opted out with `config: { httpauth: false }`. */
    auth: AuthInfo | null;
  }
  interface FastifyContextConfig {
    /** `false` turns authentication off for this route (health checks, public assets). */
    httpauth?: boolean;
  }
  interface FastifyInstance {
    /**
     * With `decorate: true`: authenticates the request for @fastify/auth (or as a preHandler);
     * throws an HttpAuthError with `statusCode` and the challenge `headers` when it may not go on.
     */
    httpAuth: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
}

export type { AdapterOptions, RefusalError } from '@httpauth/core/adapter';
export type { AuthInfo } from '@httpauth/core';

/** How to fit the plugin into an application (see the README); the same names as Express/Koa. */
export interface FastifySeamOptions extends SeamOptions<FastifyRequest> {
  /**
   * Shape the 401/403/503 response yourself: status and challenge headers are already set on
   * the reply; send a body (if you do not, the default JSON body is sent).
   */
  readonly onRefused?: (
    error: RefusalError,
    request: FastifyRequest,
    reply: FastifyReply,
  ) => unknown;
  /** Throw refusals to the error handler: an HttpAuthError with `statusCode` and `headers`. */
  readonly passErrors?: boolean;
  /**
   * Add no hook; decorate `fastify.httpAuth`, an auth function for @fastify/auth (or a route's
   * preHandler), so routes choose how to authenticate.
   */
  readonly decorate?: boolean;
}

/**
 * Either `authenticator` (a ready one from createAuthenticator) or the authenticator options
 * (`packages`, `proxy`, ...), plus the adapter options.
 */
export interface HttpAuthPluginOptions
  extends Partial<AuthenticatorOptions>, AdapterOptions, FastifySeamOptions {
  readonly authenticator?: Authenticator;
}

function invalid(): never {
  throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
}

function seamsFrom(options: FastifySeamOptions) {
  const { unless, optional, property, onRefused, passErrors, decorate } = options;
  const seams = resolveSeams<FastifyRequest>({ unless, optional, property });
  if (onRefused !== undefined && typeof onRefused !== 'function') invalid();
  if (passErrors !== undefined && typeof passErrors !== 'boolean') invalid();
  if (decorate !== undefined && typeof decorate !== 'boolean') invalid();
  // Two ways to say what to do with a refusal: one must be chosen.
  if (onRefused !== undefined && passErrors === true) invalid();
  // The decorator always throws its refusals (@fastify/auth's contract) and routes choose where
  // it runs: a hook or a predicate given with it would be silently ignored.
  if (decorate === true && (onRefused !== undefined || unless !== undefined)) invalid();
  return { seams, onRefused, passErrors: passErrors === true, decorate: decorate === true };
}

function setupFrom(options: HttpAuthPluginOptions): {
  authenticator: Authenticator;
  owned: boolean;
  adapter: ResolvedAdapterOptions;
} {
  if (typeof options !== 'object' || options === null) {
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const { authenticator: given, ...rest } = options;
  if (given !== undefined && rest.packages !== undefined) {
    // One or the other: packages next to a ready authenticator would be silently ignored.
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const adapter = resolveAdapterOptionsFrom(rest as AuthenticatorOptions & AdapterOptions);
  const { authenticator, owned } = resolveAuthenticator(
    given ?? (rest as AuthenticatorOptions & AdapterOptions),
  );
  return { authenticator, owned, adapter };
}

const plugin: FastifyPluginAsync<HttpAuthPluginOptions> = async (fastify, options) => {
  const { authenticator, owned, adapter } = setupFrom(options);
  const { seams, onRefused, passErrors, decorate } = seamsFrom(options);
  const property = seams.property;
  // As a preHandler the body is already parsed: there is nothing left to hash for auth-int.
  if (decorate && adapter.integrityBodyMaxBytes > 0) {
    if (owned) await authenticator.close();
    invalid();
  }
  // A second registration in a child context shares the parent's decorator.
  if (!fastify.hasRequestDecorator(property)) fastify.decorateRequest(property, null);
  if (owned) fastify.addHook('onClose', async () => authenticator.close());
  if (decorate) {
    decorateHttpAuth(fastify, authenticator, adapter, seams);
    return;
  }

  /** Runs the challenge loop; answers the request and returns false when it may not go on. */
  async function authenticate(
    request: FastifyRequest,
    reply: FastifyReply,
    body: BodyLoader | undefined,
  ): Promise<boolean> {
    // Fastify's own request logger unless a `logger` (or `logger: false`) was given.
    const decision = await authenticateAndLog(
      authenticator,
      toAuthRequest(request.raw, adapter, body, request.raw.url),
      adapter,
      request.log,
    );
    return answer(request, reply, body, decision);
  }

  /** The decision onto the reply; false when the request may not go on (answered here). */
  async function answer(
    request: FastifyRequest,
    reply: FastifyReply,
    body: BodyLoader | undefined,
    decision: AuthDecision,
  ): Promise<boolean> {
    if (decision.type === 'respond') {
      if (passesAnonymously(decision, seams)) {
        for (const [name, value] of anonymousHeaders(decision)) reply.header(name, value);
        return true;
      }
      if (resetForHttp11(request.raw, decision)) {
        // NTLM on an HTTP/2 stream: the stream is reset with HTTP_1_1_REQUIRED, nothing is sent.
        reply.hijack();
        return false;
      }
      const response = challengeResponse(request.raw, decision, adapter, body);
      for (const [name, values] of response.headers) {
        reply.header(name, values.length === 1 ? values[0] : [...values]);
      }
      drainRequestBody(request.raw, reply.raw, response, adapter, keepsConnection(decision));
      if (passErrors) throw refusalError(decision, response);
      reply.code(response.status);
      if (onRefused !== undefined) {
        reply.removeHeader('content-type');
        await onRefused(refusalError(decision, response), request, reply);
        // A hook that sent nothing must not leave the request hanging.
        if (reply.sent) return false;
        reply.header('content-type', 'application/json; charset=utf-8');
      }
      reply.send(response.body);
      return false;
    }
    applyAuthenticated(request, reply, decision, property);
    return true;
  }

  const optedOut = (request: FastifyRequest): boolean =>
    request.routeOptions.config?.httpauth === false || seams.unless?.(request) === true;

  if (adapter.integrityBodyMaxBytes === 0) {
    // A callback hook, not an async one: a request on a connection that stays authenticated (a
    // kept NTLM connection, a kept certificate logon) is decided synchronously
    // (authenticateAndLogNow) and goes on at once, with no promise in between. Anything else
    // waits for its decision; a request answered here (a challenge, a refusal) never calls done.
    fastify.addHook('onRequest', (request, reply, done) => {
      let pending: AuthDecision | Promise<AuthDecision>;
      try {
        if (optedOut(request)) {
          done();
          return;
        }
        pending = authenticateAndLogNow(
          authenticator,
          toAuthRequest(request.raw, adapter, undefined, request.raw.url),
          adapter,
          request.log,
        );
        if (!isPromiseLike(pending) && pending.type === 'authenticated') {
          applyAuthenticated(request, reply, pending, property);
        }
      } catch (error) {
        done(error as Error);
        return;
      }
      if (!isPromiseLike(pending) && pending.type === 'authenticated') {
        done();
        return;
      }
      Promise.resolve(pending)
        .then((decision) => answer(request, reply, undefined, decision))
        .then(
          (goOn) => {
            if (goOn) done();
          },
          (error: unknown) => done(error as Error),
        );
    });
    return;
  }

  fastify.addHook('preParsing', async (request, reply, payload) => {
    if (optedOut(request)) return payload;
    const body = createBodyLoader(request.raw, payload, adapter.integrityBodyMaxBytes);
    if (!(await authenticate(request, reply, body))) return reply;
    if (!body.started || body.body === undefined) return payload;
    // The package consumed the payload: give Fastify's parsers the same bytes again.
    const replay = Readable.from([body.body]) as Readable & { receivedEncodedLength?: number };
    replay.receivedEncodedLength = body.body.length;
    return replay;
  });
};

/** The Fastify plugin: `app.register(httpAuth, options)`. */
export const httpAuth = fp(plugin, { name: '@httpauth/fastify', fastify: '5.x' });

export default httpAuth;

export { authorize, httpAuthAuthorization } from './authorize.js';
