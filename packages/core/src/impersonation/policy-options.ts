/**
 * The checks `createImpersonation(policy)` makes of its policy before anything else (policy.ts):
 * levels, uids and lists of the right types, never root, and delegation asked for twice.
 */
import { fail } from '../errors.js';
import type { ImpersonationLevel } from './context.js';
import type { ConstrainedDelegationOptions } from './constrained-delegation.js';
import type { ForwardedTgtOptions } from './forwarded-fetch.js';
import type { PrincipalMappingOptions } from './mapping.js';
import type { SystemUserDatabaseOptions, UserDatabase } from './posix.js';
import type { RunAsSettings } from './run-as.js';

const LEVELS: readonly ImpersonationLevel[] = ['identify', 'impersonate', 'delegate'];

/**
 * Who may be impersonated (`policy.allow`): listed principals, members of listed groups, or every
 * principal that maps to a non-system local user.
 */
export interface ImpersonationAllowlist {
  /** Principal names (`alice@EXAMPLE.TEST`, `EXAMPLE\alice`), UPNs or user SIDs. */
  readonly principals?: readonly string[];
  /** Group SIDs (from the PAC) or group names (credential source or the local user's groups). */
  readonly groups?: readonly string[];
  /**
   * Every principal that maps to a non-system local user (the demo's HTTPAUTH_IMPERSONATE=1); with
   * constrainedDelegation's `localUser: 'optional'`, also every principal without one, for the
   * network only.
   */
  readonly anyUser?: boolean;
}

/**
 * The policy of {@link createImpersonation}: who may be impersonated and up to which level, which
 * local accounts never are, and how principals map to local users. Without `allow` every context is
 * `identify`.
 */
export interface ImpersonationPolicy {
  /** Highest level granted (default 'impersonate'; delegation must be asked for). */
  readonly maxLevel?: ImpersonationLevel;
  /** Who may be impersonated. Without it nobody is: every context is identify. */
  readonly allow?: ImpersonationAllowlist;
  /** Local users below this uid are system accounts and never impersonated (default 1000). */
  readonly minUid?: number;
  /** Local system accounts (uid < minUid) that may be impersonated anyway. Never root. */
  readonly allowSystemUsers?: readonly string[];
  /** Local users never impersonated (default ['nobody']). */
  readonly deniedUsers?: readonly string[];
  /** Local users in any of these groups (names or gids) are never impersonated. */
  readonly deniedGroups?: readonly (string | number)[];
  /**
   * Principal -> local user mapping (default: `DEFAULT`, which strips the realm of a principal
   * of a local realm only; see mapping.ts).
   */
  readonly mapping?: PrincipalMappingOptions;
  /** User database (default: NSS through getent/id, cached with `lookup`'s TTLs). */
  readonly userDatabase?: UserDatabase;
  readonly lookup?: SystemUserDatabaseOptions;
  /** Directory for delegated credential caches (default: per-uid under os.tmpdir()). */
  readonly ccacheDirectory?: string;
  /** Child-process settings: setpriv and test(1) paths, PATH, no_new_privs. */
  readonly runAs?: Partial<RunAsSettings>;
  /**
   * Constrained delegation (S4U2Self + S4U2Proxy, docs/delegation.md): users the policy lets
   * impersonate reach level delegate whatever they logged on with, and their context's `fetch()`
   * and `credentialCacheFor()` call the allowed backends as them. Needs maxLevel 'delegate'.
   */
  readonly constrainedDelegation?: ConstrainedDelegationOptions;
  /**
   * A client's forwarded TGT at level delegate (without constrainedDelegation): which backends
   * its `fetch()` and `credentialCacheFor()` may get tickets for (`allowedServices`, default any
   * service of the user's realm, never krbtgt/...) and how the realm's KDCs are reached.
   */
  readonly forwardedTgt?: ForwardedTgtOptions;
}

/** Refuses an impersonation policy that is not well-formed (ERR_HTTPAUTH_INVALID_OPTIONS). */
export function checkPolicy(policy: ImpersonationPolicy): void {
  if (policy === null || typeof policy !== 'object') fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  if (policy.maxLevel !== undefined && !LEVELS.includes(policy.maxLevel)) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  if (
    policy.minUid !== undefined &&
    (!Number.isInteger(policy.minUid) || policy.minUid < 1 || policy.minUid > 0xfffffffe)
  ) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const allow = policy.allow;
  for (const list of [
    allow?.principals,
    allow?.groups,
    policy.allowSystemUsers,
    policy.deniedUsers,
  ]) {
    if (list !== undefined && (!Array.isArray(list) || list.some((v) => typeof v !== 'string'))) {
      fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    }
  }
  if (policy.allowSystemUsers?.includes('root')) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  // Delegation must be asked for twice: the S4U configuration alone does not raise the level.
  if (policy.constrainedDelegation !== undefined && policy.maxLevel !== 'delegate') {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  // forwardedTgt narrows what a forwarded TGT reaches; with constrainedDelegation no forwarded TGT
  // is used for backends, so its allow list would silently mean nothing.
  if (
    policy.forwardedTgt !== undefined &&
    (policy.maxLevel !== 'delegate' || policy.constrainedDelegation !== undefined)
  ) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
}
