/**
 * The last phase of a Negotiate exchange: a mechanism completed (or refused) and the package
 * answers. The mechanism names the client as it knows it; here the site's name mapping
 * (name-mapping.ts, krb5.conf's auth_to_local for Kerberos) gives the `user`, and the persistence
 * options decide whether the connection stays authenticated (IIS's authPersistNonNTLM).
 */
import type { AcceptResult, SecurityContextData } from '../security-package.js';
import type { Principal } from '../principal.js';
import type { MechanismCompletion, MechanismStep } from '../mechanism.js';
import { parsePrincipal } from '../kerberos/messages/principal-name.js';
import type { NameMapper } from './name-mapping.js';

export interface CompletionPolicy {
  readonly names: NameMapper;
  /** Per mechanism: keep the connection authenticated after its logon (persistence.ts). */
  readonly persistOnConnection: { readonly kerberos: boolean; readonly ntlm: boolean };
}

/** The client's principal with the site's `user` for it. */
function mappedPrincipal(
  mechanism: 'kerberos' | 'ntlm',
  principal: Principal,
  names: NameMapper,
): Principal {
  if (mechanism === 'ntlm') {
    return { ...principal, user: names.mapNtlm(principal.user, principal.name) };
  }
  const { components, realm } = parsePrincipal(principal.name);
  const local = principal.localRealm === true;
  return { ...principal, user: names.mapKerberos(components, realm ?? '', principal.name, local) };
}

/**
 * The package's result for a completed mechanism. `token` is the whole answer for the client (a
 * NegTokenResp, or a raw mechanism token), `mechListMicVerified` whether both mechListMICs were
 * exchanged and the client's verified (RFC 4178 §5).
 */
export function completedResult(
  mechanism: 'kerberos' | 'ntlm',
  completion: MechanismCompletion,
  token: string | undefined,
  mechListMicVerified: boolean,
  policy: CompletionPolicy,
): AcceptResult {
  const context: SecurityContextData = mechListMicVerified
    ? { ...completion.contextData, mechListMicVerified: true }
    : completion.contextData;
  const persist = policy.persistOnConnection[mechanism];
  return {
    type: 'complete',
    principal: mappedPrincipal(mechanism, completion.principal, policy.names),
    context,
    ...(token === undefined ? {} : { token }),
    ...(persist ? { persist: true } : {}),
  };
}

/**
 * The package's result for a mechanism that refused the client. A token the client can act on
 * (a KRB-ERROR, RFC 4120 §3.1.6) goes back in the 401's Negotiate challenge, `wrap`ped in a
 * NegTokenResp under SPNEGO, raw otherwise.
 */
export function rejectedResult(
  step: MechanismStep & { type: 'reject' },
  wrap: ((token: Buffer) => string) | undefined,
): AcceptResult {
  if (step.token === undefined) return { type: 'reject', error: step.error };
  const token = wrap === undefined ? step.token.toString('base64') : wrap(step.token);
  return { type: 'reject', error: step.error, challenges: [`Negotiate ${token}`] };
}
