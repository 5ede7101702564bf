// The certificate package in the loop (issue 17): asked about the TLS connection's chain before
// Authorization is read; complete authenticates with scheme 'Certificate', reject answers the
// error's status (with the other packages' challenges when denied), none lets them run.
import { strict as assert } from 'node:assert';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { after, describe, it } from 'node:test';
import { basic } from '../src/basic/index.js';
import { clientCertificate } from '../src/certificate/index.js';
import { CHANNEL_FAILURE, CHANNEL_SUCCESS, CHANNEL_WARNING } from '../src/events.js';
import { identifyContext } from '../src/impersonation/context.js';
import { createAuthenticator } from '../src/loop/authenticator.js';
import type { AuthRequest } from '../src/security-package.js';
import { TEST_SID, createTestPki } from './certificate-pki.js';

const pki = createTestPki();
after(() => pki.remove());

const certificate = clientCertificate({
  ca: pki.rootPem,
  revocation: { crlFiles: [pki.rootCrl, pki.intermediateCrl] },
  mapping: [{ type: 'sid' }, { type: 'upn' }],
  allowWeakMappings: true,
  localDomains: ['example.test'],
});
const password = basic({
  realm: 'certificates',
  verify: (user, secret) => user === 'bob' && secret === 'builder',
});

function request(fields: Partial<AuthRequest> = {}): AuthRequest {
  return {
    method: 'GET',
    target: '/whoami',
    headers: {},
    httpVersionMajor: 1,
    secure: true,
    ...fields,
  };
}

const basicHeader = { authorization: `Basic ${Buffer.from('bob:builder').toString('base64')}` };

/** Collect the events published on a channel while `run` runs. */
async function events<T>(channel: string, run: () => Promise<T>): Promise<[T, unknown[]]> {
  const seen: unknown[] = [];
  const listener = (message: unknown) => seen.push(message);
  subscribe(channel, listener);
  try {
    return [await run(), seen];
  } finally {
    unsubscribe(channel, listener);
  }
}

describe('the certificate phase of the loop', () => {
  const authenticator = createAuthenticator({ certificate, packages: [password] });

  it('authenticates a mapped certificate with scheme and mechanism Certificate', async () => {
    const connection = {};
    const [decision, seen] = await events(CHANNEL_SUCCESS, () =>
      authenticator.authenticate(
        request({ peerCertificateChain: pki.chain(pki.certs.sid), tlsConnection: connection }),
      ),
    );
    assert.equal(decision.type, 'authenticated');
    if (decision.type !== 'authenticated') return;
    assert.equal(decision.scheme, 'Certificate');
    assert.equal(decision.auth.principal.mechanism, 'Certificate');
    assert.equal(decision.auth.principal.userSid, TEST_SID);
    assert.equal(decision.auth.principal.certificate?.strength, 'strong');
    assert.equal(decision.auth.principal.certificate?.rule, 'sid');
    assert.ok(Buffer.isBuffer(decision.auth.context?.peerCertificate));
    assert.deepEqual(seen.length, 1);
    assert.equal((seen[0] as { scheme: string }).scheme, 'Certificate');
  });

  it('takes the certificate over an Authorization header on the same request', async () => {
    const decision = await authenticator.authenticate(
      request({ peerCertificateChain: pki.chain(pki.certs.upn), headers: basicHeader }),
    );
    assert.equal(decision.type, 'authenticated');
    if (decision.type !== 'authenticated') return;
    assert.equal(decision.scheme, 'Certificate');
    assert.equal(decision.auth.principal.user, 'alice');
    assert.equal(decision.auth.principal.certificate?.strength, 'weak');
  });

  it('refuses a revoked certificate with 401, its code and the other challenges', async () => {
    const [decision, seen] = await events(CHANNEL_FAILURE, () =>
      authenticator.authenticate(request({ peerCertificateChain: pki.chain(pki.certs.revoked) })),
    );
    assert.equal(decision.type, 'respond');
    if (decision.type !== 'respond') return;
    assert.equal(decision.status, 401);
    assert.equal(decision.scheme, 'Certificate');
    assert.equal(decision.error.code, 'ERR_HTTPAUTH_CERT_REVOKED');
    assert.deepEqual(
      decision.headers.map(([name, value]) => [name, value.split(' ')[0]]),
      [['www-authenticate', 'Basic']],
    );
    const failure = seen[0] as { scheme: string; code: string };
    assert.equal(failure.scheme, 'Certificate');
    assert.equal(failure.code, 'ERR_HTTPAUTH_CERT_REVOKED');
  });

  it('answers a malformed certificate with 400', async () => {
    const decision = await authenticator.authenticate(
      request({ peerCertificateChain: [Buffer.from([0x30, 0x82, 0xff])] }),
    );
    assert.equal(decision.type === 'respond' && decision.status, 400);
    assert.equal(decision.type === 'respond' && decision.error.code, 'ERR_HTTPAUTH_CERT_MALFORMED');
  });

  it('lets the other packages run without a certificate, or without TLS', async () => {
    for (const fields of [{ peerCertificateChain: [] }, {}]) {
      const challenged = await authenticator.authenticate(request(fields));
      assert.equal(challenged.type === 'respond' && challenged.status, 401);
      const decision = await authenticator.authenticate(
        request({ ...fields, headers: basicHeader }),
      );
      assert.equal(decision.type === 'authenticated' && decision.scheme, 'Basic');
      assert.equal(decision.type === 'authenticated' && decision.auth.principal.name, 'bob');
    }
  });

  it('ignores a chain on a request that came through a trusted proxy', async () => {
    const decision = await authenticator.authenticate(
      request({ peerCertificateChain: pki.chain(pki.certs.sid), viaTrustedProxy: true }),
    );
    assert.equal(
      decision.type === 'respond' && decision.error.code,
      'ERR_HTTPAUTH_CREDENTIALS_REQUIRED',
    );
  });

  it('falls through to the other packages under onInvalidCertificate: fall-through', async () => {
    const lenient = createAuthenticator({
      certificate: clientCertificate({
        ca: pki.rootPem,
        revocation: { crlFiles: [pki.rootCrl, pki.intermediateCrl] },
        onInvalidCertificate: 'fall-through',
      }),
      packages: [password],
    });
    const [decision, seen] = await events(CHANNEL_WARNING, () =>
      lenient.authenticate(
        request({ peerCertificateChain: pki.chain(pki.certs.revoked), headers: basicHeader }),
      ),
    );
    assert.equal(decision.type === 'authenticated' && decision.scheme, 'Basic');
    assert.deepEqual(seen, [
      { code: 'ERR_HTTPAUTH_CERT_REVOKED', source: 'certificate-fall-through' },
    ]);
  });
});

describe('a certificate logon and the other phases', () => {
  it('issues an authentication session, which a request without the certificate reuses', async () => {
    const withSessions = createAuthenticator({
      certificate,
      packages: [password],
      sessions: { keys: [{ id: 'k1', secret: 'a-test-session-key-of-32-characters!' }] },
    });
    const first = await withSessions.authenticate(
      request({ peerCertificateChain: pki.chain(pki.certs.sid) }),
    );
    assert.equal(first.type, 'authenticated');
    if (first.type !== 'authenticated') return;
    assert.equal(first.auth.session?.reused, false);
    const setCookie = first.headers.find(([name]) => name === 'set-cookie')?.[1];
    assert.ok(setCookie !== undefined);
    const cookie = setCookie.split(';')[0] as string;
    const later = await withSessions.authenticate(request({ headers: { cookie } }));
    assert.equal(later.type === 'authenticated' && later.scheme, 'Session');
    assert.equal(later.type === 'authenticated' && later.auth.principal.mechanism, 'Certificate');
  });

  it('gives the principal to the impersonation factory', async () => {
    const seen: string[] = [];
    const acting = createAuthenticator({
      certificate,
      packages: [password],
      impersonation: (principal) => {
        seen.push(`${principal.mechanism}:${principal.name}`);
        return identifyContext(principal);
      },
    });
    await acting.authenticate(request({ peerCertificateChain: pki.chain(pki.certs.upn) }));
    assert.deepEqual(seen, ['Certificate:alice@example.test']);
  });
});

describe('the certificate package standing alone', () => {
  const alone = createAuthenticator({ certificate, packages: [] });

  it('authenticates a certificate and answers 403 ERR_HTTPAUTH_CERT_REQUIRED without one', async () => {
    const ok = await alone.authenticate(
      request({ peerCertificateChain: pki.chain(pki.certs.sid) }),
    );
    assert.equal(ok.type, 'authenticated');
    for (const fields of [{}, { peerCertificateChain: [] }, { headers: basicHeader }]) {
      const decision = await alone.authenticate(request(fields));
      assert.equal(decision.type, 'respond');
      if (decision.type !== 'respond') continue;
      assert.equal(decision.status, 403);
      assert.equal(decision.error.code, 'ERR_HTTPAUTH_CERT_REQUIRED');
      assert.deepEqual(decision.headers, []);
    }
  });

  it('answers a refused certificate with 403 and its code, since there is no challenge', async () => {
    const decision = await alone.authenticate(
      request({ peerCertificateChain: pki.chain(pki.certs.revoked) }),
    );
    assert.equal(decision.type === 'respond' && decision.status, 403);
    assert.equal(decision.type === 'respond' && decision.error.code, 'ERR_HTTPAUTH_CERT_REVOKED');
    assert.deepEqual(decision.type === 'respond' && decision.headers, []);
  });

  it('refuses options that are not the certificate package, and no package at all', () => {
    for (const bad of [
      null,
      {},
      { name: 'Certificate' },
      { name: 'Basic', authenticateConnection() {} },
    ]) {
      assert.throws(() => createAuthenticator({ certificate: bad as never, packages: [] }), {
        code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
      });
    }
    assert.throws(() => createAuthenticator({ packages: [] }), {
      code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
    });
  });
});
