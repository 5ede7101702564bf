/**
 * The audit events, published in one place for every decision: success, failure or challenge,
 * each with the request facts an operator needs (client address, method, path, time taken) and,
 * on failure, the operator-only reason and detail the package attached to its error. Nothing a
 * client could use to guess a secret: no token, no query string, no header value.
 */
import { publishChallenge, publishFailure, publishSuccess, type RequestFacts } from '../events.js';
import type { AuthRequest } from '../security-package.js';
import type { AuthDecision } from './decision.js';

const MAX_PATH = 1024;

function requestFacts(request: AuthRequest, startedAt: number): RequestFacts {
  const query = request.target.indexOf('?');
  const path = query < 0 ? request.target : request.target.slice(0, query);
  const address = request.clientAddress ?? request.connection?.remoteAddress;
  return {
    ...(address === undefined ? {} : { clientAddress: address }),
    method: request.method,
    path: path.length > MAX_PATH ? path.slice(0, MAX_PATH) : path,
    durationMs: performance.now() - startedAt,
  };
}

export function publishDecision(
  decision: AuthDecision,
  request: AuthRequest,
  startedAt: number,
): void {
  const facts = requestFacts(request, startedAt);
  if (decision.type === 'authenticated') {
    const { principal } = decision.auth;
    publishSuccess({
      mechanism: principal.mechanism,
      scheme: decision.scheme,
      name: principal.name,
      reused: decision.reused,
      ...facts,
    });
    return;
  }
  const { error, scheme, status } = decision;
  if (error.code === 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED') {
    publishChallenge({ scheme, step: 'initial', ...facts });
  } else if (error.code === 'ERR_HTTPAUTH_HANDSHAKE_CONTINUE') {
    publishChallenge({ scheme, step: 'continue', ...facts });
  } else {
    publishFailure({
      scheme,
      code: error.code,
      status,
      ...(error.reason === undefined ? {} : { reason: error.reason }),
      ...(error.detail === undefined ? {} : { detail: error.detail }),
      ...facts,
    });
  }
}
