/**
 * Headless Chromium presenting a client certificate (issue 17): the certificate and its key sit
 * in an NSS database ($HOME/.pki/nssdb, made with certutil/pk12util), and the browser selects it
 * without asking by the managed policy AutoSelectCertificateForUrls (and, for a run without root,
 * by the profile's own auto-select setting). The demo, serving HTTPS with HTTPAUTH_TLS_CLIENT_CA,
 * answers /whoami with mechanism Certificate, the mapped name and how it was mapped.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TEST_SID, createTestPki, type Issued } from '../packages/core/test/certificate-pki.js';
import { chromiumDump, jsonFromDom } from './harness/chromium.js';
import { startDemo, stopDemo, type Demo } from './harness/demo.js';

const pki = createTestPki();
const rootCa = join(pki.dir, 'root', 'ca.pem');
let demo: Demo | undefined;

before(async () => {
  demo = await startDemo({
    HTTPAUTH_TLS_CERT: pki.server.cert,
    HTTPAUTH_TLS_KEY: pki.server.key,
    HTTPAUTH_TLS_CLIENT_CA: rootCa,
    HTTPAUTH_TLS_CRL: `${pki.rootCrl},${pki.intermediateCrl}`,
    HTTPAUTH_TLS_CLIENT_WEAK_MAPPINGS: '1',
  });
});
after(async () => {
  await stopDemo(demo);
  pki.remove();
});

/** /whoami as Chromium renders it, with `client` selected for the demo's origin. */
async function whoami(client: Issued, selectBy: 'policy' | 'profile') {
  const origin = demo?.base as string;
  const dom = await chromiumDump(pki.dir, `${origin}/whoami`, {
    clientCertificate: {
      certificate: client.fullChain,
      key: client.key,
      trustedCa: rootCa,
      origin,
      issuerCommonName: 'Example Users CA',
      selectBy,
    },
  });
  return jsonFromDom(dom) as Record<string, unknown>;
}

describe('headless Chromium with a client certificate from its NSS database', () => {
  it('selected by the AutoSelectCertificateForUrls policy: mechanism Certificate, mapped by SID', async () => {
    const body = await whoami(pki.certs.sid, 'policy');
    assert.equal(body.mechanism, 'Certificate');
    assert.equal(body.name, 'bob@example.test');
    assert.equal(body.userSid, TEST_SID);
    const certificate = body.certificate as Record<string, unknown>;
    assert.deepEqual([certificate.strength, certificate.rule], ['strong', 'sid']);
  });

  it("selected by the profile's auto-select setting: mapped weakly by the UPN", async () => {
    const body = await whoami(pki.certs.upn, 'profile');
    assert.equal(body.mechanism, 'Certificate');
    assert.equal(body.name, 'alice@example.test');
    const certificate = body.certificate as Record<string, unknown>;
    assert.deepEqual([certificate.strength, certificate.rule], ['weak', 'upn']);
  });
});
