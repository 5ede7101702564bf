/**
 * The Principal of a verified NTLM logon: the account as the verifier names it (a domain
 * controller spells the user and domain its way), else as the client sent it.
 */
import type { Principal } from '../principal.js';
import type { NtlmLogonResult } from './verifier.js';

export function logonPrincipal(
  logon: NtlmLogonResult,
  claimedUser: string,
  workstation: string,
  configured: { readonly netbios: string; readonly dns: string },
  channelBound: boolean,
): Principal {
  const user = logon.user ?? claimedUser;
  const domain = logon.domain ?? configured.netbios.toUpperCase();
  // Only the configured domain's accounts go by their bare name: CHILD\alice, from a domain
  // the DC trusts, is not alice (NetBIOS and DNS domain names compare case-insensitively).
  const localRealm = [configured.netbios, configured.dns].some(
    (name) => name.toUpperCase() === domain.toUpperCase(),
  );
  const name = `${domain}\\${user}`;
  const principal: Principal = {
    name,
    user: localRealm ? user : name,
    realm: domain,
    localRealm,
    mechanism: 'NTLM',
    ...(workstation === '' ? {} : { workstation: workstation }),
    ...(logon.userSid === undefined ? {} : { userSid: logon.userSid }),
    ...(logon.groupSids === undefined ? {} : { groupSids: [...logon.groupSids] }),
    ...(logon.groups === undefined ? {} : { groups: [...logon.groups] }),
    ...(logon.upn === undefined ? {} : { upn: logon.upn }),
    ...(logon.dnsDomain === undefined ? {} : { dnsDomain: logon.dnsDomain }),
    ...(logon.logonInfo === undefined ? {} : { logonInfo: logon.logonInfo }),
    channelBound,
  };
  return principal;
}
