/**
 * The parts of an X.509 certificate (RFC 5280 §4.1) the certificate package checks and maps:
 * the raw issuer and subject Names (for CRL matching), the validity period, the serial number and
 * the extensions. node:crypto's X509Certificate does the signatures and the string forms; it does
 * not expose key usage bits, basicConstraints' pathLenConstraint, critical flags or otherName
 * SANs, so this strict DER walk (asn1/der.ts) reads them. Every failure is
 * ERR_HTTPAUTH_ASN1_MALFORMED; nothing else is thrown.
 */
import {
  Tag,
  children,
  content,
  contextTag,
  decodeDer,
  expectTag,
  raw,
  readOid,
  readTlv,
  type DerNode,
} from '../asn1/der.js';
import { fail } from '../errors.js';

/** UTCTime (X.680 §47), absent from der.ts because Kerberos never uses it. */
export const UTC_TIME_TAG = 0x17;
/** A certificate larger than this is refused: real client certificates are a few KiB. */
export const MAX_CERTIFICATE_BYTES = 64 * 1024;
/** A certificate carrying more extensions than this is refused. */
export const MAX_EXTENSIONS = 64;

export interface Extension {
  readonly oid: string;
  readonly critical: boolean;
  /** The contents of extnValue (the DER of the extension's own type). */
  readonly value: Buffer;
}

export interface ParsedCertificate {
  /** The whole certificate, as received. */
  readonly der: Buffer;
  /** Serial number: its INTEGER content octets as upper-case hex, leading zero octets dropped. */
  readonly serialHex: string;
  /**
   * The serial number's INTEGER content octets exactly as encoded, a leading 0x00 (DER's sign
   * octet, X.690 §8.3.2) kept: what Windows keeps in CERT_INFO.SerialNumber and spells in
   * altSecurityIdentities' `X509:<SR>`.
   */
  readonly serialOctets: Buffer;
  /** DER of the issuer Name (compared byte for byte to a CRL's issuer, RFC 5280 §7.1 in practice). */
  readonly issuerDer: Buffer;
  readonly subjectDer: Buffer;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly extensions: ReadonlyMap<string, Extension>;
}

function malformed(): never {
  fail('ERR_HTTPAUTH_ASN1_MALFORMED');
}

function digits(bytes: Buffer, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const d = (bytes[i] as number) - 0x30;
    if (d < 0 || d > 9) malformed();
    value = value * 10 + d;
  }
  return value;
}

/**
 * Time ::= CHOICE { utcTime, generalTime } in the only forms RFC 5280 §4.1.2.5 allows:
 * `YYMMDDHHMMSSZ` (years 1950-2049) and `YYYYMMDDHHMMSSZ`. In milliseconds.
 */
export function readX509Time(node: DerNode): number {
  const bytes = content(node);
  let year: number;
  let rest: number;
  if (node.tag === UTC_TIME_TAG && bytes.length === 13) {
    const yy = digits(bytes, 0, 2);
    year = yy >= 50 ? 1900 + yy : 2000 + yy; // RFC 5280 §4.1.2.5.1
    rest = 2;
  } else if (node.tag === Tag.GENERALIZED_TIME && bytes.length === 15) {
    year = digits(bytes, 0, 4);
    rest = 4;
  } else {
    return malformed();
  }
  if (bytes[bytes.length - 1] !== 0x5a) malformed(); // 'Z': UTC only
  const month = digits(bytes, rest, 2);
  const day = digits(bytes, rest + 2, 2);
  const hour = digits(bytes, rest + 4, 2);
  const minute = digits(bytes, rest + 6, 2);
  const second = digits(bytes, rest + 8, 2);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) malformed();
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) malformed();
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC reads years 0-99 as 1900-1999; no certificate or CRL time precedes year 100.
  if (year < 100) malformed();
  return ms;
}

/** The serial number or any other INTEGER as canonical hex, without a size cap of its own. */
export function integerHex(node: DerNode): string {
  const bytes = content(expectTag(node, Tag.INTEGER));
  if (bytes.length === 0 || bytes.length > 64) malformed();
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return bytes.subarray(start).toString('hex').toUpperCase();
}

/** Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension (RFC 5280 §4.1). */
export function readExtensions(node: DerNode): Map<string, Extension> {
  const list = children(expectTag(node, Tag.SEQUENCE));
  if (list.length === 0 || list.length > MAX_EXTENSIONS) malformed();
  const extensions = new Map<string, Extension>();
  for (const entry of list) {
    const fields = children(expectTag(entry, Tag.SEQUENCE));
    const oid = readOid(fields[0] ?? malformed());
    let index = 1;
    let critical = false;
    if (fields[index]?.tag === Tag.BOOLEAN) {
      const flag = content(fields[index] as DerNode);
      // DER: a BOOLEAN is one octet 0x00 or 0xFF, and DEFAULT FALSE is never encoded (X.690 §11.5).
      if (flag.length !== 1 || flag[0] !== 0xff) malformed();
      critical = true;
      index++;
    }
    const value = content(expectTag(fields[index] ?? malformed(), Tag.OCTET_STRING));
    if (fields.length !== index + 1) malformed();
    // RFC 5280 §4.2: a certificate MUST NOT include more than one instance of an extension.
    if (extensions.has(oid)) malformed();
    extensions.set(oid, { oid, critical, value });
  }
  return extensions;
}

/** Decode a certificate's DER. */
export function parseCertificate(der: Buffer): ParsedCertificate {
  const certificate = decodeDer(der, Tag.SEQUENCE, MAX_CERTIFICATE_BYTES);
  const [tbs, algorithm, signature, ...extra] = children(certificate);
  if (tbs === undefined || algorithm === undefined || signature === undefined) malformed();
  if (extra.length > 0) malformed();
  expectTag(algorithm, Tag.SEQUENCE);
  expectTag(signature, Tag.BIT_STRING);
  const fields = children(expectTag(tbs, Tag.SEQUENCE));
  let index = 0;
  if (fields[0]?.tag === contextTag(0)) index++; // [0] EXPLICIT Version
  const serial = fields[index] ?? malformed();
  const issuer = fields[index + 2] ?? malformed();
  const validity = fields[index + 3] ?? malformed();
  const subject = fields[index + 4] ?? malformed();
  expectTag(fields[index + 1] ?? malformed(), Tag.SEQUENCE);
  expectTag(issuer, Tag.SEQUENCE);
  expectTag(subject, Tag.SEQUENCE);
  expectTag(fields[index + 5] ?? malformed(), Tag.SEQUENCE); // subjectPublicKeyInfo
  const [notBefore, notAfter, ...moreTimes] = children(expectTag(validity, Tag.SEQUENCE));
  if (notBefore === undefined || notAfter === undefined || moreTimes.length > 0) malformed();
  let extensions = new Map<string, Extension>();
  for (const optional of fields.slice(index + 6)) {
    // [1] issuerUniqueID and [2] subjectUniqueID (IMPLICIT BIT STRING) are skipped; [3] holds
    // the extensions (RFC 5280 §4.1).
    if (optional.tag === 0x81 || optional.tag === 0x82) continue;
    if (optional.tag !== contextTag(3)) malformed();
    const inner = readTlv(optional.buf, optional.contentStart, optional.end);
    if (inner.end !== optional.end) malformed();
    extensions = readExtensions(inner);
  }
  return {
    der,
    serialHex: integerHex(serial),
    serialOctets: Buffer.from(content(serial)),
    issuerDer: raw(issuer),
    subjectDer: raw(subject),
    notBefore: readX509Time(notBefore),
    notAfter: readX509Time(notAfter),
    extensions,
  };
}
