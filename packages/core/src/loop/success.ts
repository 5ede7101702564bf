/**
 * The success phase, shared by every way a request gets through (a completed handshake, a
 * connection that stays authenticated, a session cookie): names for the principal's SIDs, its
 * impersonation context. The loop's entry publishes the success event.
 */
import type { PrincipalDirectory } from '../directory/resolver.js';
import type { ImpersonationContext } from '../impersonation/context.js';
import type { Principal } from '../principal.js';
import type { SecurityContextData } from '../security-package.js';
import type { AuthDecision, AuthInfo, Header } from './decision.js';

/** Builds the impersonation context for an authenticated principal (the impersonation policy). */
export type ImpersonationFactory = (
  principal: Principal,
  context: SecurityContextData | undefined,
) => Promise<ImpersonationContext> | ImpersonationContext;

/**
 * The principal with names for its SIDs, when a directory is configured. A directory that cannot
 * answer leaves the SIDs alone: naming is a convenience, never a reason to refuse a logon.
 */
export async function withNames(
  directory: PrincipalDirectory | undefined,
  principal: Principal,
): Promise<Principal> {
  if (directory === undefined) return principal;
  try {
    return await directory.resolvePrincipal(principal);
  } catch {
    return principal;
  }
}

/** How a request got through. */
export interface Admission {
  readonly principal: Principal;
  readonly context: SecurityContextData | undefined;
  readonly headers: Header[];
  readonly scheme: string;
  /** True when no handshake ran (a persisted connection or a session cookie answered). */
  readonly reused: boolean;
  readonly session?: AuthInfo['session'];
}

export async function admit(
  makeImpersonation: ImpersonationFactory,
  admission: Admission,
): Promise<AuthDecision> {
  const { principal, context, headers, scheme, reused, session } = admission;
  const impersonation = await makeImpersonation(principal, context);
  const auth: AuthInfo =
    session === undefined
      ? { principal, impersonation, context }
      : { principal, impersonation, context, session };
  return { type: 'authenticated', scheme, reused, auth, headers };
}
