/**
 * S4U2Proxy (MS-SFU §3.1.5.2, §3.2.5.2): with its own TGT and a ticket the user holds *to this
 * service* (the "evidence": an S4U2Self ticket, or the user's own service ticket), the service
 * asks the KDC for a ticket to a backend service in the user's name. The TGS-REQ:
 *
 *  - sname: the backend service; additional-tickets: the evidence ticket;
 *  - KDC options: forwardable and cname-in-addl-tkt (MS-SFU §2.2.3, bit 14): "the client is the
 *    one named in the additional ticket";
 *  - PA-PAC-OPTIONS (MS-KILE §2.2.10, padata-type 167) with the resource-based-constrained-
 *    delegation bit, so a KDC that checks the backend's msDS-AllowedToActOnBehalfOfOtherIdentity
 *    (RBCD, MS-SFU §3.2.5.2.3) does so when classic delegation (msDS-AllowedToDelegateTo,
 *    §3.2.5.2.2) does not allow it.
 *
 * Classic constrained delegation needs a FORWARDABLE evidence ticket (§3.2.5.2.2): it is not
 * forwardable when the user is "sensitive and cannot be delegated" (NOT_DELEGATED) or the service
 * may not use protocol transition. That is refused here before the KDC is asked.
 */
import { HttpAuthError } from '../../errors.js';
import { encodeContextSequence, encodeKerberosFlags } from '../../asn1/der.js';
import { decodeKrbError, KRB_ERROR_TAG } from '../messages/krb-error.js';
import {
  sameComponents,
  unparsePrincipal,
  type PrincipalName,
} from '../messages/principal-name.js';
import type { Ticket } from '../messages/ticket.js';
import type { ClientTicket } from './as-exchange.js';
import { KdcErrorCode, kdcErrorName } from './kdc-errors.js';
import { KdcOptions } from './kdc-req-body.js';
import { requestServiceTicket, type ServiceTicket } from './tgs-exchange.js';

/** MS-KILE §2.2.10: padata-type of PA-PAC-OPTIONS. */
export const PA_PAC_OPTIONS = 167;

/** PAC-OPTIONS-FLAGS (MS-KILE §2.2.10), bits of a KerberosFlags (bit 0 = MSB). */
export const PacOptions = {
  CLAIMS: 0x80000000,
  BRANCH_AWARE: 0x40000000,
  FORWARD_TO_FULL_DC: 0x20000000,
  RESOURCE_BASED_CONSTRAINED_DELEGATION: 0x10000000,
} as const;

/** PA-PAC-OPTIONS ::= SEQUENCE { flags [0] PAC-OPTIONS-FLAGS } */
export function encodePaPacOptions(flags: number): Buffer {
  return encodeContextSequence([encodeKerberosFlags(flags)]);
}

export interface S4u2ProxyParams {
  /** The service's own TGT (service-tgt.ts). */
  readonly serviceTgt: ClientTicket;
  /** A ticket to this service in the user's name (S4U2Self, or the user's own). */
  readonly evidence: {
    readonly ticket: Ticket;
    /** Whether the evidence ticket is FORWARDABLE (from its decrypted EncTicketPart). */
    readonly forwardable: boolean;
    readonly cname: PrincipalName;
    readonly crealm: string;
  };
  /** The backend service ('HTTP/backend.example.test' as a PrincipalName). */
  readonly target: PrincipalName;
  readonly etypes: readonly number[];
  readonly send: (request: Buffer) => Promise<Buffer>;
  readonly now: () => number;
}

/** A ticket to the backend in the user's name, with its session key: what an AP-REQ needs. */
export type DelegatedTicket = ServiceTicket;

/**
 * KRB-ERRORs that mean "this service may not delegate to that backend (for this user)": Windows
 * and Samba answer KDC_ERR_BADOPTION when neither msDS-AllowedToDelegateTo nor the backend's
 * RBCD descriptor allows it (MS-SFU §3.2.5.2.2, §3.2.5.2.3), MIT KDC_ERR_POLICY or
 * KDC_ERR_BADOPTION; KDC_ERR_S_PRINCIPAL_UNKNOWN when the backend has no account.
 */
const REFUSALS: ReadonlySet<number> = new Set([
  KdcErrorCode.KDC_ERR_BADOPTION,
  KdcErrorCode.KDC_ERR_POLICY,
  KdcErrorCode.KDC_ERR_S_PRINCIPAL_UNKNOWN,
]);

/** The error-code of a KDC answer that is a KRB-ERROR, else undefined. */
function krbErrorCode(reply: Buffer): number | undefined {
  if (reply[0] !== KRB_ERROR_TAG) return undefined;
  try {
    return decodeKrbError(reply).errorCode;
  } catch {
    return undefined; // tgs-exchange.ts reports the malformed reply
  }
}

/** Gets a ticket to `target` for the user named in the evidence ticket. */
export async function requestS4u2Proxy(params: S4u2ProxyParams): Promise<DelegatedTicket> {
  const { evidence, serviceTgt } = params;
  const user = unparsePrincipal(evidence.cname, evidence.crealm);
  const target = unparsePrincipal(params.target, serviceTgt.crealm);
  if (!evidence.forwardable) {
    throw new HttpAuthError('ERR_HTTPAUTH_DELEGATION_NOT_FORWARDABLE', {
      reason: `the evidence ticket for ${user} is not forwardable (a sensitive account, or no protocol transition for the service)`,
    });
  }
  let refusal: number | undefined;
  const send = async (request: Buffer): Promise<Buffer> => {
    const reply = await params.send(request);
    refusal = krbErrorCode(reply);
    return reply;
  };
  let ticket: ServiceTicket;
  try {
    ticket = await requestServiceTicket({
      tgt: serviceTgt,
      realm: serviceTgt.crealm,
      sname: params.target,
      etypes: params.etypes,
      send,
      now: params.now,
      kdcOptions: KdcOptions.FORWARDABLE | KdcOptions.CNAME_IN_ADDL_TKT | KdcOptions.CANONICALIZE,
      additionalTickets: [evidence.ticket],
      extraPadata: () => [
        {
          type: PA_PAC_OPTIONS,
          value: encodePaPacOptions(PacOptions.RESOURCE_BASED_CONSTRAINED_DELEGATION),
        },
      ],
    });
  } catch (error) {
    const code = refusal;
    if (code !== undefined && REFUSALS.has(code)) {
      throw new HttpAuthError('ERR_HTTPAUTH_DELEGATION_REFUSED', {
        reason: `S4U2Proxy for ${user} to ${target}: ${kdcErrorName(code)}`,
        cause: error,
      });
    }
    throw error;
  }
  // The KDC must answer for the user of the evidence ticket, not for the service itself.
  if (
    ticket.crealm !== evidence.crealm ||
    !sameComponents(ticket.cname.components, evidence.cname.components)
  ) {
    throw new HttpAuthError('ERR_HTTPAUTH_KDC_ERROR', {
      reason: 'KDC reply: S4U2Proxy ticket names another client',
    });
  }
  return ticket;
}
