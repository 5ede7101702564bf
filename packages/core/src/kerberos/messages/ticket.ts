/**
 * Ticket (RFC 4120 §5.3):
 *
 *   Ticket ::= [APPLICATION 1] SEQUENCE {
 *     tkt-vno  [0] INTEGER (5),
 *     realm    [1] Realm,
 *     sname    [2] PrincipalName,
 *     enc-part [3] EncryptedData  -- EncTicketPart
 *   }
 */
import {
  applicationTag,
  contextFields,
  decodeDer,
  encodeContextSequence,
  encodeInteger,
  encodeKerberosString,
  encodeTlv,
  raw,
  readInteger,
  readKerberosString,
  unwrap,
  Tag,
  type DerNode,
} from '../../asn1/der.js';
import { decodeEncryptedData, encodeEncryptedData, type EncryptedData } from './encrypted-data.js';
import { decodePrincipalName, encodePrincipalName, type PrincipalName } from './principal-name.js';

export const TICKET_TAG = applicationTag(1);

/**
 * Ticket (RFC 4120 §5.3): the service's realm and name in clear, the encrypted EncTicketPart, and
 * the ticket's DER as received.
 */
export interface Ticket {
  readonly realm: string;
  readonly sname: PrincipalName;
  readonly encPart: EncryptedData;
  /** The ticket's DER exactly as received (delegation copies it into a ccache unchanged). */
  readonly der: Buffer;
}

export function decodeTicketNode(node: DerNode): Ticket {
  const f = contextFields(unwrap(node, Tag.SEQUENCE), 3, [0, 1, 2, 3]);
  readInteger(f[0] as DerNode, 5, 5);
  return {
    realm: readKerberosString(f[1] as DerNode),
    sname: decodePrincipalName(f[2] as DerNode),
    encPart: decodeEncryptedData(f[3] as DerNode),
    der: raw(node),
  };
}

export function decodeTicket(der: Buffer): Ticket {
  return decodeTicketNode(decodeDer(der, TICKET_TAG));
}

export function encodeTicket(ticket: Omit<Ticket, 'der'>): Buffer {
  return encodeTlv(
    TICKET_TAG,
    encodeContextSequence([
      encodeInteger(5),
      encodeKerberosString(ticket.realm),
      encodePrincipalName(ticket.sname),
      encodeEncryptedData(ticket.encPart),
    ]),
  );
}
