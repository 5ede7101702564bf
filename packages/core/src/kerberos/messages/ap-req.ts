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
 * The last Ticket decoded and a copy of its exact DER. A client sends the same service ticket
 * with every request for hours (only the authenticator changes), and decoding is a pure function
 * of the bytes: a byte-identical ticket gets the same frozen Ticket back instead of its realm,
 * sname and EncryptedData decoded again. Anything that differs in one byte is decoded afresh.
 * Nothing here trusts the ticket: every check (the ticket cache's SHA-256 key over these bytes,
 * the decryption, the allowlist) still runs per request on the result.
 */
let lastTicket: Ticket | undefined;

function ticketOf(node: DerNode): Ticket {
  const last = lastTicket;
  const length = node.end - node.start;
  if (
    last !== undefined &&
    last.der.length === length &&
    node.buf.compare(last.der, 0, length, node.start, node.end) === 0
  ) {
    return last;
  }
  const decoded = decodeTicketNode(node);
  // Its own copy of the bytes (not a view that keeps this request's whole token alive), and
  // frozen: the same object now serves later requests.
  const der = Buffer.allocUnsafeSlow(length);
  decoded.der.copy(der);
  const cipherOffset = decoded.encPart.cipher.byteOffset - decoded.der.byteOffset;
  const ticket: Ticket = Object.freeze({
    realm: decoded.realm,
    sname: Object.freeze({
      nameType: decoded.sname.nameType,
      components: Object.freeze([...decoded.sname.components]),
    }),
    encPart: Object.freeze({
      etype: decoded.encPart.etype,
      kvno: decoded.encPart.kvno,
      // The same bytes, as a view into the copy.
      cipher: der.subarray(cipherOffset, cipherOffset + decoded.encPart.cipher.length),
    }),
    der,
  });
  lastTicket = ticket;
  return ticket;
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
    ticket: ticketOf(ticketNode),
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
