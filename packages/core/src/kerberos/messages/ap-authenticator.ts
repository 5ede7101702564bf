/**
 * The AP-REQ's Authenticator (RFC 4120 §5.5.1), decrypted with the ticket session key. Called
 * KerberosAuthenticator in code, so it is never confused with the request loop's Authenticator:
 *
 *   Authenticator ::= [APPLICATION 2] SEQUENCE {
 *     authenticator-vno  [0] INTEGER (5),
 *     crealm             [1] Realm,
 *     cname              [2] PrincipalName,
 *     cksum              [3] Checksum OPTIONAL,
 *     cusec              [4] Microseconds,
 *     ctime              [5] KerberosTime,
 *     subkey             [6] EncryptionKey OPTIONAL,
 *     seq-number         [7] UInt32 OPTIONAL,
 *     authorization-data [8] AuthorizationData OPTIONAL
 *   }
 */
import {
  applicationTag,
  contextFields,
  decodeDer,
  encodeContextSequence,
  encodeInteger,
  encodeKerberosString,
  encodeKerberosTime,
  encodeTlv,
  readInteger,
  readKerberosString,
  readKerberosTime,
  readMicroseconds,
  readUInt32,
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
  decodeChecksum,
  decodeEncryptionKey,
  encodeChecksum,
  encodeEncryptionKey,
  type ChecksumValue,
  type EncryptionKeyValue,
} from './encrypted-data.js';
import { decodePrincipalName, encodePrincipalName, type PrincipalName } from './principal-name.js';

export const AUTHENTICATOR_TAG = applicationTag(2);

export interface KerberosAuthenticator {
  readonly crealm: string;
  readonly cname: PrincipalName;
  readonly cksum: ChecksumValue | undefined;
  readonly cusec: number;
  /** Milliseconds since the epoch, whole seconds (cusec carries the rest). */
  readonly ctime: number;
  readonly subkey: EncryptionKeyValue | undefined;
  readonly seqNumber: number | undefined;
  readonly authorizationData: readonly AuthorizationDataEntry[];
}

export function decodeKerberosAuthenticator(der: Buffer): KerberosAuthenticator {
  const f = contextFields(
    unwrap(decodeDer(der, AUTHENTICATOR_TAG), Tag.SEQUENCE),
    8,
    [0, 1, 2, 4, 5],
  );
  readInteger(f[0] as DerNode, 5, 5);
  return {
    crealm: readKerberosString(f[1] as DerNode),
    cname: decodePrincipalName(f[2] as DerNode),
    cksum: f[3] === undefined ? undefined : decodeChecksum(f[3]),
    cusec: readMicroseconds(f[4] as DerNode),
    ctime: readKerberosTime(f[5] as DerNode),
    subkey: f[6] === undefined ? undefined : decodeEncryptionKey(f[6]),
    seqNumber: f[7] === undefined ? undefined : readUInt32(f[7]),
    authorizationData: f[8] === undefined ? [] : decodeAuthorizationDataNode(f[8]),
  };
}

export function encodeKerberosAuthenticator(value: KerberosAuthenticator): Buffer {
  return encodeTlv(
    AUTHENTICATOR_TAG,
    encodeContextSequence([
      encodeInteger(5),
      encodeKerberosString(value.crealm),
      encodePrincipalName(value.cname),
      value.cksum === undefined ? undefined : encodeChecksum(value.cksum),
      encodeInteger(value.cusec),
      encodeKerberosTime(value.ctime),
      value.subkey === undefined ? undefined : encodeEncryptionKey(value.subkey),
      value.seqNumber === undefined ? undefined : encodeInteger(value.seqNumber),
      value.authorizationData.length === 0
        ? undefined
        : encodeAuthorizationData(value.authorizationData),
    ]),
  );
}
