/**
 * AS-REP and TGS-REP (RFC 4120 §5.4.2):
 *
 *   KDC-REP ::= SEQUENCE {
 *     pvno     [0] INTEGER (5),
 *     msg-type [1] INTEGER (11 -- AS -- | 13 -- TGS --),
 *     padata   [2] SEQUENCE OF PA-DATA OPTIONAL,
 *     crealm   [3] Realm,
 *     cname    [4] PrincipalName,
 *     ticket   [5] Ticket,
 *     enc-part [6] EncryptedData  -- EncASRepPart or EncTGSRepPart
 *   }
 *   AS-REP  ::= [APPLICATION 11] KDC-REP
 *   TGS-REP ::= [APPLICATION 13] KDC-REP
 */
import {
  applicationTag,
  contextFields,
  decodeDer,
  encodeContextSequence,
  encodeInteger,
  encodeKerberosString,
  encodeTlv,
  readInteger,
  readKerberosString,
  unwrap,
  expectTag,
  Tag,
  type DerNode,
} from '../../asn1/der.js';
import {
  decodeEncryptedData,
  encodeEncryptedData,
  type EncryptedData,
} from '../messages/encrypted-data.js';
import {
  decodePrincipalName,
  encodePrincipalName,
  type PrincipalName,
} from '../messages/principal-name.js';
import { decodeTicketNode, TICKET_TAG, type Ticket } from '../messages/ticket.js';
import { decodePaDataSequence, encodePaDataSequence, type PaData } from './pa-data.js';

export const MSG_TYPE_AS_REP = 11;
export const MSG_TYPE_TGS_REP = 13;
export const AS_REP_TAG = applicationTag(MSG_TYPE_AS_REP);
export const TGS_REP_TAG = applicationTag(MSG_TYPE_TGS_REP);

export type KdcRepType = typeof MSG_TYPE_AS_REP | typeof MSG_TYPE_TGS_REP;

export interface KdcRep {
  readonly msgType: KdcRepType;
  readonly padata: readonly PaData[];
  readonly crealm: string;
  readonly cname: PrincipalName;
  readonly ticket: Ticket;
  readonly encPart: EncryptedData;
}

export function decodeKdcRep(der: Buffer, msgType: KdcRepType): KdcRep {
  const f = contextFields(
    unwrap(decodeDer(der, applicationTag(msgType)), Tag.SEQUENCE),
    6,
    [0, 1, 3, 4, 5, 6],
  );
  readInteger(f[0] as DerNode, 5, 5);
  readInteger(f[1] as DerNode, msgType, msgType);
  return {
    msgType,
    padata: f[2] === undefined ? [] : decodePaDataSequence(f[2]),
    crealm: readKerberosString(f[3] as DerNode),
    cname: decodePrincipalName(f[4] as DerNode),
    ticket: decodeTicketNode(expectTag(f[5] as DerNode, TICKET_TAG)),
    encPart: decodeEncryptedData(f[6] as DerNode),
  };
}

/** For tests and fake KDCs: a KDC-REP from its parts. */
export function encodeKdcRep(value: Omit<KdcRep, 'ticket'> & { ticket: Ticket }): Buffer {
  return encodeTlv(
    applicationTag(value.msgType),
    encodeContextSequence([
      encodeInteger(5),
      encodeInteger(value.msgType),
      value.padata.length === 0 ? undefined : encodePaDataSequence(value.padata),
      encodeKerberosString(value.crealm),
      encodePrincipalName(value.cname),
      value.ticket.der,
      encodeEncryptedData(value.encPart),
    ]),
  );
}
