/**
 * Audit and metrics events through node:diagnostics_channel. Subscribers get the outcome, the
 * mechanism, the principal name on success and the stable error code on failure: never a token,
 * a password, a nonce or a session key.
 *
 *   import { subscribe } from 'node:diagnostics_channel';
 *   subscribe('httpauth:failure', (event) => log.warn(event));
 */
import { channel } from 'node:diagnostics_channel';
import type { ErrorCode } from './errors.js';

/**
 * The diagnostics channel that publishes a {@link SuccessEvent} for every authenticated request.
 */
export const CHANNEL_SUCCESS = 'httpauth:success';
/** The diagnostics channel that publishes a {@link FailureEvent} for every refused request. */
export const CHANNEL_FAILURE = 'httpauth:failure';
/** The diagnostics channel that publishes a {@link ChallengeEvent} for every challenge sent. */
export const CHANNEL_CHALLENGE = 'httpauth:challenge';
/** Something degraded without failing a request (a directory that cannot name SIDs). */
export const CHANNEL_WARNING = 'httpauth:warning';

/** Where and when: on every success, failure and challenge event. */
export interface RequestFacts {
  /** The client's address (behind a trusted proxy, the one the proxy reported). */
  readonly clientAddress?: string;
  readonly method?: string;
  /** The request path, without the query (which may carry secrets), at most 1024 characters. */
  readonly path?: string;
  /** Milliseconds from the request reaching the authenticator to its decision. */
  readonly durationMs?: number;
}

/**
 * Published on `httpauth:success`: the mechanism, the scheme, the principal name, whether no
 * handshake ran, and the request facts.
 */
export interface SuccessEvent extends RequestFacts {
  readonly mechanism: string;
  readonly scheme: string;
  readonly name: string;
  /** True when a persisted connection authentication or a session answered, without a handshake. */
  readonly reused: boolean;
}

/**
 * Published on `httpauth:failure`: the stable error code and status, and for the operator only the
 * precise reason and the detail the mechanism saw (never a credential).
 */
export interface FailureEvent extends RequestFacts {
  readonly scheme: string | undefined;
  readonly code: ErrorCode;
  readonly status: number;
  /** The precise cause when the source gave one (a DC's NTSTATUS name); never sent to the client. */
  readonly reason?: string;
  /** What the mechanism saw (see HttpAuthError.detail), including the attempted user name. */
  readonly detail?: Readonly<Record<string, string | number | boolean>>;
}

/** Published on `httpauth:challenge`: a first challenge or the next leg of a handshake. */
export interface ChallengeEvent extends RequestFacts {
  readonly scheme: string | undefined;
  /** 'initial' (no credentials), 'continue' (a handshake leg). */
  readonly step: 'initial' | 'continue';
}

/**
 * Published on `httpauth:warning`: something degraded without failing a request (a directory that
 * cannot name SIDs, winbind without SIDs, a certificate accepted under `failOpen`).
 */
export interface WarningEvent {
  readonly code: ErrorCode;
  /**
   * What degraded: 'directory' (SID names), 'winbind', 'certificate-revocation' (accepted under
   * failOpen), 'certificate-fall-through' (a refused certificate, the other packages ran).
   */
  readonly source: string;
  /** How many SIDs were left without a name. */
  readonly unresolved?: number;
}

const success = channel(CHANNEL_SUCCESS);
const failure = channel(CHANNEL_FAILURE);
const challenge = channel(CHANNEL_CHALLENGE);
const warning = channel(CHANNEL_WARNING);

/** Whether anyone listens on a channel: events are only built when someone will read them. */
export function hasEventSubscribers(kind: 'success' | 'failure' | 'challenge'): boolean {
  const target = kind === 'success' ? success : kind === 'failure' ? failure : challenge;
  return target.hasSubscribers;
}

/**
 * Whether anyone listens for decisions at all: the loop reads the clock for an event's
 * `durationMs` only then (a clock read is a measurable share of a kept-alive request).
 */
export function hasDecisionSubscribers(): boolean {
  return success.hasSubscribers || failure.hasSubscribers || challenge.hasSubscribers;
}

export function publishSuccess(event: SuccessEvent): void {
  if (success.hasSubscribers) success.publish(event);
}

export function publishFailure(event: FailureEvent): void {
  if (failure.hasSubscribers) failure.publish(event);
}

export function publishChallenge(event: ChallengeEvent): void {
  if (challenge.hasSubscribers) challenge.publish(event);
}

export function publishWarning(event: WarningEvent): void {
  if (warning.hasSubscribers) warning.publish(event);
}
