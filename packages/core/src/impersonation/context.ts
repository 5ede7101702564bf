/**
 * The impersonation context attached to every authenticated request. Its level mirrors
 * SECURITY_IMPERSONATION_LEVEL: `identify` says who the client is; `impersonate` may act as the
 * user on this host (in child processes); `delegate` also holds the client's forwarded Kerberos
 * credentials. Without an impersonation policy every context is `identify`.
 */
import type { Principal } from '../principal.js';

export type ImpersonationLevel = 'identify' | 'impersonate' | 'delegate';

export interface ImpersonationContext {
  readonly level: ImpersonationLevel;
  readonly principal: Principal;
  /** The revert: releases delegated credentials and helper resources. Idempotent. */
  dispose(): Promise<void>;
  /** A JSON-friendly summary (the demo's /whoami uses it). */
  toJSON(): Record<string, unknown>;
}

/** The identify-level context: who the client is, and nothing to release. */
export function identifyContext(principal: Principal): ImpersonationContext {
  return {
    level: 'identify',
    principal,
    dispose: async () => {},
    toJSON: () => ({ level: 'identify' }),
  };
}
