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
import { isPromiseLike } from './decision.js';

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

/**
 * The decision for an admitted request. A factory that answers at once (the default identify
 * context) gives the decision at once: no promise to wait for on every authenticated request.
 */
export function admit(
  makeImpersonation: ImpersonationFactory,
  admission: Admission,
): AuthDecision | Promise<AuthDecision> {
  const made = makeImpersonation(admission.principal, admission.context);
  return isPromiseLike(made)
    ? Promise.resolve(made).then((impersonation) => admitted(admission, impersonation))
    : admitted(admission, made);
}

function admitted(admission: Admission, impersonation: ImpersonationContext): AuthDecision {
  const { principal, context, headers, scheme, reused, session } = admission;
  const auth: AuthInfo =
    session === undefined
      ? { principal, impersonation, context }
      : { principal, impersonation, context, session };
  return { type: 'authenticated', scheme, reused, auth, headers };
}
