/**
 * Certification path validation for a client's chain (RFC 5280 §6, the parts a client
 * certificate needs): build a path from the leaf through the intermediates the client sent to a
 * configured trust anchor, verifying each signature with node:crypto (OpenSSL), then check every
 * certificate's validity period, the CA certificates' basicConstraints, keyUsage and path length,
 * and the leaf's keyUsage and extendedKeyUsage (clientAuth). A critical extension this code does
 * not process (name constraints, policy constraints, critical certificatePolicies) makes the path
 * untrusted, as RFC 5280 §4.2 requires of a validator that does not recognise it.
 */
import { X509Certificate } from 'node:crypto';
import { HttpAuthError, fail, isHttpAuthError } from '../errors.js';
import {
  KeyUsage,
  OID_ANY_EXT_KEY_USAGE,
  OID_BASIC_CONSTRAINTS,
  OID_CLIENT_AUTH,
  OID_EXT_KEY_USAGE,
  OID_KEY_USAGE,
  OID_NTDS_CA_SECURITY_EXT,
  OID_SUBJECT_ALT_NAME,
  decodeBasicConstraints,
  decodeExtKeyUsage,
  decodeKeyUsage,
} from './extensions.js';
import { parseCertificate, type ParsedCertificate } from './x509.js';

/** Longest chain a client may send, and longest path we build (leaf + intermediates + anchor). */
export const MAX_CHAIN_LENGTH = 8;

export interface PathCertificate {
  readonly x509: X509Certificate;
  readonly parsed: ParsedCertificate;
}

/** Extensions whose meaning this validator enforces (or which carry no constraint). */
const PROCESSED_EXTENSIONS = new Set([
  OID_KEY_USAGE,
  OID_SUBJECT_ALT_NAME,
  OID_BASIC_CONSTRAINTS,
  OID_EXT_KEY_USAGE,
  OID_NTDS_CA_SECURITY_EXT,
  '2.5.29.14', // subjectKeyIdentifier
  '2.5.29.35', // authorityKeyIdentifier
]);

/** Parse one certificate; anything unparseable is ERR_HTTPAUTH_CERT_MALFORMED. */
export function loadCertificate(der: Buffer): PathCertificate {
  try {
    return { x509: new X509Certificate(der), parsed: parseCertificate(der) };
  } catch (cause) {
    throw new HttpAuthError('ERR_HTTPAUTH_CERT_MALFORMED', { cause });
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g;

/** The certificates of PEM bundles (a string or Buffer each). Throws ERR_HTTPAUTH_INVALID_OPTIONS. */
export function loadPemCertificates(bundles: readonly unknown[]): PathCertificate[] {
  const certificates: PathCertificate[] = [];
  for (const bundle of bundles) {
    if (typeof bundle !== 'string' && !Buffer.isBuffer(bundle)) {
      throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS', { reason: 'PEM text expected' });
    }
    const text = Buffer.isBuffer(bundle) ? bundle.toString('latin1') : bundle;
    for (const [pem] of text.matchAll(PEM_CERTIFICATE)) {
      try {
        const x509 = new X509Certificate(pem);
        certificates.push({ x509, parsed: parseCertificate(x509.raw) });
      } catch (cause) {
        throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS', { cause, reason: 'bad PEM' });
      }
    }
  }
  return certificates;
}

/** The trust anchors of PEM bundles: at least one. Throws ERR_HTTPAUTH_INVALID_OPTIONS. */
export function loadTrustAnchors(bundles: readonly unknown[]): PathCertificate[] {
  const anchors = loadPemCertificates(bundles);
  if (anchors.length === 0) {
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS', { reason: 'no CA certificate' });
  }
  return anchors;
}

function issues(issuer: PathCertificate, subject: PathCertificate): boolean {
  // checkIssued compares names and key identifiers; verify checks the signature (OpenSSL).
  return subject.x509.checkIssued(issuer.x509) && subject.x509.verify(issuer.x509.publicKey);
}

/**
 * Phase 1: leaf → … → anchor, by signatures, from the intermediates the client sent, then the
 * ones the server knows (a resumed TLS session presents the leaf alone). Any certificate may sit
 * in the pool: only signatures ending at an anchor make a path. The result ends with the anchor.
 */
function buildPath(
  presented: PathCertificate[],
  anchors: readonly PathCertificate[],
  known: readonly PathCertificate[],
): PathCertificate[] {
  const [leaf, ...sent] = presented;
  const pool = [...sent, ...known];
  if (leaf === undefined) return fail('ERR_HTTPAUTH_CERT_UNTRUSTED');
  const path = [leaf];
  let current = leaf;
  while (path.length < MAX_CHAIN_LENGTH) {
    const anchor = anchors.find((candidate) => issues(candidate, current));
    if (anchor !== undefined) {
      path.push(anchor);
      return path;
    }
    const index = pool.findIndex((candidate) => issues(candidate, current));
    if (index < 0) break;
    current = pool.splice(index, 1)[0] as PathCertificate; // each certificate used once: no loops
    path.push(current);
  }
  return fail('ERR_HTTPAUTH_CERT_UNTRUSTED');
}

function extensionValue(certificate: PathCertificate, oid: string): Buffer | undefined {
  return certificate.parsed.extensions.get(oid)?.value;
}

/** Phase 2: what each CA in the path (intermediates and anchor) must allow. */
function checkAuthorities(path: readonly PathCertificate[]): void {
  for (let i = 1; i < path.length; i++) {
    const authority = path[i] as PathCertificate;
    const constraints = extensionValue(authority, OID_BASIC_CONSTRAINTS);
    // RFC 5280 §6.1.4 (k): an intermediate must assert cA; §4.2.1.9 pathLenConstraint counts
    // the intermediates below it. The anchor is held to the same, as OpenSSL does.
    if (constraints === undefined) fail('ERR_HTTPAUTH_CERT_UNTRUSTED');
    const { ca, pathLength } = decodeBasicConstraints(constraints);
    if (!ca || (pathLength !== undefined && i - 1 > pathLength))
      fail('ERR_HTTPAUTH_CERT_UNTRUSTED');
    const usage = extensionValue(authority, OID_KEY_USAGE);
    if (usage !== undefined && (decodeKeyUsage(usage) & KeyUsage.keyCertSign) === 0) {
      fail('ERR_HTTPAUTH_CERT_UNTRUSTED'); // RFC 5280 §6.1.4 (n)
    }
    // EKU chaining (as Windows and OpenSSL do): a CA restricted to other purposes cannot issue
    // client-authentication certificates.
    const purposes = extensionValue(authority, OID_EXT_KEY_USAGE);
    if (purposes !== undefined) {
      const list = decodeExtKeyUsage(purposes);
      if (!list.includes(OID_CLIENT_AUTH) && !list.includes(OID_ANY_EXT_KEY_USAGE)) {
        fail('ERR_HTTPAUTH_CERT_USAGE');
      }
    }
  }
}

/** Phase 3: no certificate below the anchor carries a critical extension we do not process. */
function checkCriticalExtensions(path: readonly PathCertificate[]): void {
  for (const certificate of path.slice(0, -1)) {
    for (const extension of certificate.parsed.extensions.values()) {
      if (extension.critical && !PROCESSED_EXTENSIONS.has(extension.oid)) {
        fail('ERR_HTTPAUTH_CERT_UNTRUSTED');
      }
    }
  }
}

/** Phase 4: every certificate of the path is within its validity period (RFC 5280 §6.1.3 (a)(2)). */
function checkValidity(path: readonly PathCertificate[], now: number): void {
  for (const { parsed } of path) {
    if (now < parsed.notBefore) fail('ERR_HTTPAUTH_CERT_NOT_YET_VALID');
    if (now > parsed.notAfter) fail('ERR_HTTPAUTH_CERT_EXPIRED');
  }
}

/**
 * Phase 5: the leaf may sign (TLS client authentication is a signature over the handshake,
 * RFC 8446 §4.4.3) and is meant for client authentication (RFC 5280 §4.2.1.12 id-kp-clientAuth).
 * The EKU is required: a certificate without one is valid for any purpose, which is not a
 * statement that its issuer meant it for logging on.
 */
function checkLeafUsage(leaf: PathCertificate): void {
  const usage = extensionValue(leaf, OID_KEY_USAGE);
  if (usage !== undefined && (decodeKeyUsage(usage) & KeyUsage.digitalSignature) === 0) {
    fail('ERR_HTTPAUTH_CERT_USAGE');
  }
  const purposes = extensionValue(leaf, OID_EXT_KEY_USAGE);
  if (purposes === undefined || !decodeExtKeyUsage(purposes).includes(OID_CLIENT_AUTH)) {
    fail('ERR_HTTPAUTH_CERT_USAGE');
  }
}

/**
 * Validate a client chain (leaf first) against the anchors, completing it from `known`
 * intermediates when the client sent too few. Returns the path, leaf first and
 * anchor last. Throws only HttpAuthError: CERT_MALFORMED, CERT_UNTRUSTED, CERT_EXPIRED,
 * CERT_NOT_YET_VALID or CERT_USAGE.
 */
export function validatePath(
  chain: readonly Buffer[],
  anchors: readonly PathCertificate[],
  now: number,
  known: readonly PathCertificate[] = [],
): PathCertificate[] {
  if (chain.length === 0 || chain.length > MAX_CHAIN_LENGTH) fail('ERR_HTTPAUTH_CERT_UNTRUSTED');
  const presented = chain.map(loadCertificate);
  const path = buildPath(presented, anchors, known);
  try {
    checkAuthorities(path);
    checkCriticalExtensions(path);
    checkValidity(path, now);
    checkLeafUsage(path[0] as PathCertificate);
  } catch (error) {
    // A trusted CA signed it, yet an extension does not decode: still the client's input.
    if (isHttpAuthError(error) && error.code === 'ERR_HTTPAUTH_ASN1_MALFORMED') {
      fail('ERR_HTTPAUTH_CERT_MALFORMED', error);
    }
    throw error;
  }
  return path;
}
