/**
 * Pre-authentication data (RFC 4120 §5.2.7) and the METHOD-DATA of a KRB-ERROR (§5.9.1):
 *
 *   PA-DATA ::= SEQUENCE {
 *     -- NOTE: first tag is [1], not [0]
 *     padata-type  [1] Int32,
 *     padata-value [2] OCTET STRING
 *   }
 *   METHOD-DATA ::= SEQUENCE OF PA-DATA
 *
 * The values this client reads or sends: PA-ENC-TIMESTAMP (§5.2.7.2), ETYPE-INFO2 (§5.2.7.5)
 * and PA-PAC-REQUEST (MS-KILE §2.2.3).
 */
import {
  children,
  contextFields,
  decodeDer,
  encodeContextSequence,
  encodeInteger,
  encodeKerberosString,
  encodeKerberosTime,
  encodeOctetString,
  encodeSequence,
  encodeTlv,
  expectTag,
  readInt32,
  readKerberosString,
  readKerberosTime,
  readMicroseconds,
  readOctetString,
  Tag,
  type DerNode,
} from '../../asn1/der.js';
import { fail } from '../../errors.js';

/** padata-type numbers (IANA "Kerberos Pre-authentication and Typed Data"). */
export const PaDataType = {
  TGS_REQ: 1,
  ENC_TIMESTAMP: 2,
  ETYPE_INFO: 11,
  ETYPE_INFO2: 19,
  PAC_REQUEST: 128,
  FOR_USER: 129,
  S4U_X509_USER: 130,
  FX_COOKIE: 133,
  FX_FAST: 136,
  FX_ERROR: 137,
  ENCRYPTED_CHALLENGE: 138,
  REQ_ENC_PA_REP: 149,
} as const;

export interface PaData {
  readonly type: number;
  readonly value: Buffer;
}

/** More entries than any KDC sends; bounds the work on hostile input. */
const MAX_PA_DATA = 64;

export function decodePaDataNode(node: DerNode): PaData {
  const f = contextFields(node, 2, [1, 2]);
  return { type: readInt32(f[1] as DerNode), value: readOctetString(f[2] as DerNode) };
}

/** SEQUENCE OF PA-DATA, as found in KDC-REQ [3], KDC-REP [2] and METHOD-DATA. */
export function decodePaDataSequence(node: DerNode): PaData[] {
  const list = children(expectTag(node, Tag.SEQUENCE));
  if (list.length > MAX_PA_DATA) fail('ERR_HTTPAUTH_ASN1_MALFORMED');
  return list.map(decodePaDataNode);
}

/** METHOD-DATA from a KRB-ERROR's e-data. */
export function decodeMethodData(der: Buffer): PaData[] {
  return decodePaDataSequence(decodeDer(der, Tag.SEQUENCE));
}

export function encodePaData(pa: PaData): Buffer {
  return encodeContextSequence([undefined, encodeInteger(pa.type), encodeOctetString(pa.value)]);
}

export function encodePaDataSequence(list: readonly PaData[]): Buffer {
  return encodeSequence(...list.map(encodePaData));
}

/** One ETYPE-INFO2-ENTRY: how the KDC derives this principal's key of `etype`. */
export interface EtypeInfo2Entry {
  readonly etype: number;
  /** The salt; undefined means the default salt (RFC 4120 §4: realm + name components). */
  readonly salt: string | undefined;
  readonly s2kparams: Buffer | undefined;
}

/** ETYPE-INFO2 ::= SEQUENCE SIZE (1..MAX) OF ETYPE-INFO2-ENTRY (RFC 4120 §5.2.7.5). */
export function decodeEtypeInfo2(der: Buffer): EtypeInfo2Entry[] {
  const list = children(decodeDer(der, Tag.SEQUENCE));
  if (list.length === 0 || list.length > MAX_PA_DATA) fail('ERR_HTTPAUTH_ASN1_MALFORMED');
  return list.map((entry) => {
    const f = contextFields(entry, 2, [0]);
    return {
      etype: readInt32(f[0] as DerNode),
      salt: f[1] === undefined ? undefined : readKerberosString(f[1]),
      s2kparams: f[2] === undefined ? undefined : readOctetString(f[2]),
    };
  });
}

export function encodeEtypeInfo2(entries: readonly EtypeInfo2Entry[]): Buffer {
  return encodeSequence(
    ...entries.map((e) =>
      encodeContextSequence([
        encodeInteger(e.etype),
        e.salt === undefined ? undefined : encodeKerberosString(e.salt),
        e.s2kparams === undefined ? undefined : encodeOctetString(e.s2kparams),
      ]),
    ),
  );
}

/** PA-ENC-TS-ENC ::= SEQUENCE { patimestamp [0] KerberosTime, pausec [1] Microseconds OPTIONAL } */
export interface PaEncTsEnc {
  readonly timestamp: number;
  readonly usec: number | undefined;
}

export function encodePaEncTsEnc(value: PaEncTsEnc): Buffer {
  return encodeContextSequence([
    encodeKerberosTime(value.timestamp),
    value.usec === undefined ? undefined : encodeInteger(value.usec),
  ]);
}

export function decodePaEncTsEnc(der: Buffer): PaEncTsEnc {
  const f = contextFields(decodeDer(der, Tag.SEQUENCE), 1, [0]);
  return {
    timestamp: readKerberosTime(f[0] as DerNode),
    usec: f[1] === undefined ? undefined : readMicroseconds(f[1]),
  };
}

/** KERB-PA-PAC-REQUEST ::= SEQUENCE { include-pac [0] BOOLEAN } (MS-KILE §2.2.3). */
export function encodePacRequest(includePac: boolean): Buffer {
  return encodeContextSequence([encodeTlv(Tag.BOOLEAN, Buffer.of(includePac ? 0xff : 0x00))]);
}

/** The first entry of `type`, if any. */
export function findPaData(list: readonly PaData[], type: number): PaData | undefined {
  return list.find((pa) => pa.type === type);
}
