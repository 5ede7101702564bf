/**
 * Client certificates for the demo (docs/certificates.md): HTTPAUTH_TLS_CLIENT_CA, a PEM bundle
 * of the CAs whose certificates log on, turns them on over HTTPS; HTTPAUTH_TLS_CRL, the CRL files
 * of those CAs (comma-separated, DER or PEM, re-read when they change), is required with it,
 * since revocation is checked fail-closed; HTTPAUTH_TLS_CLIENT_WEAK_MAPPINGS=1 also maps by the
 * UPN and e-mail address in the certificate (weak in the sense of KB5014754: any CA in the bundle
 * could write any name), after the strong SID extension.
 */
import { readFileSync } from 'node:fs';
import {
  clientCertificate,
  type ConnectionSecurityPackage,
  type MappingRule,
} from '@httpauth/core';

/** What the listener and the authenticator need. */
export interface ClientCertificateSetup {
  readonly pkg: ConnectionSecurityPackage;
  /** The anchors, also sent in the TLS CertificateRequest so clients pick a matching certificate. */
  readonly ca: Buffer;
  readonly offer: string;
  readonly examples: readonly string[];
}

type Env = Readonly<Record<string, string | undefined>>;

function value(env: Env, name: string): string | undefined {
  const text = env[name]?.trim();
  return text === undefined || text === '' ? undefined : text;
}

/** The setup, or undefined without HTTPAUTH_TLS_CLIENT_CA; `fail` says a configuration error. */
export function clientCertificatesFromEnv(
  env: Env,
  tls: boolean,
  fail: (message: string) => Error,
): ClientCertificateSetup | undefined {
  const caFile = value(env, 'HTTPAUTH_TLS_CLIENT_CA');
  const crl = value(env, 'HTTPAUTH_TLS_CRL');
  if (caFile === undefined) {
    if (crl !== undefined) throw fail('HTTPAUTH_TLS_CRL needs HTTPAUTH_TLS_CLIENT_CA');
    return undefined;
  }
  if (!tls) {
    throw fail('HTTPAUTH_TLS_CLIENT_CA needs HTTPAUTH_TLS_CERT and HTTPAUTH_TLS_KEY (HTTPS)');
  }
  if (crl === undefined) {
    throw fail(
      'HTTPAUTH_TLS_CLIENT_CA needs HTTPAUTH_TLS_CRL: the CRL files of its CAs ' +
        '(revocation is checked, and a certificate without revocation data is refused)',
    );
  }
  const crlFiles = crl
    .split(',')
    .map((file) => file.trim())
    .filter((file) => file !== '');
  const weak = value(env, 'HTTPAUTH_TLS_CLIENT_WEAK_MAPPINGS') === '1';
  const mapping: MappingRule[] = weak
    ? [{ type: 'sid' }, { type: 'upn' }, { type: 'email' }]
    : [{ type: 'sid' }];
  let ca: Buffer;
  let pkg: ConnectionSecurityPackage;
  try {
    ca = readFileSync(caFile);
    pkg = clientCertificate({
      ca: ca.toString('utf8'),
      revocation: { crlFiles },
      mapping,
      allowWeakMappings: weak,
    });
  } catch {
    throw fail(
      'HTTPAUTH_TLS_CLIENT_CA / HTTPAUTH_TLS_CRL: cannot use them (a readable PEM bundle of CA ' +
        'certificates, readable CRL files)',
    );
  }
  return {
    pkg,
    ca,
    offer:
      `Certificate: TLS client certificates from the CAs in ${caFile}, mapped by ` +
      `${weak ? 'SID extension, UPN, e-mail (weak mappings allowed)' : 'SID extension'}, ` +
      `revocation from ${crlFiles.join(', ')}`,
    examples: [
      'curl --cacert SERVER-CA.pem --cert CLIENT-CHAIN.pem --key CLIENT.key {base}/whoami',
    ],
  };
}
