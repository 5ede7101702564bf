/**
 * The impersonation context attached to every authenticated request. Its level mirrors
 * SECURITY_IMPERSONATION_LEVEL: `identify` says who the client is; `impersonate` may act as the
 * user on this host (in child processes); `delegate` also holds the client's forwarded Kerberos
 * credentials. Without an impersonation policy every context is `identify`.
 *
 * The acting members (`spawn`, `execFile`, `access`, `credentialCache`) are optional in the type so
 * that hand-made contexts (tests, custom factories) stay valid; every context this package builds
 * (`identifyContext`, `createImpersonation`) has them, and below the level they need they throw
 * the policy's reason: ERR_HTTPAUTH_IMPERSONATION_UNMAPPED, _DENIED, _FAILED or
 * ERR_HTTPAUTH_USER_LOOKUP_FAILED. `actingContext()` narrows a context to the full interface.
 */
import type { ChildProcess } from 'node:child_process';
import type { ErrorCode } from '../errors.js';
import { fail } from '../errors.js';
import type { Principal } from '../principal.js';
import type { PosixIdentity } from './posix.js';
import type { DelegatedFetchInit } from './negotiate-fetch.js';
import type { ExecResult, ImpersonatedExecOptions, ImpersonatedSpawnOptions } from './run-as.js';

/**
 * How far the server may act as the client, after SECURITY_IMPERSONATION_LEVEL: `identify` (who the
 * client is), `impersonate` (run child processes as the mapped local user), `delegate` (also hold
 * the client's forwarded Kerberos credentials).
 */
export type ImpersonationLevel = 'identify' | 'impersonate' | 'delegate';

/** Why a context is below the level the client granted (shown in toJSON as `reason`). */
export type ImpersonationReason =
  | 'disabled'
  | 'unmapped'
  | 'lookup-failed'
  | 'system-account'
  | 'not-allowed'
  | 'server-unprivileged'
  | 'no-delegated-credential'
  | 'delegation-disabled'
  | 'ccache-failed';

const LEVEL_RANK: Record<ImpersonationLevel, number> = { identify: 0, impersonate: 1, delegate: 2 };

/** The lower of two levels. */
export function minLevel(a: ImpersonationLevel, b: ImpersonationLevel): ImpersonationLevel {
  return LEVEL_RANK[a] <= LEVEL_RANK[b] ? a : b;
}

export function levelAtLeast(level: ImpersonationLevel, wanted: ImpersonationLevel): boolean {
  return LEVEL_RANK[level] >= LEVEL_RANK[wanted];
}

/**
 * The impersonation context of an authenticated request (`auth.impersonation`): the level granted,
 * the local user and SIDs when known, and the members that act as the user (`spawn`, `execFile`,
 * `access`, `credentialCache`), which throw the policy's reason below the level they need. Adapters
 * call `dispose()` when the response ends.
 */
export interface ImpersonationContext {
  readonly level: ImpersonationLevel;
  readonly principal: Principal;
  /** The local user, when the principal mapped to one the policy allows (impersonate, delegate). */
  readonly posix?: PosixIdentity | undefined;
  /** Windows SID of the user and its group SIDs, when a PAC or a domain controller proved them. */
  readonly userSid?: string | undefined;
  readonly groupSids?: readonly string[] | undefined;
  /** True when the context holds the client's delegated Kerberos credentials (level delegate). */
  readonly delegated?: boolean;
  /**
   * False when dispose() has nothing to revert (an identify context): adapters then do not wait
   * for the end of the response to call it. Absent means it must be called.
   */
  readonly needsDispose?: boolean;
  /** Why the level is lower than what the client granted, if it is. */
  readonly reason?: ImpersonationReason | undefined;
  /**
   * Start a child process as the user (uid, gid, supplementary groups; environment not inherited;
   * KRB5CCNAME set at level delegate). Throws below level impersonate.
   */
  spawn?(
    command: string,
    args?: readonly string[],
    options?: ImpersonatedSpawnOptions,
  ): ChildProcess;
  /** Run a child process as the user to completion (rejects as child_process.execFile does). */
  execFile?(
    command: string,
    args?: readonly string[],
    options?: ImpersonatedExecOptions,
  ): Promise<ExecResult>;
  /** Could the user access `path` with `mode` (fs.constants R_OK|W_OK|X_OK or F_OK)? Asks the OS. */
  access?(path: string, mode?: number): Promise<boolean>;
  /** Path of the private ccache holding the delegated TGT (level delegate only). */
  credentialCache?(): string;
  /**
   * An HTTP request to a Kerberos-protected backend as the user (Negotiate, mutual authentication
   * required). Only at level delegate: with `constrainedDelegation` configured, a ticket from
   * S4U2Self + S4U2Proxy for an allowed SPN; else with the client's forwarded TGT, a ticket from
   * a TGS exchange at the user's realm.
   */
  fetch?(url: string | URL, init?: DelegatedFetchInit): Promise<Response>;
  /**
   * A private ccache (removed on dispose) holding the user's delegated ticket to `service`, for a
   * child process. Same conditions as `fetch`.
   */
  credentialCacheFor?(service: string): Promise<string>;
  /** The revert: releases delegated credentials and helper resources. Idempotent. */
  dispose(): Promise<void>;
  /** A JSON-friendly summary (the demo's /whoami uses it). */
  toJSON(): Record<string, unknown>;
}

/** An impersonation context with every acting member present. */
export type ActingContext = ImpersonationContext &
  Required<Pick<ImpersonationContext, 'spawn' | 'execFile' | 'access' | 'credentialCache'>>;

/** Narrow a context to `ActingContext`; a hand-made context without them is refused (DENIED). */
export function actingContext(context: ImpersonationContext): ActingContext {
  if (
    typeof context.spawn !== 'function' ||
    typeof context.execFile !== 'function' ||
    typeof context.access !== 'function' ||
    typeof context.credentialCache !== 'function'
  ) {
    fail('ERR_HTTPAUTH_IMPERSONATION_DENIED');
  }
  return context as ActingContext;
}

/** Members of an identify-level context that refuse to act, each with the policy's reason. */
export function refusingActions(
  code: ErrorCode,
): Pick<ActingContext, 'spawn' | 'execFile' | 'access' | 'credentialCache'> &
  Required<Pick<ImpersonationContext, 'fetch' | 'credentialCacheFor'>> {
  return {
    spawn: () => fail(code),
    execFile: () => Promise.reject(failure(code)),
    access: () => Promise.reject(failure(code)),
    credentialCache: () => fail(code),
    fetch: () => Promise.reject(failure(code)),
    credentialCacheFor: () => Promise.reject(failure(code)),
  };
}

function failure(code: ErrorCode): unknown {
  try {
    fail(code);
  } catch (error) {
    return error;
  }
}

/** What every identify-level context does: refuse to act, release nothing. */
const IDENTIFY_ACTIONS = refusingActions('ERR_HTTPAUTH_IMPERSONATION_DENIED');
const releaseNothing = async (): Promise<void> => {};
const identifyJson = (): Record<string, unknown> => ({ level: 'identify' });

/**
 * The identify-level context: who the client is, and nothing to release. Built for every
 * authenticated request without an impersonation policy, so its members are shared functions
 * rather than new closures each time.
 */
export function identifyContext(principal: Principal): ImpersonationContext {
  return {
    level: 'identify',
    principal,
    userSid: principal.userSid,
    groupSids: principal.groupSids,
    delegated: false,
    reason: 'disabled',
    needsDispose: false,
    spawn: IDENTIFY_ACTIONS.spawn,
    execFile: IDENTIFY_ACTIONS.execFile,
    access: IDENTIFY_ACTIONS.access,
    credentialCache: IDENTIFY_ACTIONS.credentialCache,
    dispose: releaseNothing,
    toJSON: identifyJson,
  };
}
