/**
 * Which SIDs of a verified PAC count for authorization, as a Windows resource server builds a
 * token from KERB_VALIDATION_INFO (MS-PAC §2.5) and as a trusting domain filters a PAC that
 * crossed a trust (MS-PAC §4.1.2.2 "SID Filtering and Claims Transformation"; MS-KILE §3.3.5.7.6).
 *
 * Rules for every PAC:
 *  1. A group counts only when its attributes (MS-PAC §2.2.1 GROUP_MEMBERSHIP, §2.2.1
 *     KERB_SID_AND_ATTRIBUTES) have SE_GROUP_ENABLED and not SE_GROUP_USE_FOR_DENY_ONLY: a
 *     disabled or deny-only group grants nothing in a Windows token either.
 *  2. ExtraSids count only when UserFlags has LOGON_EXTRA_SIDS (0x20), and ResourceGroupIds only
 *     when UserFlags has LOGON_RESOURCE_GROUPS (0x200) (MS-PAC §2.5 UserFlags D and H): the flags
 *     say which of the optional arrays the KDC meant to fill.
 *
 * Rules for a PAC of a client from a realm that is not one of ours (a trust), following the
 * quarantined trust boundary of MS-PAC §4.1.2.2 (only SIDs the trusted domain itself can vouch
 * for pass), which is the strictest of its boundaries and the one a server that does not know the
 * trust's attributes must assume:
 *  3. LogonDomainId must be an account domain SID (S-1-5-21-x-y-z); otherwise no SID counts.
 *  4. The user SID, the primary group and each group, extra SID and resource group counts only
 *     when it is LogonDomainId plus one RID: well-known SIDs (S-1-5-32-*, S-1-5-9, S-1-18-*, …),
 *     SIDs of other domains (SID history, ours included) and resource groups of another domain are
 *     dropped.
 *  5. The UPN_DNS_INFO SID is used only under the same rule (and only with a LOGON_INFO to name
 *     the domain).
 */
import type { KerbValidationInfo } from './logon-info.js';

/** MS-PAC §2.2.1 / MS-DTYP §2.4.4.1 group attributes. */
export const SE_GROUP_ENABLED = 0x00000004;
export const SE_GROUP_USE_FOR_DENY_ONLY = 0x00000010;
/** MS-PAC §2.5 UserFlags. */
export const LOGON_EXTRA_SIDS = 0x00000020;
export const LOGON_RESOURCE_GROUPS = 0x00000200;

const ACCOUNT_DOMAIN_SID = /^S-1-5-21(-\d+){3}$/;

export interface EffectiveSids {
  readonly userSid: string | undefined;
  readonly primaryGroupSid: string | undefined;
  readonly groupSids: readonly string[];
}

function grants(attributes: number): boolean {
  return (attributes & SE_GROUP_ENABLED) !== 0 && (attributes & SE_GROUP_USE_FOR_DENY_ONLY) === 0;
}

/** Is `sid` exactly `domainSid` plus one RID? */
export function inDomain(sid: string, domainSid: string): boolean {
  if (!sid.toUpperCase().startsWith(`${domainSid.toUpperCase()}-`)) return false;
  return /^\d+$/.test(sid.slice(domainSid.length + 1));
}

/**
 * The SIDs to put on the principal. `trusted` is true for a client of one of our local realms
 * (rules 1-2), false for any other realm (rules 1-5). `upnSid` is the UPN_DNS_INFO SID.
 */
export function effectiveSids(
  logon: KerbValidationInfo | undefined,
  upnSid: string | undefined,
  trusted: boolean,
): EffectiveSids {
  if (logon === undefined) {
    return { userSid: trusted ? upnSid : undefined, primaryGroupSid: undefined, groupSids: [] };
  }
  const domain = logon.logonDomainId;
  const foreignDomainOk = domain !== undefined && ACCOUNT_DOMAIN_SID.test(domain);
  const keep = (sid: string | undefined): sid is string =>
    sid !== undefined && (trusted || (foreignDomainOk && inDomain(sid, domain)));
  const groupSids: string[] = [];
  const add = (sid: string | undefined, attributes: number): void => {
    if (keep(sid) && grants(attributes) && !groupSids.includes(sid)) groupSids.push(sid);
  };
  if (domain !== undefined) {
    for (const group of logon.groupIds) add(`${domain}-${group.relativeId}`, group.attributes);
  }
  if ((logon.userFlags & LOGON_EXTRA_SIDS) !== 0) {
    for (const extra of logon.extraSids) add(extra.sid, extra.attributes);
  }
  const resourceDomain = logon.resourceGroupDomainSid;
  if ((logon.userFlags & LOGON_RESOURCE_GROUPS) !== 0 && resourceDomain !== undefined) {
    for (const group of logon.resourceGroupIds) {
      add(`${resourceDomain}-${group.relativeId}`, group.attributes);
    }
  }
  const userSid = keep(logon.userSid)
    ? logon.userSid
    : logon.userSid === undefined && keep(upnSid)
      ? upnSid
      : undefined;
  return {
    userSid,
    primaryGroupSid: keep(logon.primaryGroupSid) ? logon.primaryGroupSid : undefined,
    groupSids,
  };
}
