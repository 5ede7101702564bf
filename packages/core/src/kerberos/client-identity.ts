/**
 * What a decrypted ticket proves about its client: ticket sanity (times, transited realms), the
 * PAC (MS-PAC), and the Principal built from both.
 *
 *  - Times (RFC 4120 §5.3): authtime <= endtime and starttime <= endtime; KerberosTime values
 *    before 1970 or with impossible dates are refused by the decoder (asn1/der.ts).
 *  - Transited (RFC 4120 §3.3.3.2, §2.7): when the TRANSITED-POLICY-CHECKED flag is not set, the
 *    application server checks the transited field itself: an unchecked, non-empty path is
 *    refused unless every realm on it is in the acceptor's `transitedRealms` (transited.ts).
 *  - PAC: the server signature verifies (pac.ts); CLIENT_INFO's ClientId is the ticket's authtime
 *    and its Name is the ticket's client name (MS-PAC §2.7; MS-KILE §3.4.5.3; MIT's
 *    k5_pac_validate_client compares both the same way).
 *  - Principal: `user` is the bare name only for a client of a local realm; the SIDs pass
 *    pac/sid-filter.ts; the UPN is kept only when the PAC does not mark it constructed (MS-PAC
 *    §2.10 UPN_DNS_INFO flag U) and its domain is the client's realm.
 */
import { fail, rethrowWithDetail } from '../errors.js';
import type { LogonInfo, Principal } from '../principal.js';
import type { KerberosKey } from './crypto/index.js';
import { AdType, flattenAuthorizationData } from './messages/authorization-data.js';
import { TicketFlags, type EncTicketPart } from './messages/enc-ticket-part.js';
import { decodeClientInfo } from './pac/client-info.js';
import { decodeLogonInfo, type KerbValidationInfo } from './pac/logon-info.js';
import { decodePac, pacBuffer, PacBufferType, verifyPacServerSignature } from './pac/pac.js';
import { effectiveSids } from './pac/sid-filter.js';
import { checkUncheckedTransited } from './transited.js';
import { decodeUpnDnsInfo, UpnDnsFlags, type UpnDnsInfo } from './pac/upn-dns-info.js';

/** What a PAC proved, already verified. */
export interface PacFacts {
  readonly logonInfo: KerbValidationInfo | undefined;
  readonly upnDnsInfo: UpnDnsInfo | undefined;
}

/**
 * Refuse tickets whose times cannot be (RFC 4120 §5.3) or whose realm path nobody checked and
 * that crossed a realm not in `transitedRealms` (transited.ts).
 */
export function checkTicketSanity(
  encTicket: EncTicketPart,
  transitedRealms: ReadonlySet<string>,
): void {
  if (
    encTicket.authtime > encTicket.endtime ||
    (encTicket.starttime !== undefined && encTicket.starttime > encTicket.endtime)
  ) {
    fail('ERR_HTTPAUTH_KRB_TIMES_INVALID');
  }
  // RFC 4120 §3.3.3.2: without TRANSITED-POLICY-CHECKED the server checks the path itself. An
  // empty path (the client's realm issued the ticket, or a direct trust) needs no check.
  if ((encTicket.flags & TicketFlags.TRANSITED_POLICY_CHECKED) === 0) {
    checkUncheckedTransited(encTicket.transited, transitedRealms);
  }
}

/** The client name as PAC_CLIENT_INFO writes it: the components without realm (MS-PAC §2.7). */
function pacClientName(encTicket: EncTicketPart): string {
  return encTicket.cname.components.join('/');
}

/** Run one PAC check; a refusal names it in the operator-only detail (`check`). */
function pacCheck<T>(check: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    rethrowWithDetail(error, { check });
  }
}

/**
 * The PAC, when the ticket carries one inside AD-IF-RELEVANT (MS-PAC §2.3; MS-KILE §3.4.5.3):
 * its server signature must verify with the service key. A PAC anywhere else, or two PACs, is
 * refused. Ticket without a PAC (MIT without the PAC plugin): no PAC facts.
 */
export function verifyPac(encTicket: EncTicketPart, serviceKey: KerberosKey): PacFacts | undefined {
  if (encTicket.authorizationData.length === 0) return undefined;
  let pacBytes: Buffer | undefined;
  for (const { entry, ifRelevant } of flattenAuthorizationData(encTicket.authorizationData)) {
    if (entry.adType !== AdType.WIN2K_PAC) continue;
    if (!ifRelevant || pacBytes !== undefined) {
      pacCheck('pac-placement', () => fail('ERR_HTTPAUTH_KRB_PAC_INVALID'));
    }
    pacBytes = entry.adData;
  }
  if (pacBytes === undefined) return undefined;
  const bytes = pacBytes;
  const pac = pacCheck('pac-structure', () => decodePac(bytes));
  pacCheck('pac-server-signature', () => verifyPacServerSignature(pac, serviceKey));
  const clientInfo = pacBuffer(pac, PacBufferType.CLIENT_INFO);
  if (clientInfo !== undefined) {
    // MS-PAC §2.7: ClientId is the ticket's authtime and Name the ticket's client; a mismatch
    // means a PAC spliced from another ticket or a KDC that names one client in the ticket and
    // another in the PAC.
    const info = pacCheck('pac-client-info', () => decodeClientInfo(clientInfo));
    if (Math.floor(info.clientId / 1000) !== Math.floor(encTicket.authtime / 1000)) {
      pacCheck('pac-client-info-authtime', () => fail('ERR_HTTPAUTH_KRB_PAC_INVALID'));
    }
    if (info.name !== pacClientName(encTicket)) {
      pacCheck('pac-client-info-name', () => fail('ERR_HTTPAUTH_KRB_PAC_CLIENT_MISMATCH'));
    }
  }
  const logon = pacBuffer(pac, PacBufferType.LOGON_INFO);
  const upn = pacBuffer(pac, PacBufferType.UPN_DNS_INFO);
  return {
    logonInfo:
      logon === undefined ? undefined : pacCheck('pac-logon-info', () => decodeLogonInfo(logon)),
    upnDnsInfo:
      upn === undefined ? undefined : pacCheck('pac-upn-dns-info', () => decodeUpnDnsInfo(upn)),
  };
}

/**
 * The UPN an authorization rule may name: not constructed by the KDC (MS-PAC §2.10 flag U: the
 * account has no userPrincipalName and the KDC built one from sAMAccountName and the DNS domain)
 * and with a domain equal to the client's realm (DNS names compare case-insensitively). A UPN is
 * an attribute anyone with write access to an account can set, so one outside the client's own
 * realm or one the KDC made up proves nothing about who the client is.
 */
export function verifiedUpn(upn: UpnDnsInfo | undefined, crealm: string): string | undefined {
  if (upn === undefined || upn.upn === '') return undefined;
  if ((upn.flags & UpnDnsFlags.UPN_CONSTRUCTED) !== 0) return undefined;
  const at = upn.upn.lastIndexOf('@');
  if (at <= 0) return undefined;
  const domain = upn.upn.slice(at + 1);
  return domain.toUpperCase() === crealm.toUpperCase() ? upn.upn : undefined;
}

export interface ClientFacts {
  /** The ticket's client in krb5_unparse_name form (unparsePrincipal of cname and crealm). */
  readonly name: string;
  readonly encTicket: EncTicketPart;
  readonly pac: PacFacts | undefined;
  /** The client's realm is one of the acceptor's local realms. */
  readonly localRealm: boolean;
  readonly delegated: boolean;
  readonly channelBound: boolean;
}

export function clientPrincipal(facts: ClientFacts): Principal {
  const { name, encTicket, pac, localRealm } = facts;
  const logon = pac?.logonInfo;
  const upn = pac?.upnDnsInfo;
  const sids = effectiveSids(logon, upn?.sid, localRealm);
  let logonInfo: LogonInfo | undefined;
  if (logon !== undefined) {
    logonInfo = {
      logonDomainName: logon.logonDomainName,
      logonServer: logon.logonServer,
      fullName: logon.fullName,
      ...(sids.primaryGroupSid === undefined ? {} : { primaryGroupSid: sids.primaryGroupSid }),
      userFlags: logon.userFlags,
    };
  }
  const verified = verifiedUpn(upn, encTicket.crealm);
  const bare = encTicket.cname.components.join('/');
  return {
    name,
    // Only a local realm's users go by their bare name: `alice@PARTNER.REALM` is not `alice`.
    user: localRealm ? bare : name,
    realm: encTicket.crealm,
    localRealm,
    mechanism: 'Kerberos',
    expiresAt: new Date(encTicket.endtime),
    delegated: facts.delegated,
    channelBound: facts.channelBound,
    ...(sids.userSid === undefined ? {} : { userSid: sids.userSid }),
    ...(logon === undefined ? {} : { groupSids: sids.groupSids }),
    ...(verified === undefined ? {} : { upn: verified }),
    ...(upn === undefined || upn.dnsDomainName === '' ? {} : { dnsDomain: upn.dnsDomainName }),
    ...(logonInfo === undefined ? {} : { logonInfo }),
  };
}
