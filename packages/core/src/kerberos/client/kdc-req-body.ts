/**
 * KDC-REQ-BODY (RFC 4120 §5.4.1), shared by AS-REQ and TGS-REQ:
 *
 *   KDC-REQ-BODY ::= SEQUENCE {
 *     kdc-options             [0] KDCOptions,
 *     cname                   [1] PrincipalName OPTIONAL, -- Used only in AS-REQ
 *     realm                   [2] Realm,  -- Server's realm; also client's in AS-REQ
 *     sname                   [3] PrincipalName OPTIONAL,
 *     from                    [4] KerberosTime OPTIONAL,
 *     till                    [5] KerberosTime,
 *     rtime                   [6] KerberosTime OPTIONAL,
 *     nonce                   [7] UInt32,
 *     etype                   [8] SEQUENCE OF Int32, -- in preference order
 *     addresses               [9] HostAddresses OPTIONAL,
 *     enc-authorization-data  [10] EncryptedData OPTIONAL,
 *     additional-tickets      [11] SEQUENCE OF Ticket OPTIONAL
 *   }
 *
 * The encoder is what this client sends; the decoder exists for tests and for tools that read
 * captured requests, and is strict and bounded like every decoder here.
 */
import {
  children,
  contextFields,
  encodeContextSequence,
  encodeInteger,
  encodeKerberosFlags,
  encodeKerberosString,
  encodeKerberosTime,
  encodeSequence,
  expectTag,
  raw,
  readInt32,
  readKerberosFlags,
  readKerberosString,
  readKerberosTime,
  readUInt32,
  Tag,
  type DerNode,
} from '../../asn1/der.js';
import { fail } from '../../errors.js';
import {
  decodePrincipalName,
  encodePrincipalName,
  type PrincipalName,
} from '../messages/principal-name.js';
import { decodeTicketNode, TICKET_TAG, type Ticket } from '../messages/ticket.js';

/** KDCOptions bits (RFC 4120 §5.4.1) in the 32-bit flags word (bit 0 = MSB). */
export const KdcOptions = {
  FORWARDABLE: 0x40000000,
  FORWARDED: 0x20000000,
  PROXIABLE: 0x10000000,
  PROXY: 0x08000000,
  RENEWABLE: 0x00800000,
  /** RFC 6806 §11: the KDC may answer with the canonical name. */
  CANONICALIZE: 0x00010000,
  /** MS-SFU §2.2.3 (bit 14): S4U2Proxy's "cname-in-addl-tkt". */
  CNAME_IN_ADDL_TKT: 0x00020000,
  RENEWABLE_OK: 0x00000010,
  ENC_TKT_IN_SKEY: 0x00000008,
  RENEW: 0x00000002,
  VALIDATE: 0x00000001,
} as const;

export interface KdcReqBody {
  readonly kdcOptions: number;
  readonly cname: PrincipalName | undefined;
  readonly realm: string;
  readonly sname: PrincipalName | undefined;
  readonly till: number;
  readonly rtime: number | undefined;
  readonly nonce: number;
  readonly etypes: readonly number[];
  readonly additionalTickets: readonly Ticket[];
}

/** More enctypes or tickets than a request ever carries. */
const MAX_LIST = 32;

export function encodeKdcReqBody(body: KdcReqBody): Buffer {
  return encodeContextSequence([
    encodeKerberosFlags(body.kdcOptions),
    body.cname === undefined ? undefined : encodePrincipalName(body.cname),
    encodeKerberosString(body.realm),
    body.sname === undefined ? undefined : encodePrincipalName(body.sname),
    undefined,
    encodeKerberosTime(body.till),
    body.rtime === undefined ? undefined : encodeKerberosTime(body.rtime),
    encodeInteger(body.nonce >>> 0),
    encodeSequence(...body.etypes.map((etype) => encodeInteger(etype))),
    undefined,
    undefined,
    body.additionalTickets.length === 0
      ? undefined
      : encodeSequence(...body.additionalTickets.map((ticket) => ticket.der)),
  ]);
}

export function decodeKdcReqBodyNode(node: DerNode): KdcReqBody & { readonly der: Buffer } {
  const f = contextFields(node, 11, [0, 2, 5, 7, 8]);
  const etypes = children(expectTag(f[8] as DerNode, Tag.SEQUENCE));
  if (etypes.length === 0 || etypes.length > MAX_LIST) fail('ERR_HTTPAUTH_ASN1_MALFORMED');
  let additionalTickets: Ticket[] = [];
  if (f[11] !== undefined) {
    const list = children(expectTag(f[11], Tag.SEQUENCE));
    if (list.length > MAX_LIST) fail('ERR_HTTPAUTH_ASN1_MALFORMED');
    additionalTickets = list.map((t) => decodeTicketNode(expectTag(t, TICKET_TAG)));
  }
  return {
    kdcOptions: readKerberosFlags(f[0] as DerNode),
    cname: f[1] === undefined ? undefined : decodePrincipalName(f[1]),
    realm: readKerberosString(f[2] as DerNode),
    sname: f[3] === undefined ? undefined : decodePrincipalName(f[3]),
    till: readKerberosTime(f[5] as DerNode),
    rtime: f[6] === undefined ? undefined : readKerberosTime(f[6]),
    nonce: readUInt32(f[7] as DerNode),
    etypes: etypes.map(readInt32),
    additionalTickets,
    der: raw(node),
  };
}
