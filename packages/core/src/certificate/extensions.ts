/**
 * Decoders of the certificate extensions the package checks and maps (RFC 5280 §4.2.1 and the
 * Microsoft ones). Each takes the extnValue contents and throws ERR_HTTPAUTH_ASN1_MALFORMED, and
 * nothing else, on anything that is not the exact DER of its type.
 */
import {
  Tag,
  children,
  content,
  decodeDer,
  expectTag,
  readOid,
  readTlv,
  type DerNode,
} from '../asn1/der.js';
import { canonicalSid } from '../directory/sid.js';
import { fail } from '../errors.js';
import { MAX_CERTIFICATE_BYTES } from './x509.js';

export const OID_SUBJECT_KEY_IDENTIFIER = '2.5.29.14';
export const OID_KEY_USAGE = '2.5.29.15';
export const OID_SUBJECT_ALT_NAME = '2.5.29.17';
export const OID_BASIC_CONSTRAINTS = '2.5.29.19';
export const OID_EXT_KEY_USAGE = '2.5.29.37';
export const OID_ANY_EXT_KEY_USAGE = '2.5.29.37.0';
/** id-kp-clientAuth, RFC 5280 §4.2.1.12. */
export const OID_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
/** szOID_NT_PRINCIPAL_NAME: the UPN otherName of smart-card logon certificates. */
export const OID_UPN = '1.3.6.1.4.1.311.20.2.3';
/** szOID_NTDS_CA_SECURITY_EXT, MS-WCCE §2.2.2.7.7.4 (KB5014754 strong mapping). */
export const OID_NTDS_CA_SECURITY_EXT = '1.3.6.1.4.1.311.25.2';
/** szOID_NTDS_OBJECTSID, the otherName type inside that extension. */
export const OID_NTDS_OBJECTSID = '1.3.6.1.4.1.311.25.2.1';

/** KeyUsage bits (RFC 5280 §4.2.1.3), as `1 << bit`. */
export const KeyUsage = {
  digitalSignature: 1 << 0,
  keyCertSign: 1 << 5,
  cRLSign: 1 << 6,
} as const;

/** Most names or purposes one extension may list before it is refused. */
const MAX_ENTRIES = 64;

function malformed(): never {
  fail('ERR_HTTPAUTH_ASN1_MALFORMED');
}

function whole(value: Buffer, tag: number): DerNode {
  return decodeDer(value, tag, MAX_CERTIFICATE_BYTES);
}

function bounded(list: DerNode[]): DerNode[] {
  if (list.length > MAX_ENTRIES) malformed();
  return list;
}

/** SubjectKeyIdentifier ::= KeyIdentifier ::= OCTET STRING (RFC 5280 §4.2.1.2). */
export function decodeSubjectKeyIdentifier(value: Buffer): Buffer {
  const id = content(whole(value, Tag.OCTET_STRING));
  // RFC 5280 §4.2.1.2 suggests 160-bit identifiers; anything empty or huge is not one.
  if (id.length === 0 || id.length > 64) malformed();
  return Buffer.from(id);
}

/** KeyUsage ::= BIT STRING, as a bit mask where bit n is `1 << n` (bit 0 = digitalSignature). */
export function decodeKeyUsage(value: Buffer): number {
  const bits = content(whole(value, Tag.BIT_STRING));
  if (bits.length < 1 || bits.length > 3) malformed();
  const unused = bits[0] as number;
  if (unused > 7 || (bits.length === 1 && unused !== 0)) malformed();
  let mask = 0;
  for (let n = 0; n < (bits.length - 1) * 8; n++) {
    const byte = bits[1 + (n >> 3)] as number;
    if ((byte & (0x80 >> (n & 7))) !== 0) mask |= 1 << n;
  }
  return mask;
}

/** ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId (RFC 5280 §4.2.1.12). */
export function decodeExtKeyUsage(value: Buffer): string[] {
  const purposes = bounded(children(whole(value, Tag.SEQUENCE)));
  if (purposes.length === 0) malformed();
  return purposes.map(readOid);
}

export interface BasicConstraints {
  readonly ca: boolean;
  readonly pathLength?: number;
}

/** BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }. */
export function decodeBasicConstraints(value: Buffer): BasicConstraints {
  const fields = children(whole(value, Tag.SEQUENCE));
  let index = 0;
  let ca = false;
  if (fields[0]?.tag === Tag.BOOLEAN) {
    const flag = content(fields[0]);
    if (flag.length !== 1 || flag[0] !== 0xff) malformed(); // DER: FALSE is the absent default
    ca = true;
    index++;
  }
  const lengthNode = fields[index];
  if (lengthNode === undefined) return { ca };
  if (fields.length !== index + 1) malformed();
  const octets = content(expectTag(lengthNode, Tag.INTEGER));
  // A non-negative INTEGER of at most two octets (pathLen beyond 32767 means nothing here).
  if (octets.length < 1 || octets.length > 2 || ((octets[0] as number) & 0x80) !== 0) malformed();
  if (octets.length === 2 && octets[0] === 0 && (octets[1] as number) < 0x80) malformed();
  return { ca, pathLength: octets.readUIntBE(0, octets.length) };
}

export interface AlternativeNames {
  /** otherName szOID_NT_PRINCIPAL_NAME values (UTF8String). */
  readonly upns: readonly string[];
  /** rfc822Name values (IA5String). */
  readonly emails: readonly string[];
}

/** OtherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY } inside an IMPLICIT [0]. */
function readOtherName(node: DerNode): { type: string; value: DerNode } {
  const [typeId, wrapper, ...extra] = children(node);
  if (typeId === undefined || wrapper === undefined || extra.length > 0) malformed();
  if (wrapper.tag !== 0xa0) malformed();
  const value = readTlv(wrapper.buf, wrapper.contentStart, wrapper.end);
  if (value.end !== wrapper.end) malformed();
  return { type: readOid(typeId), value };
}

function ia5(node: DerNode): string {
  const bytes = content(node);
  for (const byte of bytes) if (byte === 0 || byte > 0x7e) malformed();
  return bytes.toString('latin1');
}

function utf8(node: DerNode): string {
  const bytes = content(expectTag(node, Tag.UTF8_STRING));
  const text = bytes.toString('utf8');
  // Refuse invalid UTF-8 (it would decode to U+FFFD) and NUL, which no account name contains.
  if (!Buffer.from(text, 'utf8').equals(bytes) || text.includes('\0')) malformed();
  return text;
}

/** GeneralNames (RFC 5280 §4.2.1.6): the UPN otherNames and the rfc822Names; others skipped. */
export function decodeSubjectAltName(value: Buffer): AlternativeNames {
  const names = bounded(children(whole(value, Tag.SEQUENCE)));
  if (names.length === 0) malformed();
  const upns: string[] = [];
  const emails: string[] = [];
  for (const name of names) {
    if (name.tag === 0xa0) {
      const other = readOtherName(name);
      if (other.type === OID_UPN) upns.push(utf8(other.value));
    } else if (name.tag === 0x81) {
      emails.push(ia5(name));
    } else if ((name.tag & 0xc0) !== 0x80) {
      malformed(); // every GeneralName is context-tagged
    }
  }
  return { upns, emails };
}

/**
 * The SID of the account the certificate was issued to (MS-WCCE §2.2.2.7.7.4): the extension
 * holds GeneralNames with one otherName of type szOID_NTDS_OBJECTSID whose value is
 * `[0] EXPLICIT OCTET STRING` carrying the SID's string form in ASCII ("S-1-5-21-…").
 * Returns the canonical SID string.
 */
export function decodeSidExtension(value: Buffer): string {
  const names = bounded(children(whole(value, Tag.SEQUENCE)));
  let sid: string | undefined;
  for (const name of names) {
    if (name.tag !== 0xa0) malformed();
    const other = readOtherName(name);
    if (other.type !== OID_NTDS_OBJECTSID) continue;
    if (sid !== undefined) malformed(); // two SIDs: which account would it be?
    const text = ia5(expectTag(other.value, Tag.OCTET_STRING));
    sid = canonicalSid(text) ?? malformed();
  }
  return sid ?? malformed();
}
