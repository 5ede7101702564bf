/**
 * `createImpersonation(policy)`: the impersonation policy as the authenticator's factory.
 *
 * Off unless configured (like Vista restricting impersonation to chosen services): without an
 * allowlist nobody is impersonated. For each authenticated principal:
 *
 *   granted  = delegate when the client forwarded a TGT, else impersonate
 *   policy   = identify when the principal does not map to a local user, the user is a system
 *              account (uid 0 and group 0 always; uid < minUid unless listed in allowSystemUsers;
 *              deniedUsers / deniedGroups), or neither it nor one of its groups is allowlisted;
 *              else maxLevel
 *   level    = min(granted, policy)
 *
 * None of this fails a request: a principal that cannot be impersonated gets an identify-level
 * context whose acting members throw the reason (UNMAPPED, DENIED, USER_LOOKUP_FAILED, FAILED).
 */
import type { ChildProcess } from 'node:child_process';
import type { ErrorCode } from '../errors.js';
import { fail, HttpAuthError, isHttpAuthError } from '../errors.js';
import type { SecurityContextData } from '../security-package.js';
import type { Principal } from '../principal.js';
import { groupMatches, principalMatches } from '../authorization/principal-match.js';
import { CcacheDirectory } from './ccache-store.js';
import {
  clientEvidence,
  ConstrainedDelegation,
  type ConstrainedDelegationStatus,
} from './constrained-delegation.js';
import { delegationMembers, networkDelegateContext } from './delegation-members.js';
import { forwardedTgtMembers, forwardedTgtSettings } from './forwarded-fetch.js';
import { checkPolicy, type ImpersonationPolicy } from './policy-options.js';
import type { ImpersonationContext, ImpersonationLevel, ImpersonationReason } from './context.js';
import { levelAtLeast, minLevel, refusingActions } from './context.js';
import { formatPrincipalName } from '../kerberos/ccache.js';
import type { Ccache } from '../kerberos/ccache.js';
import { delegatedCcache } from './delegated.js';
import { createPrincipalMapper } from './mapping.js';
import type { PosixIdentity } from './posix.js';
import { systemUserDatabase } from './posix.js';
import type { RunAsSettings } from './run-as.js';
import { DEFAULT_RUN_AS, accessAs, execFileAs, spawnAs } from './run-as.js';

export type { ImpersonationAllowlist, ImpersonationPolicy } from './policy-options.js';

/** The factory for `createAuthenticator({ impersonation })`, with its resources. */
export interface ImpersonationFactoryWithResources {
  (principal: Principal, context: SecurityContextData | undefined): Promise<ImpersonationContext>;
  /** The ccache directory in use (created on first delegation). */
  readonly ccacheDirectory: string;
  /** Delegated ccaches currently on disk. */
  readonly liveCredentialCaches: number;
  /** Remove every ccache still on disk. */
  close(): Promise<void>;
  /** The S4U client when `constrainedDelegation` is configured (its caches, KDC request count). */
  readonly constrainedDelegation: ConstrainedDelegationStatus | undefined;
}

interface Decision {
  readonly level: ImpersonationLevel;
  readonly reason?: ImpersonationReason;
  /** The error acting members throw when the level is identify. */
  readonly refusal?: ErrorCode;
  readonly identity?: PosixIdentity;
}

/**
 * Builds the impersonation factory for `createAuthenticator({ impersonation })`: each authenticated
 * principal gets the lower of the level the client granted (delegate when it forwarded a TGT) and
 * the level the policy allows. It never fails a request: a principal that cannot be impersonated
 * gets an identify-level context. Throws `ERR_HTTPAUTH_INVALID_OPTIONS` on a bad policy (root is
 * never allowed).
 */
export function createImpersonation(
  policy: ImpersonationPolicy,
): ImpersonationFactoryWithResources {
  checkPolicy(policy);
  const maxLevel = policy.maxLevel ?? 'impersonate';
  const minUid = policy.minUid ?? 1000;
  const allowSystem = new Set(policy.allowSystemUsers ?? []);
  const deniedUsers = new Set(policy.deniedUsers ?? ['nobody']);
  const deniedGroupNames = new Set(
    (policy.deniedGroups ?? []).filter((g): g is string => typeof g === 'string'),
  );
  const deniedGroupIds = new Set(
    (policy.deniedGroups ?? []).filter((g): g is number => typeof g === 'number'),
  );
  const allow = policy.allow ?? {};
  const mapper = createPrincipalMapper(policy.mapping);
  const database = policy.userDatabase ?? systemUserDatabase(policy.lookup);
  const settings: RunAsSettings = { ...DEFAULT_RUN_AS, ...policy.runAs };
  let directory: CcacheDirectory | undefined;
  const directoryPath = policy.ccacheDirectory;
  const ccacheDirectory = (): CcacheDirectory => {
    directory ??= new CcacheDirectory(directoryPath);
    return directory;
  };
  // Stale files from an earlier run go at start-up, not at the first delegation.
  if (levelAtLeast(maxLevel, 'delegate')) ccacheDirectory();
  const constrained =
    policy.constrainedDelegation === undefined
      ? undefined
      : new ConstrainedDelegation(policy.constrainedDelegation);
  // Checked at start-up; one KDC sender for every context with a forwarded TGT.
  const forwardedSettings =
    constrained === undefined && levelAtLeast(maxLevel, 'delegate')
      ? forwardedTgtSettings(policy.forwardedTgt)
      : undefined;

  /** Without a local user, only the principal's own groups (PAC SIDs, source names) count. */
  function allowed(principal: Principal, identity: PosixIdentity | undefined): boolean {
    if (allow.anyUser === true) return true;
    if ((allow.principals ?? []).some((entry) => principalMatches(principal, entry))) return true;
    return (allow.groups ?? []).some((entry) =>
      groupMatches(principal, identity?.groupNames ?? [], entry),
    );
  }

  function systemAccount(identity: PosixIdentity): boolean {
    // Root and the root group are never impersonated, whatever the lists say.
    if (identity.uid === 0 || identity.gid === 0 || identity.groups.includes(0)) return true;
    if (deniedUsers.has(identity.user)) return true;
    if (identity.groups.some((gid) => deniedGroupIds.has(gid))) return true;
    if (identity.groupNames.some((name) => deniedGroupNames.has(name))) return true;
    return identity.uid < minUid && !allowSystem.has(identity.user);
  }

  async function decide(principal: Principal): Promise<Decision> {
    if (maxLevel === 'identify') {
      return {
        level: 'identify',
        reason: 'disabled',
        refusal: 'ERR_HTTPAUTH_IMPERSONATION_DENIED',
      };
    }
    const local = mapper(principal);
    if (local === undefined) {
      return {
        level: 'identify',
        reason: 'unmapped',
        refusal: 'ERR_HTTPAUTH_IMPERSONATION_UNMAPPED',
      };
    }
    let identity: PosixIdentity | undefined;
    try {
      identity = await database.lookup(local);
    } catch (error) {
      const code = isHttpAuthError(error) ? error.code : 'ERR_HTTPAUTH_USER_LOOKUP_FAILED';
      return { level: 'identify', reason: 'lookup-failed', refusal: code };
    }
    // The database must answer for exactly the name asked: NSS back ends that fold case (SSSD with
    // case_sensitive = false, winbind) would otherwise make 'Alice' and 'ALICE' the local 'alice'.
    if (identity === undefined || identity.user !== local) {
      return {
        level: 'identify',
        reason: 'unmapped',
        refusal: 'ERR_HTTPAUTH_IMPERSONATION_UNMAPPED',
      };
    }
    if (systemAccount(identity)) {
      return {
        level: 'identify',
        reason: 'system-account',
        refusal: 'ERR_HTTPAUTH_IMPERSONATION_DENIED',
      };
    }
    if (!allowed(principal, identity)) {
      return {
        level: 'identify',
        reason: 'not-allowed',
        refusal: 'ERR_HTTPAUTH_IMPERSONATION_DENIED',
      };
    }
    const self = process.getuid?.();
    if (self !== 0 && self !== identity.uid) {
      // Without root, setpriv cannot switch to another user: do not claim a level we cannot honour.
      return {
        level: 'identify',
        reason: 'server-unprivileged',
        refusal: 'ERR_HTTPAUTH_IMPERSONATION_FAILED',
      };
    }
    return { level: maxLevel, identity };
  }

  const factory = async (
    principal: Principal,
    context: SecurityContextData | undefined,
  ): Promise<ImpersonationContext> => {
    const decision = await decide(principal);
    const base = {
      principal,
      userSid: principal.userSid,
      groupSids: principal.groupSids,
    };
    if (decision.identity === undefined) {
      const reason = decision.reason;
      const network =
        constrained !== undefined &&
        policy.constrainedDelegation?.localUser === 'optional' &&
        allowed(principal, undefined)
          ? networkDelegateContext({
              principal,
              clientTicket: clientEvidence(context),
              reason,
              refusal: decision.refusal ?? 'ERR_HTTPAUTH_IMPERSONATION_DENIED',
              delegation: constrained,
              writeCcache: (cache) => ccacheDirectory().write(cache, undefined),
              removeCcache: (path) => ccacheDirectory().remove(path),
            })
          : undefined;
      if (network !== undefined) return network;
      return {
        ...base,
        level: 'identify',
        delegated: false,
        reason,
        needsDispose: false,
        ...refusingActions(decision.refusal ?? 'ERR_HTTPAUTH_IMPERSONATION_DENIED'),
        dispose: async () => {},
        toJSON: () => ({ level: 'identify', reason }),
      };
    }
    const identity = decision.identity;
    const offered = delegatedCcache(context?.delegatedCredential);
    // The forwarded TGT must be the authenticated client's own (the acceptor checks it too).
    const ccache =
      offered !== undefined &&
      principal.mechanism === 'Kerberos' &&
      formatPrincipalName(offered.defaultPrincipal) === principal.name
        ? offered
        : undefined;
    // Constrained delegation grants delegate to every logon (protocol transition, MS-SFU).
    const granted: ImpersonationLevel =
      ccache === undefined && constrained === undefined ? 'impersonate' : 'delegate';
    let level = minLevel(granted, decision.level);
    let reason: ImpersonationReason | undefined =
      granted !== 'delegate' && decision.level === 'delegate'
        ? 'no-delegated-credential'
        : ccache !== undefined && decision.level !== 'delegate'
          ? 'delegation-disabled'
          : undefined;
    let ccachePath: string | undefined;
    if (level === 'delegate' && ccache !== undefined) {
      try {
        ccachePath = await ccacheDirectory().write(ccache, identity);
      } catch {
        level = 'impersonate';
        reason = 'ccache-failed';
      }
    }
    let disposed = false;
    const live = (): void => {
      if (disposed) fail('ERR_HTTPAUTH_IMPERSONATION_DENIED');
    };
    const delegatedCaches: string[] = [];
    const writeDelegatedCcache = async (cache: Ccache): Promise<string> => {
      const path = await ccacheDirectory().write(cache, identity);
      delegatedCaches.push(path);
      return path;
    };
    // Constrained delegation, when configured, rules every logon (its allowedServices); else a
    // forwarded TGT reaches backends itself (forwarded-fetch.ts).
    const forwarded =
      forwardedSettings !== undefined && level === 'delegate' && ccachePath !== undefined
        ? forwardedTgtMembers({
            ccache: ccache as Ccache,
            live,
            writeCcache: writeDelegatedCcache,
            settings: forwardedSettings,
          })
        : undefined;
    const members =
      forwarded ??
      (constrained !== undefined && level === 'delegate'
        ? delegationMembers({
            principal,
            clientTicket: clientEvidence(context),
            delegation: constrained,
            live,
            writeCcache: writeDelegatedCcache,
          })
        : refusingActions('ERR_HTTPAUTH_IMPERSONATION_DENIED'));
    const self: ImpersonationContext = {
      ...base,
      level,
      posix: identity,
      delegated: ccachePath !== undefined || (constrained !== undefined && level === 'delegate'),
      reason,
      fetch: members.fetch,
      credentialCacheFor: members.credentialCacheFor,
      spawn(command: string, args: readonly string[] = [], options = {}): ChildProcess {
        live();
        return spawnAs(identity, settings, ccachePath, command, args, options);
      },
      execFile(command: string, args: readonly string[] = [], options = {}) {
        try {
          live();
        } catch (error) {
          return Promise.reject(error);
        }
        return execFileAs(identity, settings, ccachePath, command, args, options);
      },
      access(path: string, mode?: number) {
        try {
          live();
          return accessAs(identity, settings, path, mode);
        } catch (error) {
          return Promise.reject(error);
        }
      },
      credentialCache() {
        live();
        if (ccachePath === undefined) {
          fail(
            reason === 'ccache-failed'
              ? 'ERR_HTTPAUTH_IMPERSONATION_FAILED'
              : 'ERR_HTTPAUTH_IMPERSONATION_DENIED',
          );
        }
        return ccachePath;
      },
      async dispose() {
        if (disposed) return;
        disposed = true;
        const paths = ccachePath === undefined ? delegatedCaches : [ccachePath, ...delegatedCaches];
        if (directory !== undefined) {
          for (const path of paths) {
            try {
              await directory.remove(path);
            } catch (cause) {
              throw new HttpAuthError('ERR_HTTPAUTH_IMPERSONATION_FAILED', { cause });
            }
          }
        }
      },
      toJSON() {
        return {
          level,
          user: identity.user,
          uid: identity.uid,
          gid: identity.gid,
          groups: [...identity.groups],
          groupNames: [...identity.groupNames],
          delegated: ccachePath !== undefined,
          ...(reason === undefined ? {} : { reason }),
        };
      },
    };
    return self;
  };

  return Object.defineProperties(factory, {
    ccacheDirectory: { get: () => ccacheDirectory().path, enumerable: true },
    liveCredentialCaches: { get: () => directory?.size ?? 0, enumerable: true },
    constrainedDelegation: { value: constrained, enumerable: true },
    close: {
      value: async () => {
        await directory?.close();
      },
    },
  }) as ImpersonationFactoryWithResources;
}
