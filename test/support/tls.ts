// Throwaway self-signed certificates for tests, made by openssl in a temporary folder that is
// removed again: TLS servers on loopback and tls-server-end-point channel bindings (RFC 5929 §4).
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  /** PEM private key. */
  readonly key: Buffer;
  /** PEM certificate. */
  readonly cert: Buffer;
  /** The certificate's DER encoding (what channel bindings hash). */
  readonly der: Buffer;
}

/** EC P-256: quick to generate. */
export const EC_P256_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];

/**
 * A certificate for CN=localhost, valid one day. `keyArgs` choose the key (openssl's -newkey
 * arguments); `digest` (sha1, sha384, ...) the signature hash, openssl's default when omitted.
 */
export function selfSignedCertificate(
  options: { keyArgs?: readonly string[]; digest?: string } = {},
): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'httpauth-cert-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-nodes', '-subj', '/CN=localhost', '-days', '1'],
        ...(options.keyArgs ?? EC_P256_KEY),
        ...(options.digest === undefined ? [] : [`-${options.digest}`]),
        ...['-keyout', keyPath, '-out', certPath],
      ],
      { stdio: 'ignore' },
    );
    const cert = readFileSync(certPath);
    return { key: readFileSync(keyPath), cert, der: new X509Certificate(cert).raw };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * selfSignedCertificate() also written to `dir` (as `key.pem` and `cert.pem` unless named), for
 * servers configured with file paths.
 */
export function selfSignedCertificateFiles(
  dir: string,
  names: { key: string; cert: string } = { key: 'key.pem', cert: 'cert.pem' },
): TestCertificate & { keyPath: string; certPath: string } {
  const certificate = selfSignedCertificate();
  const keyPath = join(dir, names.key);
  const certPath = join(dir, names.cert);
  writeFileSync(keyPath, certificate.key);
  writeFileSync(certPath, certificate.cert);
  return { ...certificate, keyPath, certPath };
}
