/**
 * The gateway with `listen.tls.clientCertificates` (issue 17), in front of an echo upstream: curl
 * presents certificates from an openssl-made internal CA (--cert/--key). Certificate first, Digest
 * second: a mapped certificate reaches the upstream as mechanism Certificate with the mapped name
 * and, configured, its SHA-256 fingerprint; a client without a certificate falls through to
 * Digest; a refused certificate is answered with its code (or falls through when configured so);
 * standing alone, no certificate is 403 ERR_HTTPAUTH_CERT_REQUIRED.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '@httpauth/gateway';
import { createTestPki, type Issued } from '../packages/core/test/certificate-pki.js';
import {
  certificateCurl,
  startCertificateGateway,
  startIdentityEcho,
} from './harness/client-certificates.js';

const run = promisify(execFile);
const DEMO_USERS = fileURLToPath(
  new URL('../examples/intranet-api/demo-users.digest', import.meta.url),
);
const pki = createTestPki();
const rootCa = join(pki.dir, 'root', 'ca.pem');
const curl = certificateCurl(rootCa);
let upstream: { url: string; close(): void };
const gateways: Gateway[] = [];

before(async () => {
  upstream = await startIdentityEcho({
    user: 'x-remote-user',
    mechanism: 'x-auth-mechanism',
    fingerprint: 'x-client-cert-sha256',
  });
});

after(async () => {
  for (const gateway of gateways) await gateway.close();
  upstream.close();
  pki.remove();
});

/** A gateway over TLS asking for client certificates; `extra` is merged into the section. */
async function startGateway(
  clientCertificates: Record<string, unknown> = {},
  auth: Record<string, unknown> = { digest: { file: DEMO_USERS } },
): Promise<string> {
  const { gateway, url } = await startCertificateGateway(
    pki,
    { mapping: [{ type: 'sid' }, { type: 'upn' }], allowWeakMappings: true, ...clientCertificates },
    {
      upstream: upstream.url,
      auth: { realm: 'httpauth-demo', ...auth },
      identity: { certificateFingerprintHeader: 'X-Client-Cert-SHA256' },
    },
    pki.dir,
  );
  gateways.push(gateway);
  return url;
}

const fingerprintOf = (cert: Issued) => new X509Certificate(cert.der).fingerprint256;

describe('the gateway with listen.tls.clientCertificates, Digest second', () => {
  let url: string;
  before(async () => {
    url = await startGateway();
  });

  it('forwards a certificate logon: mechanism Certificate, the mapped name, the fingerprint', async () => {
    const strong = await curl(url, pki.certs.sid);
    assert.deepEqual(strong, {
      status: 200,
      body: {
        user: 'bob@example.test',
        mechanism: 'Certificate',
        fingerprint: fingerprintOf(pki.certs.sid),
      },
      challenges: [],
    });
    const weak = await curl(url, pki.certs.upn);
    assert.equal(weak.body.user, 'alice@example.test');
    assert.equal(weak.body.fingerprint, fingerprintOf(pki.certs.upn));
    // The metrics count certificate logons under their own mechanism label, not 'other'.
    const { stdout: metrics } = await run('curl', [
      '-s',
      '--cacert',
      rootCa,
      url.replace('/app', '/_httpauth/metrics'),
    ]);
    assert.match(metrics, /httpauth_gateway_auth_total\{[^}]*mechanism="Certificate"[^}]*\} 2/);
  });

  it('lets a client without a certificate fall through to Digest, forged fingerprint removed', async () => {
    const challenged = await curl(url, undefined);
    assert.equal(challenged.status, 401);
    assert.equal(challenged.body.error, 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
    assert.ok(challenged.challenges.some((value) => value.startsWith('Digest ')));
    const forged = ['-H', `X-Client-Cert-SHA256: ${fingerprintOf(pki.certs.sid)}`];
    const answer = await curl(url, undefined, ['--digest', '-u', 'alice:alicepw', ...forged]);
    assert.deepEqual(answer.body, { user: 'alice', mechanism: 'Digest', fingerprint: null });
  });

  it('refuses a revoked or untrusted certificate with its code and the Digest challenge', async () => {
    for (const [cert, code] of [
      [pki.certs.revoked, 'ERR_HTTPAUTH_CERT_REVOKED'],
      [pki.certs.unknownCa, 'ERR_HTTPAUTH_CERT_UNTRUSTED'],
      [pki.certs.expired, 'ERR_HTTPAUTH_CERT_EXPIRED'],
    ] as const) {
      const answer = await curl(url, cert);
      assert.deepEqual([answer.status, answer.body.error], [401, code]);
      assert.ok(answer.challenges.some((value) => value.startsWith('Digest ')));
    }
  });
});

describe('the gateway with onInvalidCertificate: fall-through', () => {
  it('lets a client whose certificate is revoked log on with Digest', async () => {
    const url = await startGateway({ onInvalidCertificate: 'fall-through' });
    const answer = await curl(url, pki.certs.revoked, ['--digest', '-u', 'bob:bobpw']);
    assert.deepEqual(
      [answer.status, answer.body],
      [200, { user: 'bob', mechanism: 'Digest', fingerprint: null }],
    );
  });
});

describe('the gateway with client certificates alone', () => {
  it('answers 403 ERR_HTTPAUTH_CERT_REQUIRED without a certificate, 200 with one', async () => {
    const url = await startGateway({}, {});
    const without = await curl(url, undefined);
    assert.deepEqual(
      [without.status, without.body.error, without.challenges],
      [403, 'ERR_HTTPAUTH_CERT_REQUIRED', []],
    );
    const revoked = await curl(url, pki.certs.revoked);
    assert.deepEqual([revoked.status, revoked.body.error], [403, 'ERR_HTTPAUTH_CERT_REVOKED']);
    const answer = await curl(url, pki.certs.sid);
    assert.equal(answer.body.mechanism, 'Certificate');
  });
});
