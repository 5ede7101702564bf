/**
 * KRB_AP_REQ (RFC 4120 §5.5.1):
 *
 *   AP-REQ ::= [APPLICATION 14] SEQUENCE {
 *     pvno          [0] INTEGER (5),
 *     msg-type      [1] INTEGER (14),
 *     ap-options    [2] APOptions,
 *     ticket        [3] Ticket,
 *     authenticator [4] EncryptedData  -- Authenticator
 *   }
 */
import {
  applicationTag,
  contextFields,
  decodeDer,
  encodeContextSequence,
  encodeInteger,
  encodeKerberosFlags,
  encodeTlv,
  readInteger,
  readKerberosFlags,
  unwrap,
  Tag,
  type DerNode,
} from '../../asn1/der.js';
import { fail } from '../../errors.js';
import { decodeEncryptedData, encodeEncryptedData, type EncryptedData } from './encrypted-data.js';
import { decodeTicketNode, encodeTicket, TICKET_TAG, type Ticket } from './ticket.js';

export const AP_REQ_TAG = applicationTag(14);
export const MSG_TYPE_AP_REQ = 14;

/** APOptions bits (RFC 4120 §5.5.1), as numbers in the 32-bit flags word (bit 0 = MSB). */
export const ApOptions = {
  USE_SESSION_KEY: 0x40000000,
  MUTUAL_REQUIRED: 0x20000000,
} as const;

/**
 * KRB_AP_REQ (RFC 4120 §5.5.1): what a client sends a service: the options (`ApOptions`), the
 * ticket, and the authenticator encrypted with the ticket's session key.
 */
export interface ApReq {
  readonly apOptions: number;
  readonly ticket: Ticket;
  readonly authenticator: EncryptedData;
}

/**
 * Decodes a KRB_AP_REQ (RFC 4120 §5.5.1). Throws `ERR_HTTPAUTH_ASN1_MALFORMED` on bad DER, a wrong
 * pvno or msg-type, or a ticket that is not a Ticket.
 */
export function decodeApReq(der: Buffer): ApReq {
  const f = contextFields(unwrap(decodeDer(der, AP_REQ_TAG), Tag.SEQUENCE), 4, [0, 1, 2, 3, 4]);
  readInteger(f[0] as DerNode, 5, 5);
  readInteger(f[1] as DerNode, MSG_TYPE_AP_REQ, MSG_TYPE_AP_REQ);
  const ticketNode = f[3] as DerNode;
  if (ticketNode.tag !== TICKET_TAG) fail('ERR_HTTPAUTH_ASN1_MALFORMED');
  return {
    apOptions: readKerberosFlags(f[2] as DerNode),
    ticket: decodeTicketNode(ticketNode),
    authenticator: decodeEncryptedData(f[4] as DerNode),
  };
}

export function encodeApReq(value: {
  apOptions: number;
  ticket: Omit<Ticket, 'der'> | Ticket;
  authenticator: EncryptedData;
}): Buffer {
  const ticket = 'der' in value.ticket ? value.ticket.der : encodeTicket(value.ticket);
  return encodeTlv(
    AP_REQ_TAG,
    encodeContextSequence([
      encodeInteger(5),
      encodeInteger(MSG_TYPE_AP_REQ),
      encodeKerberosFlags(value.apOptions),
      ticket,
      encodeEncryptedData(value.authenticator),
    ]),
  );
}
