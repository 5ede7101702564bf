/**
 * S4U2Self (MS-SFU §3.1.5.1, §3.2.5.1): a service asks the KDC, with its own TGT, for a ticket
 * to itself on behalf of a user who did not use Kerberos ("protocol transition": NTLM, Digest,
 * Basic, a certificate). The TGS-REQ names the service as sname and carries PA-FOR-USER and
 * PA-S4U-X509-USER (the KDC prefers the latter, MIT and Windows alike). The ticket comes back
 * encrypted in the service's own key, for the user; it is FORWARDABLE only when the KDC lets the
 * service use it for S4U2Proxy (MIT: ok_to_auth_as_delegate; AD: "trusted to authenticate for
 * delegation"). The ticket is checked with the keytab like any ticket the service accepts.
 */
import { HttpAuthError } from '../../errors.js';
import { encryptionProfile, KeyUsage, verifyChecksum, type KerberosKey } from '../crypto/index.js';
import type { Keytab } from '../keytab.js';
import {
  decodeEncTicketPart,
  TicketFlags,
  type EncTicketPart,
} from '../messages/enc-ticket-part.js';
import {
  sameComponents,
  unparsePrincipal,
  type PrincipalName,
} from '../messages/principal-name.js';
import type { ClientTicket } from './as-exchange.js';
import { replyMismatch } from './kdc-errors.js';
import { KdcOptions } from './kdc-req-body.js';
import { findPaData, PaDataType } from './pa-data.js';
import {
  decodePaS4uX509User,
  encodePaForUser,
  encodePaS4uX509User,
  S4U_X509_USER_REPLY_USAGE,
  S4U_X509_USER_REQUEST_USAGE,
  S4uOptions,
  type PaS4uX509User,
} from './s4u-padata.js';
import { requestServiceTicket, type ServiceTicket } from './tgs-exchange.js';

export interface S4u2SelfParams {
  /** The service's own TGT (service-tgt.ts). */
  readonly serviceTgt: ClientTicket;
  readonly user: PrincipalName;
  readonly userRealm: string;
  readonly etypes: readonly number[];
  readonly send: (request: Buffer) => Promise<Buffer>;
  readonly now: () => number;
  /**
   * Which S4U PA-DATA to send: both (default; the KDC prefers PA-S4U-X509-USER), or PA-FOR-USER
   * alone, as KDCs before Windows Server 2008 understand only that one.
   */
  readonly paData?: 'both' | 'pa-for-user';
  /**
   * The keytab principal whose key opens the ticket, when the TGT's client name is an AD account
   * name ('websvc') the keytab does not list: the account's keys are the same for its SPNs.
   */
  readonly keyPrincipal?: string;
}

export interface S4u2SelfTicket extends ServiceTicket {
  /** The decrypted ticket (checked with the keytab). */
  readonly encTicket: EncTicketPart;
  /** Whether the KDC allows this ticket to be used for S4U2Proxy. */
  readonly forwardable: boolean;
}

/**
 * A KDC that honours S4U_OPTS_USE_REPLY_KEY_USAGE echoes PA-S4U-X509-USER in its reply, its
 * checksum keyed with the reply key under usage 27 (MS-SFU §3.2.5.1.2): when present, it must
 * verify and name our nonce and user, so the reply is bound to this request.
 */
function checkReplyS4uUser(ticket: ServiceTicket, tgt: ClientTicket, user: PrincipalName): void {
  const pa = findPaData(ticket.replyPadata, PaDataType.S4U_X509_USER);
  if (pa === undefined) return;
  let reply: PaS4uX509User;
  try {
    reply = decodePaS4uX509User(pa.value);
  } catch (error) {
    throw replyMismatch('PA-S4U-X509-USER in the reply is malformed', error);
  }
  const usage =
    reply.userId.options !== undefined &&
    (reply.userId.options & S4uOptions.USE_REPLY_KEY_USAGE) !== 0
      ? S4U_X509_USER_REPLY_USAGE
      : S4U_X509_USER_REQUEST_USAGE;
  if (
    reply.userId.nonce !== ticket.nonce >>> 0 ||
    (reply.userId.cname !== undefined &&
      !sameComponents(reply.userId.cname.components, user.components)) ||
    !verifyChecksum(
      reply.checksum.cksumtype,
      tgt.sessionKey,
      usage,
      reply.userIdDer,
      reply.checksum.checksum,
    )
  ) {
    throw replyMismatch('PA-S4U-X509-USER in the reply does not match the request');
  }
}

/** Gets an S4U2Self ticket for `user` and checks it with `keytab`. */
export async function requestS4u2Self(
  params: S4u2SelfParams,
  keytab: Keytab,
): Promise<S4u2SelfTicket> {
  const tgt = params.serviceTgt;
  const sname = tgt.cname;
  const realm = tgt.crealm;
  const ticket = await requestServiceTicket({
    tgt,
    realm,
    sname,
    etypes: params.etypes,
    send: params.send,
    now: params.now,
    kdcOptions: KdcOptions.FORWARDABLE,
    extraPadata: (nonce) => {
      const forUser = {
        type: PaDataType.FOR_USER,
        value: encodePaForUser(params.user, params.userRealm, tgt.sessionKey),
      };
      if (params.paData === 'pa-for-user') return [forUser];
      const x509User = {
        type: PaDataType.S4U_X509_USER,
        value: encodePaS4uX509User(
          {
            nonce,
            cname: params.user,
            crealm: params.userRealm,
            subjectCertificate: undefined,
            options: S4uOptions.USE_REPLY_KEY_USAGE,
          },
          tgt.sessionKey,
          S4U_X509_USER_REQUEST_USAGE,
        ),
      };
      return [forUser, x509User];
    },
  });
  checkReplyS4uUser(ticket, tgt, params.user);
  if (
    ticket.crealm !== params.userRealm ||
    !sameComponents(ticket.cname.components, params.user.components)
  ) {
    throw replyMismatch('S4U2Self reply names another client');
  }
  // The ticket is for us: our keytab must open it, and it must name the user.
  const principal =
    params.keyPrincipal ?? unparsePrincipal(ticket.ticket.sname, ticket.ticket.realm);
  const key: KerberosKey | undefined = keytab.find(
    principal,
    ticket.ticket.encPart.etype,
    ticket.ticket.encPart.kvno,
  );
  if (key === undefined) {
    throw new HttpAuthError('ERR_HTTPAUTH_KDC_UNVERIFIED', {
      reason: `no keytab key for ${principal}`,
    });
  }
  let encTicket: EncTicketPart;
  try {
    encTicket = decodeEncTicketPart(
      encryptionProfile(key.enctype)!.decrypt(
        key,
        KeyUsage.KDC_REP_TICKET,
        ticket.ticket.encPart.cipher,
      ),
    );
  } catch (error) {
    throw new HttpAuthError('ERR_HTTPAUTH_KDC_UNVERIFIED', {
      reason: 'the S4U2Self ticket does not decrypt with the keytab',
      cause: error,
    });
  }
  if (
    encTicket.crealm !== params.userRealm ||
    !sameComponents(encTicket.cname.components, params.user.components)
  ) {
    throw new HttpAuthError('ERR_HTTPAUTH_KDC_UNVERIFIED', {
      reason: 'the S4U2Self ticket names another client',
    });
  }
  return {
    ...ticket,
    encTicket,
    forwardable: (encTicket.flags & TicketFlags.FORWARDABLE) !== 0,
  };
}
