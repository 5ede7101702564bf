/**
 * AuthorizationData (RFC 4120 §5.2.6) and the containers we look inside:
 *
 *   AuthorizationData ::= SEQUENCE OF SEQUENCE {
 *     ad-type [0] Int32,
 *     ad-data [1] OCTET STRING
 *   }
 *   AD-IF-RELEVANT ::= AuthorizationData               -- ad-type 1 (RFC 4120 §5.2.6.1)
 *   AD-WIN2K-PAC: the MS-PAC PACTYPE, ad-type 128     (MS-PAC §2.3, inside AD-IF-RELEVANT)
 *   AD-AUTH-DATA-AP-OPTIONS: 32-bit little-endian     (MS-KILE §2.2.11, ad-type 143)
 */
import {
  children,
  contextFields,
  decodeDer,
  encodeContextSequence,
  encodeInteger,
  encodeOctetString,
  encodeSequence,
  expectTag,
  MAX_DER_DEPTH,
  readInt32,
  readOctetString,
  Tag,
  type DerNode,
} from '../../asn1/der.js';
import { fail } from '../../errors.js';

export const AdType = {
  IF_RELEVANT: 1,
  KDC_ISSUED: 4,
  AND_OR: 5,
  MANDATORY_FOR_KDC: 8,
  WIN2K_PAC: 128,
  AUTH_DATA_AP_OPTIONS: 143,
} as const;

/** MS-KILE §2.2.11: the client supports channel bindings (then a missing binding is an error). */
export const KERB_AP_OPTIONS_CBT = 0x4000;

export interface AuthorizationDataEntry {
  readonly adType: number;
  readonly adData: Buffer;
}

/** Bounds the entries per AuthorizationData (real tickets carry a handful). */
const MAX_ENTRIES = 64;

export function decodeAuthorizationDataNode(node: DerNode): AuthorizationDataEntry[] {
  const list = children(expectTag(node, Tag.SEQUENCE));
  if (list.length > MAX_ENTRIES) fail('ERR_HTTPAUTH_ASN1_MALFORMED');
  return list.map((entry) => {
    const f = contextFields(entry, 1, [0, 1]);
    return { adType: readInt32(f[0] as DerNode), adData: readOctetString(f[1] as DerNode) };
  });
}

export function decodeAuthorizationData(der: Buffer): AuthorizationDataEntry[] {
  return decodeAuthorizationDataNode(decodeDer(der, Tag.SEQUENCE));
}

export function encodeAuthorizationData(entries: readonly AuthorizationDataEntry[]): Buffer {
  return encodeSequence(
    ...entries.map((e) =>
      encodeContextSequence([encodeInteger(e.adType), encodeOctetString(e.adData)]),
    ),
  );
}

/**
 * Every entry, with AD-IF-RELEVANT containers opened (recursively, depth-bounded), each tagged
 * with whether it came from inside AD-IF-RELEVANT. The containers themselves are not listed.
 */
export function flattenAuthorizationData(
  entries: readonly AuthorizationDataEntry[],
): { entry: AuthorizationDataEntry; ifRelevant: boolean }[] {
  const out: { entry: AuthorizationDataEntry; ifRelevant: boolean }[] = [];
  const walk = (
    list: readonly AuthorizationDataEntry[],
    ifRelevant: boolean,
    depth: number,
  ): void => {
    if (depth > MAX_DER_DEPTH) fail('ERR_HTTPAUTH_ASN1_MALFORMED');
    for (const entry of list) {
      if (entry.adType === AdType.IF_RELEVANT) {
        walk(decodeAuthorizationData(entry.adData), true, depth + 1);
      } else {
        out.push({ entry, ifRelevant });
      }
      if (out.length > MAX_ENTRIES * 4) fail('ERR_HTTPAUTH_ASN1_MALFORMED');
    }
  };
  walk(entries, false, 0);
  return out;
}

/** The AD-AUTH-DATA-AP-OPTIONS value (MS-KILE §2.2.11), or 0 when absent. */
export function apOptionsFromAuthorizationData(entries: readonly AuthorizationDataEntry[]): number {
  let options = 0;
  for (const { entry } of flattenAuthorizationData(entries)) {
    if (entry.adType === AdType.AUTH_DATA_AP_OPTIONS) {
      if (entry.adData.length !== 4) fail('ERR_HTTPAUTH_ASN1_MALFORMED');
      options |= entry.adData.readUInt32LE(0);
    }
  }
  return options >>> 0;
}
