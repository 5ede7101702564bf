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

export const CHANNEL_SUCCESS = 'httpauth:success';
export const CHANNEL_FAILURE = 'httpauth:failure';
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

export interface SuccessEvent extends RequestFacts {
  readonly mechanism: string;
  readonly scheme: string;
  readonly name: string;
  /** True when a persisted connection authentication or a session answered, without a handshake. */
  readonly reused: boolean;
}

export interface FailureEvent extends RequestFacts {
  readonly scheme: string | undefined;
  readonly code: ErrorCode;
  readonly status: number;
  /** The precise cause when the source gave one (a DC's NTSTATUS name); never sent to the client. */
  readonly reason?: string;
  /** What the mechanism saw (see HttpAuthError.detail), including the attempted user name. */
  readonly detail?: Readonly<Record<string, string | number | boolean>>;
}

export interface ChallengeEvent extends RequestFacts {
  readonly scheme: string | undefined;
  /** 'initial' (no credentials), 'continue' (a handshake leg). */
  readonly step: 'initial' | 'continue';
}

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
