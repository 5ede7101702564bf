/**
 * The audit events, published in one place for every decision: success, failure or challenge,
 * each with the request facts an operator needs (client address, method, path, time taken) and,
 * on failure, the operator-only reason and detail the package attached to its error. Nothing a
 * client could use to guess a secret: no token, no query string, no header value.
 */
import {
  hasDecisionSubscribers,
  hasEventSubscribers,
  publishChallenge,
  publishFailure,
  publishSuccess,
  type ChallengeEvent,
  type FailureEvent,
  type RequestFacts,
  type SuccessEvent,
} from '../events.js';
import type { AuthRequest } from '../security-package.js';
import type { AuthDecision } from './decision.js';

const MAX_PATH = 1024;

function requestFacts(request: AuthRequest, durationMs: number): RequestFacts {
  const query = request.target.indexOf('?');
  const path = query < 0 ? request.target : request.target.slice(0, query);
  const address = request.clientAddress ?? request.connection?.remoteAddress;
  return {
    ...(address === undefined ? {} : { clientAddress: address }),
    method: request.method,
    path: path.length > MAX_PATH ? path.slice(0, MAX_PATH) : path,
    durationMs,
  };
}

/** The event a decision makes, without publishing it: the adapters' logger writes the same. */
export type DecisionEvent =
  | { readonly type: 'success'; readonly event: SuccessEvent }
  | { readonly type: 'failure'; readonly event: FailureEvent }
  | { readonly type: 'challenge'; readonly event: ChallengeEvent };

/** Which event a decision makes: the one place that tells a challenge from a refusal. */
export function decisionKind(decision: AuthDecision): DecisionEvent['type'] {
  if (decision.type === 'authenticated') return 'success';
  const { code } = decision.error;
  return code === 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED' || code === 'ERR_HTTPAUTH_HANDSHAKE_CONTINUE'
    ? 'challenge'
    : 'failure';
}

export function decisionEvent(
  decision: AuthDecision,
  request: AuthRequest,
  durationMs: number,
): DecisionEvent {
  const facts = requestFacts(request, durationMs);
  if (decision.type === 'authenticated') {
    const { principal } = decision.auth;
    return {
      type: 'success',
      event: {
        mechanism: principal.mechanism,
        scheme: decision.scheme,
        name: principal.name,
        reused: decision.reused,
        ...facts,
      },
    };
  }
  const { error, scheme, status } = decision;
  if (decisionKind(decision) === 'challenge') {
    const step = error.code === 'ERR_HTTPAUTH_HANDSHAKE_CONTINUE' ? 'continue' : 'initial';
    return { type: 'challenge', event: { scheme, step, ...facts } };
  }
  return {
    type: 'failure',
    event: {
      scheme,
      code: error.code,
      status,
      ...(error.reason === undefined ? {} : { reason: error.reason }),
      ...(error.detail === undefined ? {} : { detail: error.detail }),
      ...facts,
    },
  };
}

/**
 * When a decision started, for its event's `durationMs`: NaN when nobody listens for decisions,
 * so a request without metrics or audit reads no clock for it.
 */
export function decisionStart(): number {
  return hasDecisionSubscribers() ? performance.now() : Number.NaN;
}

export function publishDecision(
  decision: AuthDecision,
  request: AuthRequest,
  startedAt: number,
): void {
  // Nobody listening (the common case without metrics or audit): no event is built at all.
  if (!hasEventSubscribers(decisionKind(decision))) return;
  // A subscriber that came while this request was decided has no start to measure from: 0.
  const durationMs = Number.isNaN(startedAt) ? 0 : performance.now() - startedAt;
  const made = decisionEvent(decision, request, durationMs);
  if (made.type === 'success') publishSuccess(made.event);
  else if (made.type === 'failure') publishFailure(made.event);
  else publishChallenge(made.event);
}
