/**
 * Authorization rules over an authenticated request: require a user, a group (name or SID), a
 * realm or a mechanism. A rule's `check(auth)` returns normally or throws ERR_HTTPAUTH_FORBIDDEN
 * (kind `forbidden`: adapters answer 403, never a new challenge: the client proved who it is,
 * and asking again would not change the answer, RFC 9110 §15.5.4).
 *
 *   const rule = allOf(requireRealm('EXAMPLE.TEST'), anyOf(requireGroup('S-1-5-21-…-512'),
 *                                                          requireUser('alice@EXAMPLE.TEST')));
 *   rule.check(req.auth);
 *
 * Matching:
 *  - users: `principal.name` (Kerberos names exactly, realm included; NTLM `DOMAIN\user`, Digest
 *    and Basic names case-insensitively, as Windows and most htdigest users expect); a SID
 *    (`S-1-…`) against the user's SID; `upn:alice@example.com` against the PAC's UPN, only when
 *    the rule says `upn:` (a bare `alice@example.com` is a Kerberos name, never a UPN). UPNs
 *    compare case-insensitively (AD does), and only a UPN the acceptor verified counts: not
 *    constructed by the KDC (MS-PAC §2.10) and in the client's own realm;
 *  - groups: a SID against the PAC's group SIDs (and the primary group SID); a name against the
 *    names the credential source gave (`principal.groups`) and the POSIX group names of the
 *    mapped local user when an impersonation policy resolved one; names case-insensitively;
 *  - realms: Kerberos realms exactly, NTLM domains and Digest/Basic realms case-insensitively;
 *    mechanisms: exactly ('Kerberos', 'NTLM', 'Digest', 'Basic', …).
 */
import { fail } from '../errors.js';
import type { ImpersonationContext } from '../impersonation/context.js';
import type { Mechanism, Principal } from '../principal.js';
import { groupMatches, principalMatches, sameFolded } from './principal-match.js';

/** What a rule looks at: `req.auth` / `request.auth` / `ctx.state.auth`. */
export interface AuthorizationSubject {
  readonly principal: Principal;
  readonly impersonation?: ImpersonationContext | undefined;
}

/**
 * A rule built by `requireUser`, `requireGroup`, `requireRealm`, `requireMechanism`, `allOf` or
 * `anyOf`: `test` asks, `check` throws `ERR_HTTPAUTH_FORBIDDEN` (403) when the authenticated
 * request does not satisfy it. An unauthenticated subject never does.
 */
export interface AuthorizationRule {
  /** True when the subject satisfies the rule. */
  test(subject: AuthorizationSubject | undefined): boolean;
  /** Throws ERR_HTTPAUTH_FORBIDDEN unless the subject satisfies the rule. */
  check(subject: AuthorizationSubject | undefined): void;
}

function rule(test: (subject: AuthorizationSubject) => boolean): AuthorizationRule {
  const guarded = (subject: AuthorizationSubject | undefined): boolean =>
    subject !== undefined && subject !== null && subject.principal !== undefined && test(subject);
  return {
    test: guarded,
    check(subject) {
      if (!guarded(subject)) fail('ERR_HTTPAUTH_FORBIDDEN');
    },
  };
}

function nonEmptyStrings(values: readonly string[]): readonly string[] {
  if (values.length === 0 || values.some((v) => typeof v !== 'string' || v === '')) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  return values;
}

/** The principal is one of these users (names, `upn:` UPNs or SIDs). */
export function requireUser(...users: string[]): AuthorizationRule {
  const list = nonEmptyStrings(users);
  return rule(({ principal }) => list.some((entry) => principalMatches(principal, entry)));
}

/** The principal belongs to at least one of these groups (names or SIDs). */
export function requireGroup(...groups: string[]): AuthorizationRule {
  const list = nonEmptyStrings(groups);
  return rule(({ principal, impersonation }) =>
    list.some((entry) => groupMatches(principal, impersonation?.posix?.groupNames, entry)),
  );
}

/**
 * The principal's realm (Kerberos realm, NTLM domain, Digest/Basic realm) is one of these.
 * Kerberos realms compare exactly (they are case-sensitive: `example.test` can be another realm
 * the KDC trusts); NTLM domains and Digest/Basic realms case-insensitively.
 */
export function requireRealm(...realms: string[]): AuthorizationRule {
  const list = nonEmptyStrings(realms);
  return rule(({ principal }) => {
    const actual = principal.realm;
    if (actual === undefined) return false;
    return list.some((realm) =>
      principal.mechanism === 'Kerberos' ? realm === actual : sameFolded(realm, actual),
    );
  });
}

/** The request was authenticated by one of these mechanisms. */
export function requireMechanism(...mechanisms: Mechanism[]): AuthorizationRule {
  const list = nonEmptyStrings(mechanisms);
  return rule(({ principal }) => list.includes(principal.mechanism));
}

/** Every rule holds. */
export function allOf(...rules: AuthorizationRule[]): AuthorizationRule {
  if (rules.length === 0) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  return rule((subject) => rules.every((r) => r.test(subject)));
}

/** At least one rule holds. */
export function anyOf(...rules: AuthorizationRule[]): AuthorizationRule {
  if (rules.length === 0) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  return rule((subject) => rules.some((r) => r.test(subject)));
}

/** A custom predicate as a rule (a throw inside it counts as "no"). */
export function requireThat(
  predicate: (subject: AuthorizationSubject) => boolean,
): AuthorizationRule {
  if (typeof predicate !== 'function') fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  return rule((subject) => {
    try {
      return predicate(subject) === true;
    } catch {
      return false;
    }
  });
}

/** Combine rules given to a middleware factory: none is an options error, several mean allOf. */
export function combineRules(rules: readonly AuthorizationRule[]): AuthorizationRule {
  if (rules.length === 0) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  for (const r of rules) {
    if (r === null || typeof r !== 'object' || typeof r.check !== 'function') {
      fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    }
  }
  return rules.length === 1 ? (rules[0] as AuthorizationRule) : allOf(...rules);
}
