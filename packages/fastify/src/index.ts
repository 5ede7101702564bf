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
import type { AuthenticatorOptions, AuthInfo, Authenticator } from '@httpauth/core';
import { HttpAuthError } from '@httpauth/core';
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
  type ResolvedAdapterOptions,
} from '@httpauth/core/node';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the client is; null on routes that opted out with `config: { httpauth: false }`. */
    auth: AuthInfo | null;
  }
  interface FastifyContextConfig {
    /** `false` turns authentication off for this route (health checks, public assets). */
    httpauth?: boolean;
  }
}

export type { AdapterOptions } from '@httpauth/core/node';
export type { AuthInfo } from '@httpauth/core';

/**
 * Either `authenticator` (a ready one from createAuthenticator) or the authenticator options
 * (`packages`, `proxy`, ...), plus the adapter options.
 */
export interface HttpAuthPluginOptions extends Partial<AuthenticatorOptions>, AdapterOptions {
  readonly authenticator?: Authenticator;
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
  // A second registration in a child context shares the parent's decorator.
  if (!fastify.hasRequestDecorator('auth')) fastify.decorateRequest('auth', null);
  if (owned) fastify.addHook('onClose', async () => authenticator.close());

  /** Runs the challenge loop; answers the request and returns false when it may not go on. */
  async function authenticate(
    request: FastifyRequest,
    reply: FastifyReply,
    body: BodyLoader | undefined,
  ): Promise<boolean> {
    const decision = await authenticator.authenticate(
      toAuthRequest(request.raw, adapter, body, request.raw.url),
    );
    if (decision.type === 'respond') {
      const response = challengeResponse(request.raw, decision, adapter, body);
      for (const [name, values] of response.headers) {
        reply.header(name, values.length === 1 ? values[0] : [...values]);
      }
      drainRequestBody(request.raw, reply.raw, response, adapter, keepsConnection(decision));
      reply.code(response.status).send(response.body);
      return false;
    }
    for (const [name, value] of decision.headers) {
      const existing = reply.getHeader(name);
      reply.header(
        name,
        existing === undefined
          ? value
          : [...(Array.isArray(existing) ? existing : [existing]), value],
      );
    }
    disposeWhenDone(reply.raw, decision.auth, (error) =>
      request.log.warn({ err: error }, 'httpauth dispose failed'),
    );
    request.auth = decision.auth;
    return true;
  }

  const optedOut = (request: FastifyRequest): boolean =>
    request.routeOptions.config?.httpauth === false;

  if (adapter.integrityBodyMaxBytes === 0) {
    fastify.addHook('onRequest', async (request, reply) => {
      if (optedOut(request)) return;
      if (!(await authenticate(request, reply, undefined))) return reply;
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
