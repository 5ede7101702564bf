/**
 * Client certificates end to end (issue 17): an internal CA made with openssl (root, users CA,
 * CRLs), real clients presenting certificates (curl --cert/--key, Python requests' `cert=`), and
 * the certificate package first in createAuthenticator, before Digest, behind @httpauth/express,
 * @httpauth/fastify and @httpauth/koa, and in the demo (HTTPAUTH_TLS_CLIENT_CA). A mapped certificate authenticates with mechanism
 * Certificate and says how it was mapped; a revoked one is refused with its stable code and the
 * Digest challenge; a client without a certificate falls through to Digest.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  clientCertificate,
  createAuthenticator,
  digest,
  digestFile,
  type AuthInfo,
  type Authenticator,
} from '@httpauth/core';
import { httpAuth } from '@httpauth/express';
import { httpAuth as fastifyAuth } from '@httpauth/fastify';
import { httpAuth as koaAuth } from '@httpauth/koa';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { TEST_SID, createTestPki, type Issued } from '../packages/core/test/certificate-pki.js';
import { certificateCurl, type CurlAnswer } from './harness/client-certificates.js';
import { demoRefusal, startDemo, stopDemo, type Demo } from './harness/demo.js';

const run = promisify(execFile);
const DEMO_USERS = fileURLToPath(
  new URL('../examples/intranet-api/demo-users.digest', import.meta.url),
);
const pki = createTestPki();
const rootCa = join(pki.dir, 'root', 'ca.pem');
after(() => pki.remove());

const curl = certificateCurl(rootCa);

const PYTHON = `
import json, sys, requests
url, cert, key, ca = sys.argv[1:5]
r = requests.get(url, cert=(cert, key), verify=ca)
print(json.dumps({"status": r.status_code, "body": r.json(),
                  "challenges": [r.headers.get("www-authenticate") or ""]}))
`;

/** Python requests with a client certificate (`cert=(chain, key)`). */
async function python(url: string, cert: Issued): Promise<CurlAnswer> {
  const { stdout } = await run('python3', ['-c', PYTHON, url, cert.fullChain, cert.key, rootCa]);
  return JSON.parse(stdout) as CurlAnswer;
}

/** The scenarios every server (Express, the demo) passes; `url` is its /whoami. */
function scenarios(url: () => string): void {
  it('curl with the SID certificate: mechanism Certificate, mapped strongly by the SID extension', async () => {
    const answer = await curl(url(), pki.certs.sid);
    assert.equal(answer.status, 200);
    assert.equal(answer.body.mechanism, 'Certificate');
    assert.equal(answer.body.userSid, TEST_SID);
    const certificate = answer.body.certificate as Record<string, unknown>;
    assert.equal(certificate.strength, 'strong');
    assert.equal(certificate.rule, 'sid');
  });

  it('Python requests with the UPN certificate: mapped weakly by the UPN', async () => {
    const answer = await python(url(), pki.certs.upn);
    assert.equal(answer.status, 200);
    assert.equal(answer.body.mechanism, 'Certificate');
    assert.equal(answer.body.name, 'alice@example.test');
    const certificate = answer.body.certificate as Record<string, unknown>;
    assert.equal(certificate.strength, 'weak');
    assert.equal(certificate.rule, 'upn');
  });

  it('a revoked certificate: 401 ERR_HTTPAUTH_CERT_REVOKED with the Digest challenge', async () => {
    for (const answer of [
      await curl(url(), pki.certs.revoked),
      await python(url(), pki.certs.revoked),
    ]) {
      assert.equal(answer.status, 401);
      assert.equal(answer.body.error, 'ERR_HTTPAUTH_CERT_REVOKED');
      // Python requests joins repeated WWW-Authenticate headers with ", " (the demo offers NTLM too).
      assert.ok(answer.challenges.some((value) => /(?:^|, )Digest /.test(value)));
    }
  });

  it('a certificate from an unknown CA: 401 ERR_HTTPAUTH_CERT_UNTRUSTED', async () => {
    const answer = await curl(url(), pki.certs.unknownCa);
    assert.equal(answer.status, 401);
    assert.equal(answer.body.error, 'ERR_HTTPAUTH_CERT_UNTRUSTED');
  });

  it('no certificate: challenged for Digest, and curl --digest gets through', async () => {
    const challenged = await curl(url(), undefined);
    assert.equal(challenged.status, 401);
    assert.equal(challenged.body.error, 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
    assert.ok(challenged.challenges.some((value) => value.startsWith('Digest ')));
    const answer = await curl(url(), undefined, ['--digest', '-u', 'alice:alicepw']);
    assert.equal(answer.status, 200);
    assert.equal(answer.body.mechanism, 'Digest');
    assert.equal(answer.body.user, 'alice');
  });
}

const TLS = {
  key: readFileSync(pki.server.key),
  cert: readFileSync(pki.server.cert),
  ca: pki.rootPem, // the CA names sent in the TLS CertificateRequest
  requestCert: true,
  rejectUnauthorized: false, // the package decides, with a stable code or the other packages
};

function whoami(auth: AuthInfo | null | undefined): Record<string, unknown> {
  const principal = auth!.principal;
  return {
    name: principal.name,
    user: principal.user,
    mechanism: principal.mechanism,
    userSid: principal.userSid,
    certificate: principal.certificate,
  };
}

/** Each adapter behind HTTPS asking for certificates; resolves to its base URL and a stop. */
const ADAPTERS: Record<
  string,
  (authenticator: Authenticator) => Promise<{ base: string; stop: () => Promise<void> }>
> = {
  async '@httpauth/express'(authenticator) {
    const app = express();
    app.get('/whoami', httpAuth(authenticator), (req, res) => res.json(whoami(req.auth)));
    return listen(createServer(TLS, app));
  },
  async '@httpauth/fastify'(authenticator) {
    const app = Fastify({ https: TLS });
    await app.register(fastifyAuth, { authenticator });
    app.get('/whoami', async (request) => whoami(request.auth));
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    return { base, stop: () => app.close() };
  },
  async '@httpauth/koa'(authenticator) {
    const app = new Koa();
    app.use(koaAuth(authenticator));
    app.use((ctx) => {
      ctx.body = whoami(ctx.state.auth as AuthInfo);
    });
    return listen(createServer(TLS, app.callback()));
  },
};

async function listen(server: Server): Promise<{ base: string; stop: () => Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

for (const [name, start] of Object.entries(ADAPTERS)) {
  describe(`client certificates with ${name} over HTTPS`, () => {
    let authenticator: Authenticator;
    let running: { base: string; stop: () => Promise<void> } | undefined;
    before(async () => {
      authenticator = createAuthenticator({
        certificate: clientCertificate({
          ca: pki.rootPem,
          revocation: { crlFiles: [pki.rootCrl, pki.intermediateCrl] },
          mapping: [{ type: 'sid' }, { type: 'upn' }],
          allowWeakMappings: true,
        }),
        packages: [digest({ realm: 'httpauth-demo', credentials: digestFile(DEMO_USERS) })],
      });
      running = await start(authenticator);
    });
    after(async () => {
      await running?.stop();
      await authenticator.close();
    });

    scenarios(() => `${running?.base}/whoami`);
  });
}

describe('client certificates in the demo (HTTPAUTH_TLS_CLIENT_CA)', () => {
  let demo: Demo | undefined;
  const tlsEnv = {
    HTTPAUTH_TLS_CERT: pki.server.cert,
    HTTPAUTH_TLS_KEY: pki.server.key,
  };
  before(async () => {
    demo = await startDemo({
      ...tlsEnv,
      HTTPAUTH_TLS_CLIENT_CA: rootCa,
      HTTPAUTH_TLS_CRL: `${pki.rootCrl},${pki.intermediateCrl}`,
      HTTPAUTH_TLS_CLIENT_WEAK_MAPPINGS: '1',
    });
  });
  after(() => stopDemo(demo));

  it('serves HTTPS', () => {
    assert.match(demo?.base ?? '', /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  scenarios(() => `${demo?.base}/whoami`);

  it('refuses to start with a client CA but no CRL, or without HTTPS', async () => {
    const noCrl = await demoRefusal({ ...tlsEnv, HTTPAUTH_TLS_CLIENT_CA: rootCa });
    assert.equal(noCrl.code, 2);
    assert.match(noCrl.stderr, /HTTPAUTH_TLS_CLIENT_CA needs HTTPAUTH_TLS_CRL/);
    const noTls = await demoRefusal({
      HTTPAUTH_TLS_CLIENT_CA: rootCa,
      HTTPAUTH_TLS_CRL: pki.rootCrl,
    });
    assert.equal(noTls.code, 2);
    assert.match(noTls.stderr, /needs HTTPAUTH_TLS_CERT and HTTPAUTH_TLS_KEY/);
  });
});
