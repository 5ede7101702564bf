/**
 * KRB-CRED and EncKrbCredPart (RFC 4120 §5.8), the forwarded TGT of GSS delegation:
 *
 *   KRB-CRED ::= [APPLICATION 22] SEQUENCE {
 *     pvno     [0] INTEGER (5),
 *     msg-type [1] INTEGER (22),
 *     tickets  [2] SEQUENCE OF Ticket,
 *     enc-part [3] EncryptedData  -- EncKrbCredPart, key usage 14
 *   }
 *   EncKrbCredPart ::= [APPLICATION 29] SEQUENCE {
 *     ticket-info [0] SEQUENCE OF KrbCredInfo,
 *     nonce       [1] UInt32 OPTIONAL,
 *     timestamp   [2] KerberosTime OPTIONAL,
 *     usec        [3] Microseconds OPTIONAL,
 *     s-address   [4] HostAddress OPTIONAL,
 *     r-address   [5] HostAddress OPTIONAL
 *   }
 *   KrbCredInfo ::= SEQUENCE {
 *     key [0] EncryptionKey, prealm [1] Realm OPTIONAL, pname [2] PrincipalName OPTIONAL,
 *     flags [3] TicketFlags OPTIONAL, authtime [4] KerberosTime OPTIONAL,
 *     starttime [5] KerberosTime OPTIONAL, endtime [6] KerberosTime OPTIONAL,
 *     renew-till [7] KerberosTime OPTIONAL, srealm [8] Realm OPTIONAL,
 *     sname [9] PrincipalName OPTIONAL, caddr [10] HostAddresses OPTIONAL
 *   }
 */
import {
  applicationTag,
  children,
  contextFields,
  decodeDer,
  encodeContextSequence,
  encodeInteger,
  encodeKerberosFlags,
  encodeKerberosString,
  encodeKerberosTime,
  encodeSequence,
  encodeTlv,
  expectTag,
  readInteger,
  readKerberosFlags,
  readKerberosString,
  readKerberosTime,
  readMicroseconds,
  readUInt32,
  unwrap,
  Tag,
  type DerNode,
} from '../../asn1/der.js';
import { fail } from '../../errors.js';
import {
  decodeEncryptedData,
  decodeEncryptionKey,
  encodeEncryptedData,
  encodeEncryptionKey,
  type EncryptedData,
  type EncryptionKeyValue,
} from './encrypted-data.js';
import { decodePrincipalName, encodePrincipalName, type PrincipalName } from './principal-name.js';
import { decodeTicketNode, TICKET_TAG, type Ticket } from './ticket.js';

export const KRB_CRED_TAG = applicationTag(22);
export const ENC_KRB_CRED_PART_TAG = applicationTag(29);
export const MSG_TYPE_KRB_CRED = 22;

/** Forwarding several tickets at once is legal; more than a few is not something clients do. */
const MAX_TICKETS = 8;

export interface KrbCred {
  readonly tickets: readonly Ticket[];
  readonly encPart: EncryptedData;
}

export interface KrbCredInfo {
  readonly key: EncryptionKeyValue;
  readonly prealm?: string | undefined;
  readonly pname?: PrincipalName | undefined;
  readonly flags?: number | undefined;
  readonly authtime?: number | undefined;
  readonly starttime?: number | undefined;
  readonly endtime?: number | undefined;
  readonly renewTill?: number | undefined;
  readonly srealm?: string | undefined;
  readonly sname?: PrincipalName | undefined;
}

export interface EncKrbCredPart {
  readonly ticketInfo: readonly KrbCredInfo[];
  readonly nonce?: number | undefined;
  readonly timestamp?: number | undefined;
  readonly usec?: number | undefined;
}

export function decodeKrbCred(der: Buffer): KrbCred {
  const f = contextFields(unwrap(decodeDer(der, KRB_CRED_TAG), Tag.SEQUENCE), 3, [0, 1, 2, 3]);
  readInteger(f[0] as DerNode, 5, 5);
  readInteger(f[1] as DerNode, MSG_TYPE_KRB_CRED, MSG_TYPE_KRB_CRED);
  const list = children(expectTag(f[2] as DerNode, Tag.SEQUENCE));
  if (list.length > MAX_TICKETS) fail('ERR_HTTPAUTH_ASN1_MALFORMED');
  return {
    tickets: list.map((node) => decodeTicketNode(expectTag(node, TICKET_TAG))),
    encPart: decodeEncryptedData(f[3] as DerNode),
  };
}

export function encodeKrbCred(value: {
  tickets: readonly Buffer[];
  encPart: EncryptedData;
}): Buffer {
  return encodeTlv(
    KRB_CRED_TAG,
    encodeContextSequence([
      encodeInteger(5),
      encodeInteger(MSG_TYPE_KRB_CRED),
      encodeSequence(...value.tickets),
      encodeEncryptedData(value.encPart),
    ]),
  );
}

function decodeKrbCredInfo(node: DerNode): KrbCredInfo {
  const f = contextFields(node, 10, [0]);
  return {
    key: decodeEncryptionKey(f[0] as DerNode),
    prealm: f[1] === undefined ? undefined : readKerberosString(f[1]),
    pname: f[2] === undefined ? undefined : decodePrincipalName(f[2]),
    flags: f[3] === undefined ? undefined : readKerberosFlags(f[3]),
    authtime: f[4] === undefined ? undefined : readKerberosTime(f[4]),
    starttime: f[5] === undefined ? undefined : readKerberosTime(f[5]),
    endtime: f[6] === undefined ? undefined : readKerberosTime(f[6]),
    renewTill: f[7] === undefined ? undefined : readKerberosTime(f[7]),
    srealm: f[8] === undefined ? undefined : readKerberosString(f[8]),
    sname: f[9] === undefined ? undefined : decodePrincipalName(f[9]),
  };
}

export function decodeEncKrbCredPart(der: Buffer): EncKrbCredPart {
  const f = contextFields(unwrap(decodeDer(der, ENC_KRB_CRED_PART_TAG), Tag.SEQUENCE), 5, [0]);
  const infos = children(expectTag(f[0] as DerNode, Tag.SEQUENCE));
  if (infos.length > MAX_TICKETS) fail('ERR_HTTPAUTH_ASN1_MALFORMED');
  return {
    ticketInfo: infos.map(decodeKrbCredInfo),
    nonce: f[1] === undefined ? undefined : readUInt32(f[1]),
    timestamp: f[2] === undefined ? undefined : readKerberosTime(f[2]),
    usec: f[3] === undefined ? undefined : readMicroseconds(f[3]),
  };
}

const opt = <T>(value: T | undefined, encode: (v: T) => Buffer): Buffer | undefined =>
  value === undefined ? undefined : encode(value);

export function encodeEncKrbCredPart(value: EncKrbCredPart): Buffer {
  const infos = value.ticketInfo.map((info) =>
    encodeContextSequence([
      encodeEncryptionKey(info.key),
      opt(info.prealm, encodeKerberosString),
      opt(info.pname, encodePrincipalName),
      opt(info.flags, encodeKerberosFlags),
      opt(info.authtime, encodeKerberosTime),
      opt(info.starttime, encodeKerberosTime),
      opt(info.endtime, encodeKerberosTime),
      opt(info.renewTill, encodeKerberosTime),
      opt(info.srealm, encodeKerberosString),
      opt(info.sname, encodePrincipalName),
    ]),
  );
  return encodeTlv(
    ENC_KRB_CRED_PART_TAG,
    encodeContextSequence([
      encodeSequence(...infos),
      opt(value.nonce, encodeInteger),
      opt(value.timestamp, encodeKerberosTime),
      opt(value.usec, encodeInteger),
    ]),
  );
}
