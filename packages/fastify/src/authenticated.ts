/** What the hook and the @fastify/auth decorator do alike with a request that got through. */
import type { AuthDecision } from '@httpauth/core';
import { disposeWhenDone } from '@httpauth/core/adapter';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Success headers (mutual-authentication token, Authentication-Info, a session cookie) added to
 * the reply, the impersonation context disposed of when the response is over, and the identity
 * set as `request[property]`.
 */
export function applyAuthenticated(
  request: FastifyRequest,
  reply: FastifyReply,
  decision: AuthDecision & { type: 'authenticated' },
  property: string,
): void {
  for (const [name, value] of decision.headers) {
    const existing = reply.getHeader(name);
    reply.header(
      name,
      existing === undefined
        ? value
        : [...(Array.isArray(existing) ? existing : [existing]), value],
    );
  }
  // An identify context (Digest, Basic, a kept NTLM connection) has nothing to revert: no
  // listener and no closure per request for it (disposeWhenDone checks the same flag).
  if (decision.auth.impersonation.needsDispose !== false) {
    disposeWhenDone(reply.raw, decision.auth, (error) =>
      request.log.warn({ err: error }, 'httpauth dispose failed'),
    );
  }
  (request as unknown as Record<string, unknown>)[property] = decision.auth;
}
