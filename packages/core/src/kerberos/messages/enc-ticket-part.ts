/**
 * EncTicketPart (RFC 4120 §5.3), the decrypted part of a ticket:
 *
 *   EncTicketPart ::= [APPLICATION 3] SEQUENCE {
 *     flags              [0] TicketFlags,
 *     key                [1] EncryptionKey,
 *     crealm             [2] Realm,
 *     cname              [3] PrincipalName,
 *     transited          [4] TransitedEncoding,
 *     authtime           [5] KerberosTime,
 *     starttime          [6] KerberosTime OPTIONAL,
 *     endtime            [7] KerberosTime,
 *     renew-till         [8] KerberosTime OPTIONAL,
 *     caddr              [9] HostAddresses OPTIONAL,
 *     authorization-data [10] AuthorizationData OPTIONAL
 *   }
 *   TransitedEncoding ::= SEQUENCE { tr-type [0] Int32, contents [1] OCTET STRING }
 */
import {
  applicationTag,
  contextFields,
  decodeDer,
  encodeContextSequence,
  encodeInteger,
  encodeKerberosFlags,
  encodeKerberosString,
  encodeKerberosTime,
  encodeOctetString,
  encodeTlv,
  raw,
  readInt32,
  readKerberosFlags,
  readKerberosString,
  readKerberosTime,
  readOctetString,
  unwrap,
  Tag,
  type DerNode,
} from '../../asn1/der.js';
import {
  decodeAuthorizationDataNode,
  encodeAuthorizationData,
  type AuthorizationDataEntry,
} from './authorization-data.js';
import {
  decodeEncryptionKey,
  encodeEncryptionKey,
  type EncryptionKeyValue,
} from './encrypted-data.js';
import { decodePrincipalName, encodePrincipalName, type PrincipalName } from './principal-name.js';

export const ENC_TICKET_PART_TAG = applicationTag(3);

/** TicketFlags (RFC 4120 §5.3) in the 32-bit word (bit 0 = MSB). */
export const TicketFlags = {
  FORWARDABLE: 0x40000000,
  FORWARDED: 0x20000000,
  PROXIABLE: 0x10000000,
  PROXY: 0x08000000,
  MAY_POSTDATE: 0x04000000,
  POSTDATED: 0x02000000,
  INVALID: 0x01000000,
  RENEWABLE: 0x00800000,
  INITIAL: 0x00400000,
  PRE_AUTHENT: 0x00200000,
  HW_AUTHENT: 0x00100000,
  TRANSITED_POLICY_CHECKED: 0x00080000,
  OK_AS_DELEGATE: 0x00040000,
} as const;

export interface EncTicketPart {
  readonly flags: number;
  readonly key: EncryptionKeyValue;
  readonly crealm: string;
  readonly cname: PrincipalName;
  readonly transited: { readonly trType: number; readonly contents: Buffer };
  readonly authtime: number;
  readonly starttime: number | undefined;
  readonly endtime: number;
  readonly renewTill: number | undefined;
  /** HostAddresses, kept raw: HTTP acceptors do not check addresses (RFC 4120 §3.2.3 allows). */
  readonly caddr: Buffer | undefined;
  readonly authorizationData: readonly AuthorizationDataEntry[];
}

export function decodeEncTicketPart(der: Buffer): EncTicketPart {
  const f = contextFields(
    unwrap(decodeDer(der, ENC_TICKET_PART_TAG), Tag.SEQUENCE),
    10,
    [0, 1, 2, 3, 4, 5, 7],
  );
  const transited = contextFields(f[4] as DerNode, 1, [0, 1]);
  return {
    flags: readKerberosFlags(f[0] as DerNode),
    key: decodeEncryptionKey(f[1] as DerNode),
    crealm: readKerberosString(f[2] as DerNode),
    cname: decodePrincipalName(f[3] as DerNode),
    transited: {
      trType: readInt32(transited[0] as DerNode),
      contents: readOctetString(transited[1] as DerNode),
    },
    authtime: readKerberosTime(f[5] as DerNode),
    starttime: f[6] === undefined ? undefined : readKerberosTime(f[6]),
    endtime: readKerberosTime(f[7] as DerNode),
    renewTill: f[8] === undefined ? undefined : readKerberosTime(f[8]),
    caddr: f[9] === undefined ? undefined : raw(f[9]),
    authorizationData: f[10] === undefined ? [] : decodeAuthorizationDataNode(f[10]),
  };
}

export function encodeEncTicketPart(part: Omit<EncTicketPart, 'caddr'>): Buffer {
  return encodeTlv(
    ENC_TICKET_PART_TAG,
    encodeContextSequence([
      encodeKerberosFlags(part.flags),
      encodeEncryptionKey(part.key),
      encodeKerberosString(part.crealm),
      encodePrincipalName(part.cname),
      encodeContextSequence([
        encodeInteger(part.transited.trType),
        encodeOctetString(part.transited.contents),
      ]),
      encodeKerberosTime(part.authtime),
      part.starttime === undefined ? undefined : encodeKerberosTime(part.starttime),
      encodeKerberosTime(part.endtime),
      part.renewTill === undefined ? undefined : encodeKerberosTime(part.renewTill),
      undefined,
      part.authorizationData.length === 0
        ? undefined
        : encodeAuthorizationData(part.authorizationData),
    ]),
  );
}
