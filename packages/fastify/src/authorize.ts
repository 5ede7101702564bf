/**
 * Authorization for Fastify: a preHandler, and a route option.
 *
 *   await app.register(httpAuth, { packages });
 *   app.get('/admin', { preHandler: authorize(requireGroup('S-1-5-21-…-512')) }, handler);
 *
 *   await app.register(httpAuthAuthorization); // once, before the routes
 *   app.get('/admin', { config: { authorize: requireRealm('EXAMPLE.TEST') } }, handler);
 *
 * A request whose `request.auth` does not satisfy the rules gets 403 with ERR_HTTPAUTH_FORBIDDEN
 * (not a new challenge: the client already proved who it is).
 */
import type { AuthorizationRule } from '@httpauth/core';
import { combineRules, errorBody, HttpAuthError } from '@httpauth/core';
import type {
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  preHandlerAsyncHookHandler,
} from 'fastify';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Rules this route requires (all of them), enforced by the httpAuthAuthorization plugin. */
    authorize?: AuthorizationRule | readonly AuthorizationRule[];
  }
}

/** A preHandler that lets the request through only when the rules hold. */
export function authorize(...rules: AuthorizationRule[]): preHandlerAsyncHookHandler {
  const rule = combineRules(rules);
  return async function authorizeRequest(request: FastifyRequest, reply: FastifyReply) {
    if (rule.test(request.auth ?? undefined)) return;
    await reply
      .code(403)
      .type('application/json; charset=utf-8')
      .send(errorBody(new HttpAuthError('ERR_HTTPAUTH_FORBIDDEN')));
  };
}

const authorizationPlugin: FastifyPluginAsync = async (fastify) => {
  fastify.addHook('onRoute', (route) => {
    const wanted = route.config?.authorize;
    if (wanted === undefined) return;
    const list = Array.isArray(wanted) ? [...wanted] : [wanted as AuthorizationRule];
    const check = authorize(...list);
    const existing = route.preHandler;
    // Authorization first: no other preHandler runs for a request that will be refused.
    route.preHandler =
      existing === undefined
        ? [check]
        : [check, ...(Array.isArray(existing) ? existing : [existing])];
  });
};

/** Enforces `config.authorize` on every route registered after it (in its scope and below). */
export const httpAuthAuthorization = fp(authorizationPlugin, {
  name: '@httpauth/fastify-authorization',
  fastify: '5.x',
});
