/**
 * `fastify.httpAuth`: httpauth as an auth function for @fastify/auth, next to other strategies.
 *
 *   await app.register(fastifyAuth);
 *   await app.register(httpAuth, { packages, decorate: true });
 *   app.get('/data', { preHandler: app.auth([app.httpAuth, verifyJWT]) }, handler);
 *
 * @fastify/auth calls each function and, when all fail (`or`) or one fails (`and`), ends the
 * request with the last error, keeping a status of 400 or more already set on the reply (else
 * 401). So a refusal here sets its status and its headers on the reply before it throws: the
 * challenge (and, during NTLM or Negotiate, the next handshake leg in WWW-Authenticate) reaches
 * the client whatever strategy ran after it. When another strategy then succeeds, the onSend
 * hook takes the challenge headers off again: a 200 should not carry an offer to authenticate.
 */
import type { Authenticator } from '@httpauth/core';
import {
  anonymousHeaders,
  authenticateAndLog,
  groupHeaders,
  passesAnonymously,
  refusalError,
  toAuthRequest,
  type ResolvedAdapterOptions,
  type ResolvedSeams,
} from '@httpauth/core/adapter';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { applyAuthenticated } from './authenticated.js';

/** The challenge headers a refusal put on a reply, by request. */
const offered = new WeakMap<FastifyRequest, readonly string[]>();

export function decorateHttpAuth(
  fastify: FastifyInstance,
  authenticator: Authenticator,
  adapter: ResolvedAdapterOptions,
  seams: ResolvedSeams<FastifyRequest>,
): void {
  const property = seams.property;
  async function httpAuthFunction(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    // No body loader: as a preHandler the body is already parsed, so auth-int cannot be offered.
    const decision = await authenticateAndLog(
      authenticator,
      toAuthRequest(request.raw, adapter, undefined, request.raw.url),
      adapter,
      request.log,
    );
    if (decision.type === 'authenticated') {
      applyAuthenticated(request, reply, decision, property);
      return;
    }
    if (passesAnonymously(decision, seams)) {
      for (const [name, value] of anonymousHeaders(decision)) reply.header(name, value);
      return;
    }
    const headers = groupHeaders(decision.headers);
    for (const [name, values] of headers) {
      reply.header(name, values.length === 1 ? values[0] : [...values]);
    }
    offered.set(request, [...headers.keys()]);
    reply.code(decision.status);
    throw refusalError(decision);
  }

  fastify.decorate('httpAuth', httpAuthFunction);
  fastify.addHook('onSend', async (request, reply) => {
    const names = offered.get(request);
    if (names === undefined || reply.statusCode >= 400) return;
    // Another strategy let the request through after this one refused it.
    for (const name of names) reply.removeHeader(name);
  });
}
