/**
 * Does an entry of a rule or an allowlist name this principal, or a group it belongs to? One
 * matching for the authorization rules (authorization.ts) and the impersonation allowlist
 * (impersonation/policy.ts), in a module of its own so neither imports the other.
 *
 *  - users: `principal.name` (Kerberos names exactly, realm included; NTLM `DOMAIN\user`, Digest
 *    and Basic names case-insensitively); a SID (`S-1-…`) against the user's SID;
 *    `upn:alice@example.com` against a UPN the acceptor verified (MS-PAC §2.10), only when the
 *    entry says `upn:`;
 *  - groups: a SID against the PAC's group SIDs and primary group SID; a name against the
 *    source's group names and the mapped POSIX user's groups, case-insensitively.
 */
import type { Principal } from '../principal.js';

function isSid(value: string): boolean {
  return /^S-1-[0-9]+(-[0-9]+)*$/i.test(value);
}

/** The prefix that makes a user entry a UPN: `upn:alice@example.com`. */
export const UPN_PREFIX = 'upn:';

/**
 * The principal's UPN when it may identify it: a Kerberos principal whose UPN's domain is its
 * realm. The acceptor only sets verified UPNs; this check keeps hand-built principals honest.
 */
function trustedUpn(principal: Principal): string | undefined {
  const upn = principal.upn;
  if (principal.mechanism !== 'Kerberos' || upn === undefined || principal.realm === undefined) {
    return undefined;
  }
  const at = upn.lastIndexOf('@');
  return at > 0 && sameFolded(upn.slice(at + 1), principal.realm) ? upn : undefined;
}

/** Does `entry` (a principal name, `upn:` UPN or SID) name this principal? */
export function principalMatches(principal: Principal, entry: string): boolean {
  if (isSid(entry)) {
    return (
      principal.userSid !== undefined && principal.userSid.toUpperCase() === entry.toUpperCase()
    );
  }
  if (entry.toLowerCase().startsWith(UPN_PREFIX)) {
    const upn = trustedUpn(principal);
    return upn !== undefined && sameFolded(upn, entry.slice(UPN_PREFIX.length));
  }
  return principal.mechanism === 'Kerberos'
    ? principal.name === entry
    : sameFolded(principal.name, entry);
}

/** Is the subject a member of `entry` (a group SID or a group name)? */
export function groupMatches(
  principal: Principal,
  posixGroupNames: readonly string[] | undefined,
  entry: string,
): boolean {
  if (isSid(entry)) {
    const wanted = entry.toUpperCase();
    return (
      (principal.groupSids ?? []).some((sid) => sid.toUpperCase() === wanted) ||
      principal.logonInfo?.primaryGroupSid?.toUpperCase() === wanted
    );
  }
  return (
    (principal.groups ?? []).some((name) => sameFolded(name, entry)) ||
    (posixGroupNames ?? []).some((name) => sameFolded(name, entry))
  );
}

/** Equal ignoring case, as AD, NTLM domains and most htdigest users compare names. */
export function sameFolded(a: string, b: string): boolean {
  return a.length === b.length && a.toLowerCase() === b.toLowerCase();
}
