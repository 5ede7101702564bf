/**
 * Test harness: a TLS client certificate for headless Chromium. Chromium on Linux takes client
 * certificates from the NSS database `$HOME/.pki/nssdb`; the runner gets a private HOME inside
 * the profile, and the database is made with Debian's libnss3-tools (certutil, pk12util). With
 * several certificates, or none chosen, Chromium would ask the user; the certificate is chosen
 * up front the way an administrator does it:
 *
 *   - 'policy': the managed policy AutoSelectCertificateForUrls, in a file of its own under
 *     /etc/chromium/policies/managed/ (where Chromium on Linux reads policies; root only), removed
 *     when the browser has exited. The rule names this run's URL (host and port), so another
 *     Chromium running meanwhile selects nothing by it.
 *   - 'profile': the same rule as the profile's own auto_select_certificate content setting (what
 *     Chromium stores when a user ticks "remember this decision"; the policy is the managed layer
 *     of that setting), for a run without root.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const POLICY_DIR = '/etc/chromium/policies/managed';

export interface ChromiumClientCertificate {
  /** The certificate, followed by its intermediates (PEM). */
  readonly certificate: string;
  /** Its private key (PEM). */
  readonly key: string;
  /** A CA (PEM) trusted for servers, so the test server's certificate is accepted. */
  readonly trustedCa: string;
  /** The origin (`https://127.0.0.1:port`) the certificate is selected for. */
  readonly origin: string;
  /** The issuer's common name, the filter that picks the certificate. */
  readonly issuerCommonName: string;
  readonly selectBy: 'policy' | 'profile';
}

export interface PreparedCertificate {
  /** HOME for Chromium (its NSS database). */
  readonly env: NodeJS.ProcessEnv;
  /** Preferences for the profile's Default/Preferences. */
  readonly preferences: Record<string, unknown>;
  /** Remove the policy file, if any. */
  cleanup(): Promise<void>;
}

/** AutoSelectCertificateForUrls' rule format (one JSON string per rule). */
function rule(origin: string, issuerCommonName: string) {
  return { pattern: origin, filter: { ISSUER: { CN: issuerCommonName } } };
}

/** Build the NSS database under `profile`/home and select the certificate for its origin. */
export async function prepareClientCertificate(
  profile: string,
  options: ChromiumClientCertificate,
): Promise<PreparedCertificate> {
  const home = join(profile, 'home');
  const database = `sql:${join(home, '.pki', 'nssdb')}`;
  await mkdir(join(home, '.pki', 'nssdb'), { recursive: true });
  await run('certutil', ['-N', '-d', database, '--empty-password']);
  const pkcs12 = join(profile, 'client.p12');
  await run('openssl', [
    'pkcs12',
    '-export',
    '-in',
    options.certificate,
    '-inkey',
    options.key,
    '-out',
    pkcs12,
    '-passout',
    'pass:',
  ]);
  await run('pk12util', ['-i', pkcs12, '-d', database, '-W', '']);
  await rm(pkcs12);
  // "C,,": a CA trusted to issue server certificates.
  await run('certutil', [
    '-A',
    '-d',
    database,
    '-n',
    'test root',
    '-t',
    'C,,',
    '-i',
    options.trustedCa,
  ]);
  const env = { HOME: home };
  const selected = rule(options.origin, options.issuerCommonName);
  if (options.selectBy === 'profile') {
    const exceptions = {
      [`${options.origin},*`]: { setting: { filters: [selected.filter] } },
    };
    return {
      env,
      preferences: {
        profile: { content_settings: { exceptions: { auto_select_certificate: exceptions } } },
      },
      cleanup: async () => {},
    };
  }
  await mkdir(POLICY_DIR, { recursive: true });
  const policyFile = join(POLICY_DIR, `httpauth-test-${process.pid}-${Date.now()}.json`);
  await writeFile(
    policyFile,
    JSON.stringify({ AutoSelectCertificateForUrls: [JSON.stringify(selected)] }),
  );
  return { env, preferences: {}, cleanup: () => rm(policyFile, { force: true }) };
}
