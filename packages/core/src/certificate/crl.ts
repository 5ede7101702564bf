/**
 * Certificate revocation lists (RFC 5280 §5): decode, verify the issuer's signature, and answer
 * whether a serial number is revoked. Only complete, direct CRLs are used: a delta CRL, an
 * indirect CRL (certificateIssuer entries) or any other critical extension we do not implement
 * makes the CRL unusable (RFC 5280 §5.2: a critical extension that is not understood means the
 * CRL MUST NOT be used), which the caller treats as missing revocation data.
 */
import { verify as verifySignature, type KeyObject } from 'node:crypto';
import {
  Tag,
  children,
  content,
  contextTag,
  decodeDer,
  expectTag,
  raw,
  readOid,
} from '../asn1/der.js';
import { fail } from '../errors.js';
import { integerHex, readExtensions, readX509Time, UTC_TIME_TAG, type Extension } from './x509.js';

/** A CRL file larger than this is refused (a CA with millions of revocations needs OCSP). */
export const MAX_CRL_BYTES = 32 * 1024 * 1024;

/** CRL and CRL-entry extensions we understand (RFC 5280 §5.2, §5.3). */
const KNOWN_CRL_EXTENSIONS = new Set(['2.5.29.20', '2.5.29.35']); // cRLNumber, AKI
const KNOWN_ENTRY_EXTENSIONS = new Set(['2.5.29.21', '2.5.29.24']); // reasonCode, invalidityDate

export interface CertificateList {
  readonly issuerDer: Buffer;
  readonly thisUpdate: number;
  /** RFC 5280 §5.1.2.5: conforming CRLs carry it; a CRL without it is never fresh. */
  readonly nextUpdate: number | undefined;
  readonly revokedSerials: ReadonlySet<string>;
  readonly tbsDer: Buffer;
  readonly signatureAlgorithm: Buffer;
  readonly signature: Buffer;
}

function malformed(): never {
  fail('ERR_HTTPAUTH_ASN1_MALFORMED');
}

function checkExtensions(extensions: ReadonlyMap<string, Extension>, known: Set<string>): void {
  for (const extension of extensions.values()) {
    if (extension.critical && !known.has(extension.oid)) malformed();
  }
}

/** CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue }. */
export function parseCrl(der: Buffer): CertificateList {
  const list = decodeDer(der, Tag.SEQUENCE, MAX_CRL_BYTES);
  const [tbs, algorithm, signature, ...extra] = children(list);
  if (tbs === undefined || algorithm === undefined || signature === undefined) malformed();
  if (extra.length > 0) malformed();
  const bits = content(expectTag(signature, Tag.BIT_STRING));
  if (bits.length < 2 || bits[0] !== 0) malformed();
  const fields = children(expectTag(tbs, Tag.SEQUENCE));
  let index = 0;
  if (fields[0]?.tag === Tag.INTEGER) {
    // Version: only v2 (1) may be present (RFC 5280 §5.1.2.1).
    const version = content(fields[0]);
    if (version.length !== 1 || version[0] !== 1) malformed();
    index++;
  }
  const innerAlgorithm = expectTag(fields[index] ?? malformed(), Tag.SEQUENCE);
  // RFC 5280 §5.1.1.2: the signature field MUST equal signatureAlgorithm.
  if (!raw(innerAlgorithm).equals(raw(expectTag(algorithm, Tag.SEQUENCE)))) malformed();
  const issuer = expectTag(fields[index + 1] ?? malformed(), Tag.SEQUENCE);
  const thisUpdate = readX509Time(fields[index + 2] ?? malformed());
  index += 3;
  let nextUpdate: number | undefined;
  const maybeNext = fields[index];
  if (maybeNext?.tag === UTC_TIME_TAG || maybeNext?.tag === Tag.GENERALIZED_TIME) {
    nextUpdate = readX509Time(maybeNext);
    index++;
  }
  const revokedSerials = new Set<string>();
  if (fields[index]?.tag === Tag.SEQUENCE) {
    for (const entry of children(fields[index] ?? malformed())) {
      const [serial, date, entryExtensions, ...more] = children(expectTag(entry, Tag.SEQUENCE));
      if (serial === undefined || date === undefined || more.length > 0) malformed();
      readX509Time(date);
      if (entryExtensions !== undefined) {
        checkExtensions(readExtensions(entryExtensions), KNOWN_ENTRY_EXTENSIONS);
      }
      revokedSerials.add(integerHex(serial));
    }
    index++;
  }
  const wrapper = fields[index];
  if (wrapper !== undefined) {
    if (wrapper.tag !== contextTag(0) || fields.length !== index + 1) malformed();
    const [inner, ...rest] = children(wrapper);
    if (inner === undefined || rest.length > 0) malformed();
    checkExtensions(readExtensions(inner), KNOWN_CRL_EXTENSIONS);
  }
  return {
    issuerDer: raw(issuer),
    thisUpdate,
    nextUpdate,
    revokedSerials,
    tbsDer: raw(tbs),
    signatureAlgorithm: raw(algorithm),
    signature: bits.subarray(1),
  };
}

/** Signature algorithms (RFC 4055, RFC 5758, RFC 8410) by OID: the digest node:crypto takes. */
export const SIGNATURE_DIGESTS: ReadonlyMap<string, string | null> = new Map([
  ['1.2.840.113549.1.1.11', 'sha256'], // sha256WithRSAEncryption
  ['1.2.840.113549.1.1.12', 'sha384'],
  ['1.2.840.113549.1.1.13', 'sha512'],
  ['1.2.840.10045.4.3.2', 'sha256'], // ecdsa-with-SHA256
  ['1.2.840.10045.4.3.3', 'sha384'],
  ['1.2.840.10045.4.3.4', 'sha512'],
  ['1.3.101.112', null], // Ed25519
  ['1.3.101.113', null], // Ed448
]);

/**
 * True when `issuerKey` signed this CRL. SHA-1, MD5 and RSA-PSS (whose parameters we would have
 * to decode) are not accepted: such a CRL counts as unusable, never as "nothing revoked".
 */
export function crlSignedBy(crl: CertificateList, issuerKey: KeyObject): boolean {
  try {
    const [oidNode] = children(decodeDer(crl.signatureAlgorithm, Tag.SEQUENCE));
    const digest = SIGNATURE_DIGESTS.get(readOid(oidNode ?? malformed()));
    if (digest === undefined) return false;
    return verifySignature(digest, crl.tbsDer, issuerKey, crl.signature);
  } catch {
    return false;
  }
}
