/**
 * A service ticket in another realm than the client's (RFC 4120 §1.2, §3.3.1; RFC 6806 §8).
 *
 * The client's TGT (krbtgt/USER.REALM@USER.REALM) is good only at its own realm's KDC. To reach a
 * service of SERVICE.REALM, the client asks each KDC on the way for `krbtgt/SERVICE.REALM`: a KDC
 * that shares an inter-realm key with SERVICE.REALM issues that cross-realm TGT; one that does
 * not, but trusts a realm closer to it (its capaths, or the realm hierarchy), answers with a
 * referral, a TGT `krbtgt/OTHER@THIS` for that realm. The client then presents the TGT to OTHER's
 * KDC, and so on, until it holds a TGT for SERVICE.REALM and asks that KDC for the service.
 * MIT's krb5_get_credentials does the same when the service realm is known.
 *
 * Each hop's TGT is sealed with the inter-realm key the two realms share, and the session key of
 * each reply is the one the previous TGT carried: a KDC that could not read the previous TGT
 * cannot answer. A KDC that refuses a TGT as undecryptable names a spoofed or mis-keyed KDC
 * behind us (ERR_HTTPAUTH_KDC_UNVERIFIED, kdc-errors.ts). A loop or a path longer than MIT's
 * limit is refused.
 */
import { HttpAuthError } from '../../errors.js';
import { NameType, type PrincipalName } from '../messages/principal-name.js';
import type { ClientTicket } from './as-exchange.js';
import { KdcErrorCode } from './kdc-errors.js';
import { requestServiceTicket, type ServiceTicket } from './tgs-exchange.js';

/** MIT's KRB5_REFERRAL_MAXHOPS: no real trust path is longer. */
export const MAX_REALM_HOPS = 10;

export interface CrossRealmParams {
  /** A TGT of the client's realm (from the AS exchange). */
  readonly tgt: ClientTicket;
  readonly serviceRealm: string;
  readonly sname: PrincipalName;
  readonly etypes: readonly number[];
  /** Sends one request to `realm`'s KDCs and returns the reply bytes. */
  readonly sendTo: (realm: string, request: Buffer) => Promise<Buffer>;
  readonly now: () => number;
}

/** The realm whose KDC accepts `tgt`: the instance of its krbtgt/REALM name. */
export function tgtRealm(tgt: ClientTicket): string {
  return tgt.ticket.sname.components[1] ?? '';
}

function tgsName(realm: string): PrincipalName {
  return { nameType: NameType.SRV_INST, components: ['krbtgt', realm] };
}

function noPath(from: string, to: string, why: string, cause?: unknown): HttpAuthError {
  return new HttpAuthError('ERR_HTTPAUTH_KDC_ERROR', {
    reason: `no cross-realm path from ${from} to ${to}: ${why}`,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** One hop: at `tgt`'s realm, a TGT for the service realm or for a realm on the way. */
async function nextTgt(
  params: CrossRealmParams,
  tgt: ClientTicket,
  issuedElsewhere: boolean,
): Promise<ServiceTicket> {
  const here = tgtRealm(tgt);
  try {
    return await requestServiceTicket({
      tgt,
      realm: here,
      sname: tgsName(params.serviceRealm),
      etypes: params.etypes,
      send: (request) => params.sendTo(here, request),
      now: params.now,
      crossRealmTgt: true,
      phase: issuedElsewhere ? 'TGS-XREALM' : 'TGS',
    });
  } catch (error) {
    // The KDC knows neither krbtgt/SERVICE.REALM nor a realm closer to it: no trust.
    if (
      error instanceof HttpAuthError &&
      error.code === 'ERR_HTTPAUTH_KDC_ERROR' &&
      error.reason?.endsWith(`(${KdcErrorCode.KDC_ERR_S_PRINCIPAL_UNKNOWN})`) === true
    ) {
      throw noPath(here, params.serviceRealm, `${here}'s KDC knows no way there`, error);
    }
    throw error;
  }
}

/**
 * A ticket for `sname`@`serviceRealm` from a TGT of any realm that has a trust path to it.
 * With a TGT of the service realm itself, this is one plain TGS exchange.
 */
export async function requestServiceTicketAcrossRealms(
  params: CrossRealmParams,
): Promise<ServiceTicket> {
  let tgt: ClientTicket = params.tgt;
  const start = tgtRealm(tgt);
  const visited = [start];
  while (tgtRealm(tgt) !== params.serviceRealm) {
    if (visited.length > MAX_REALM_HOPS) {
      throw noPath(start, params.serviceRealm, `more than ${MAX_REALM_HOPS} realms on the way`);
    }
    const next = await nextTgt(params, tgt, visited.length > 1);
    const to = tgtRealm(next);
    // A referral back to a realm already visited would go round forever.
    if (visited.includes(to)) {
      throw noPath(start, params.serviceRealm, `referral loop (${[...visited, to].join(' -> ')})`);
    }
    visited.push(to);
    tgt = next;
  }
  const realm = params.serviceRealm;
  return requestServiceTicket({
    tgt,
    realm,
    sname: params.sname,
    etypes: params.etypes,
    send: (request) => params.sendTo(realm, request),
    now: params.now,
    phase: visited.length > 1 ? 'TGS-XREALM' : 'TGS',
  });
}
