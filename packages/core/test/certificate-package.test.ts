// The client-certificate package against an internal CA made with openssl: every check (chain,
// validity, key usage, revocation with fail-closed and fail-open, CRL reload), every mapping rule
// with its strength, the fall-through choice, and the per-certificate cache.
import { strict as assert } from 'node:assert';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  clientCertificate,
  peerChain,
  type ClientCertificateOptions,
  type ConnectionResult,
} from '../src/certificate/index.js';
import { CHANNEL_WARNING, type WarningEvent } from '../src/events.js';
import { TEST_SID, createTestPki, type Issued } from './certificate-pki.js';

const pki = createTestPki();
after(() => pki.remove());
const crlFiles = [pki.rootCrl, pki.intermediateCrl];
const now = Date.now();

function make(extra: Partial<ClientCertificateOptions> = {}) {
  return clientCertificate({ ca: pki.rootPem, revocation: { crlFiles }, ...extra });
}

const weak = {
  allowWeakMappings: true,
  mapping: [{ type: 'sid' }, { type: 'upn' }, { type: 'email' }],
} as const satisfies Partial<ClientCertificateOptions>;

async function code(result: Promise<ConnectionResult>): Promise<string> {
  const settled = await result;
  assert.equal(
    settled.type,
    'reject',
    settled.type === 'complete' ? settled.principal.name : settled.type,
  );
  return settled.type === 'reject' ? settled.error.code : '';
}

async function principal(result: Promise<ConnectionResult>) {
  const settled = await result;
  assert.equal(
    settled.type,
    'complete',
    settled.type === 'reject' ? settled.error.code : settled.type,
  );
  if (settled.type !== 'complete') throw new Error('unreachable');
  return settled.principal;
}

const check = (pkg: ReturnType<typeof make>, cert: Issued, at = now) =>
  pkg.authenticateConnection(pki.chain(cert), at);

describe('path validation', () => {
  const pkg = make(weak);

  it('accepts a chain to the configured root', async () => {
    assert.equal((await principal(check(pkg, pki.certs.upn))).mechanism, 'Certificate');
  });

  it('refuses a certificate from an unknown CA, and a chain without its intermediate', async () => {
    assert.equal(await code(check(pkg, pki.certs.unknownCa)), 'ERR_HTTPAUTH_CERT_UNTRUSTED');
    // A package that never saw the intermediate cannot complete the leaf alone.
    assert.equal(
      await code(make(weak).authenticateConnection([pki.certs.upn.der], now)),
      'ERR_HTTPAUTH_CERT_UNTRUSTED',
    );
    // The root configured is the unknown one: the real chain leads nowhere.
    const other = clientCertificate({
      ca: readFileSync(pki.unknownRoot.cert, 'utf8'),
      revocation: { crlFiles, failOpen: true },
      ...weak,
    });
    assert.equal(await code(check(other, pki.certs.upn)), 'ERR_HTTPAUTH_CERT_UNTRUSTED');
  });

  it('refuses a chain whose intermediate is presented as the leaf (not clientAuth, a CA)', async () => {
    assert.equal(
      await code(pkg.authenticateConnection([pki.intermediate.der], now)),
      'ERR_HTTPAUTH_CERT_USAGE',
    );
  });

  it('refuses a path through a certificate that is no CA, or longer than a pathLenConstraint', async () => {
    const pkg = make(weak);
    for (const chain of [pki.badChains.issuedByLeaf, pki.badChains.pathTooLong]) {
      assert.equal(
        await code(pkg.authenticateConnection(chain, now)),
        'ERR_HTTPAUTH_CERT_UNTRUSTED',
      );
    }
  });

  it('refuses an expired certificate and one not yet valid', async () => {
    assert.equal(await code(check(pkg, pki.certs.expired)), 'ERR_HTTPAUTH_CERT_EXPIRED');
    assert.equal(
      await code(check(pkg, pki.certs.upn, now - 86_400_000 * 2)),
      'ERR_HTTPAUTH_CERT_NOT_YET_VALID',
    );
    assert.equal(
      await code(check(pkg, pki.certs.upn, now + 86_400_000 * 400)),
      'ERR_HTTPAUTH_CERT_EXPIRED',
    );
  });

  it('refuses a certificate without clientAuth or without digitalSignature', async () => {
    assert.equal(await code(check(pkg, pki.certs.noClientAuth)), 'ERR_HTTPAUTH_CERT_USAGE');
    assert.equal(await code(check(pkg, pki.certs.noDigitalSignature)), 'ERR_HTTPAUTH_CERT_USAGE');
  });

  it('answers garbage with CERT_MALFORMED and no certificate with none', async () => {
    assert.equal(
      await code(pkg.authenticateConnection([Buffer.from('not a certificate')], now)),
      'ERR_HTTPAUTH_CERT_MALFORMED',
    );
    assert.deepEqual(await pkg.authenticateConnection([], now), { type: 'none' });
  });
});

describe('revocation', () => {
  it('refuses a revoked certificate', async () => {
    assert.equal(await code(check(make(weak), pki.certs.revoked)), 'ERR_HTTPAUTH_CERT_REVOKED');
  });

  it('refuses a chain through a revoked intermediate, checked from the root down', async () => {
    const pkg = make(weak);
    assert.equal(
      await code(pkg.authenticateConnection(pki.badChains.revokedIntermediate, now)),
      'ERR_HTTPAUTH_CERT_REVOKED',
    );
  });

  it('fails closed (503 kind) when the issuer has no CRL, or only a stale one', async () => {
    const missing = clientCertificate({
      ca: pki.rootPem,
      revocation: { crlFiles: [pki.rootCrl] },
      ...weak,
    });
    const result = await check(missing, pki.certs.upn);
    assert.equal(result.type === 'reject' && result.error.kind, 'unavailable');
    assert.equal(
      await code(check(missing, pki.certs.upn)),
      'ERR_HTTPAUTH_CERT_REVOCATION_UNAVAILABLE',
    );
    // Eight days on, the seven-day CRLs are past nextUpdate.
    assert.equal(
      await code(check(make(weak), pki.certs.upn, now + 8 * 86_400_000)),
      'ERR_HTTPAUTH_CERT_REVOCATION_UNAVAILABLE',
    );
  });

  it('refuses to use a CRL whose signature does not verify', async () => {
    const der = Buffer.from(
      readFileSync(pki.intermediateCrl, 'utf8').replace(/-----[^-]+-----|\s/g, ''),
      'base64',
    );
    der[der.length - 5] = (der[der.length - 5] as number) ^ 0x01; // inside the signature
    const tampered = join(pki.dir, 'tampered.crl');
    writeFileSync(tampered, der);
    const pkg = clientCertificate({
      ca: pki.rootPem,
      revocation: { crlFiles: [pki.rootCrl, tampered] },
      ...weak,
    });
    assert.equal(await code(check(pkg, pki.certs.upn)), 'ERR_HTTPAUTH_CERT_REVOCATION_UNAVAILABLE');
    assert.equal(
      await code(check(pkg, pki.certs.revoked)),
      'ERR_HTTPAUTH_CERT_REVOCATION_UNAVAILABLE',
    );
  });

  it('fails open only when told to, and warns each time', async () => {
    const warnings: WarningEvent[] = [];
    const listener = (event: unknown) => warnings.push(event as WarningEvent);
    subscribe(CHANNEL_WARNING, listener);
    try {
      const pkg = clientCertificate({
        ca: pki.rootPem,
        revocation: { crlFiles: [pki.rootCrl], failOpen: true },
        ...weak,
      });
      assert.equal((await principal(check(pkg, pki.certs.upn))).name, 'alice@example.test');
      assert.deepEqual(warnings, [
        { code: 'ERR_HTTPAUTH_CERT_REVOCATION_UNAVAILABLE', source: 'certificate-revocation' },
      ]);
      // Cached only briefly: ten seconds on, the missing CRL is looked for (and warned about) again.
      await principal(pkg.authenticateConnection(pki.chain(pki.certs.upn), now + 5_000));
      assert.equal(warnings.length, 1);
      await principal(pkg.authenticateConnection(pki.chain(pki.certs.upn), now + 11_000));
      assert.equal(warnings.length, 2);
      // A CRL that is there still counts: the revoked certificate stays refused under fail-open.
      assert.equal(
        await code(
          check(make({ ...weak, revocation: { crlFiles, failOpen: true } }), pki.certs.revoked),
        ),
        'ERR_HTTPAUTH_CERT_REVOKED',
      );
    } finally {
      unsubscribe(CHANNEL_WARNING, listener);
    }
  });

  it('refuses at start-up a fail-closed configuration without any CRL, and an unreadable CRL file', () => {
    assert.throws(() => clientCertificate({ ca: pki.rootPem, revocation: { crlFiles: [] } }), {
      code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
    });
    assert.throws(
      () =>
        clientCertificate({
          ca: pki.rootPem,
          revocation: { crlFiles: [join(pki.dir, 'nope.crl')] },
        }),
      { code: 'ERR_HTTPAUTH_INVALID_OPTIONS' },
    );
    assert.throws(() => clientCertificate({ ca: 'no PEM here', revocation: { crlFiles } }), {
      code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
    });
  });

  it('takes a new revocation into account as soon as the CRL file changes, cache or not', async () => {
    const victim = pki.certs.email;
    const pkg = make({ ...weak, revocation: { crlFiles, checkIntervalMs: 0 } });
    const connection = {};
    assert.equal(
      (await principal(pkg.authenticateConnection(pki.chain(victim), now, connection))).name,
      'carol@example.test',
    );
    const before = readFileSync(pki.intermediateCrl);
    pki.revoke(victim);
    pki.regenerateIntermediateCrl();
    try {
      assert.equal(
        await code(pkg.authenticateConnection(pki.chain(victim), now + 1, connection)),
        'ERR_HTTPAUTH_CERT_REVOKED',
      );
    } finally {
      writeFileSync(pki.intermediateCrl, before); // the other tests expect carol unrevoked
    }
  });
});

describe('mapping', () => {
  it('maps the SID extension strongly, named by the resolver, else by the UPN', async () => {
    const bob = await principal(check(make(), pki.certs.sid));
    assert.equal(bob.userSid, TEST_SID);
    assert.equal(bob.name, 'bob@example.test');
    assert.deepEqual([bob.certificate?.strength, bob.certificate?.rule], ['strong', 'sid']);
    const resolved = make({
      mapping: [{ type: 'sid', resolve: (sid) => (sid === TEST_SID ? 'EXAMPLE\\bob' : undefined) }],
    });
    assert.equal((await principal(check(resolved, pki.certs.sid))).name, 'EXAMPLE\\bob');
  });

  it('leaves a certificate without SID unmapped under the default (strong-only) rules', async () => {
    assert.equal(await code(check(make(), pki.certs.upn)), 'ERR_HTTPAUTH_CERT_UNMAPPED');
  });

  it('maps by thumbprint and by issuer + serial as openssl prints them (strong)', async () => {
    const fingerprint = pki
      .openssl(['x509', '-in', pki.certs.email.cert, '-noout', '-fingerprint', '-sha256'])
      .trim()
      .split('=')[1] as string;
    const issuer = pki
      .openssl(['x509', '-in', pki.certs.subject.cert, '-noout', '-issuer', '-nameopt', 'RFC2253'])
      .trim()
      .replace(/^issuer=/, '');
    const serial = pki
      .openssl(['x509', '-in', pki.certs.subject.cert, '-noout', '-serial'])
      .trim()
      .replace(/^serial=/, '');
    const pkg = make({
      mapping: [
        {
          type: 'explicit',
          entries: [
            { sha256: fingerprint.toLowerCase(), name: 'svc-reports' },
            { issuer, serial, name: 'build-01$', sid: 'S-1-5-21-1-2-3-1601' },
          ],
        },
      ],
    });
    const reports = await principal(check(pkg, pki.certs.email));
    assert.deepEqual(
      [reports.name, reports.certificate?.strength, reports.certificate?.rule],
      ['svc-reports', 'strong', 'thumbprint'],
    );
    const build = await principal(check(pkg, pki.certs.subject));
    assert.deepEqual(
      [build.name, build.userSid, build.certificate?.rule],
      ['build-01$', 'S-1-5-21-1-2-3-1601', 'issuer-serial'],
    );
    assert.equal(await code(check(pkg, pki.certs.upn)), 'ERR_HTTPAUTH_CERT_UNMAPPED');
  });

  it('maps UPN, e-mail and subject weakly, only when weak mappings are allowed', async () => {
    const pkg = make({
      allowWeakMappings: true,
      localDomains: ['EXAMPLE.test'],
      mapping: [
        { type: 'upn' },
        { type: 'email' },
        { type: 'subject', pattern: /^CN=([a-z0-9-]+),OU=Machines,O=Example$/, name: '$1$' },
      ],
    });
    const alice = await principal(check(pkg, pki.certs.upn));
    assert.deepEqual(
      [alice.name, alice.user, alice.realm, alice.localRealm, alice.upn],
      ['alice@example.test', 'alice', 'example.test', true, 'alice@example.test'],
    );
    assert.deepEqual(
      [alice.certificate?.strength, alice.certificate?.rule, alice.certificate?.subject],
      ['weak', 'upn', 'CN=alice,O=Example'],
    );
    assert.equal((await principal(check(pkg, pki.certs.email))).certificate?.rule, 'email');
    const machine = await principal(check(pkg, pki.certs.subject));
    assert.deepEqual([machine.name, machine.certificate?.rule], ['build-01$', 'subject']);
    // Two UPNs name no single account.
    assert.equal(await code(check(pkg, pki.certs.twoUpns)), 'ERR_HTTPAUTH_CERT_UNMAPPED');
    for (const rule of [
      { type: 'upn' },
      { type: 'email' },
      { type: 'subject', pattern: /x/, name: 'x' },
    ] as const) {
      assert.throws(() => make({ mapping: [rule] }), { code: 'ERR_HTTPAUTH_INVALID_OPTIONS' });
    }
  });

  it('tries the rules in the configured order', async () => {
    const upnFirst = make({ allowWeakMappings: true, mapping: [{ type: 'upn' }, { type: 'sid' }] });
    assert.equal((await principal(check(upnFirst, pki.certs.sid))).certificate?.rule, 'upn');
    assert.equal((await principal(check(make(weak), pki.certs.sid))).certificate?.rule, 'sid');
  });

  it('refuses malformed mapping options', () => {
    for (const mapping of [
      [],
      [{ type: 'ldap' }],
      [{ type: 'explicit', entries: [{ name: 'x' }] }],
      [{ type: 'explicit', entries: [{ sha256: 'abc', name: 'x' }] }],
    ]) {
      assert.throws(() => make({ mapping: mapping as never }), {
        code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
      });
    }
  });
});

describe('fall-through and caching', () => {
  it('answers none with the error under fall-through, but still refuses an outage', async () => {
    const pkg = make({ ...weak, onInvalidCertificate: 'fall-through' });
    const result = await check(pkg, pki.certs.unknownCa);
    assert.equal(result.type, 'none');
    assert.equal(result.type === 'none' && result.error?.code, 'ERR_HTTPAUTH_CERT_UNTRUSTED');
    const outage = clientCertificate({
      ca: pki.rootPem,
      revocation: { crlFiles: [pki.rootCrl] },
      onInvalidCertificate: 'fall-through',
      ...weak,
    });
    assert.equal(
      await code(check(outage, pki.certs.upn)),
      'ERR_HTTPAUTH_CERT_REVOCATION_UNAVAILABLE',
    );
  });

  it('maps a certificate once per connection and per chain, until something changes', async () => {
    let lookups = 0;
    const pkg = make({ mapping: [{ type: 'sid', resolve: () => `user-${++lookups}` }] });
    const connection = {};
    const chain = pki.chain(pki.certs.sid);
    const first = await principal(pkg.authenticateConnection(chain, now, connection));
    const again = await principal(pkg.authenticateConnection(chain, now + 1000, connection));
    const otherConnection = await principal(
      pkg.authenticateConnection(pki.chain(pki.certs.sid), now + 2000, {}),
    );
    assert.deepEqual(
      [first.name, again.name, otherConnection.name, lookups],
      ['user-1', 'user-1', 'user-1', 1],
    );
    // After the cache lifetime (5 minutes by default) the certificate is checked again.
    assert.equal(
      (await principal(pkg.authenticateConnection(chain, now + 6 * 60_000, connection))).name,
      'user-2',
    );
    // Nor is a result reused for an earlier time (a clock set back): the certificate was not
    // valid two days ago.
    assert.equal(
      await code(pkg.authenticateConnection(chain, now - 2 * 86_400_000, connection)),
      'ERR_HTTPAUTH_CERT_NOT_YET_VALID',
    );
    // A cached success never outlives the certificate.
    assert.equal(
      await code(pkg.authenticateConnection(chain, now + 400 * 86_400_000, connection)),
      'ERR_HTTPAUTH_CERT_EXPIRED',
    );
  });

  it('does not cache a resolver failure', async () => {
    let calls = 0;
    const pkg = make({
      mapping: [
        {
          type: 'sid',
          resolve: () => {
            calls++;
            if (calls === 1) throw new Error('LDAP down');
            return 'bob';
          },
        },
      ],
    });
    assert.equal(await code(check(pkg, pki.certs.sid)), 'ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED');
    assert.equal((await principal(check(pkg, pki.certs.sid))).name, 'bob');
  });
});

describe('leaf-only chains (a resumed TLS session presents the leaf alone)', () => {
  it('completes the chain from configured intermediates', async () => {
    const pkg = make({ ...weak, intermediates: readFileSync(pki.intermediate.cert, 'utf8') });
    const alice = await principal(pkg.authenticateConnection([pki.certs.upn.der], now));
    assert.equal(alice.name, 'alice@example.test');
    assert.equal(
      await code(pkg.authenticateConnection([pki.certs.unknownCa.der], now)),
      'ERR_HTTPAUTH_CERT_UNTRUSTED',
    );
  });

  it('remembers the intermediates of validated chains, and forgets the refusals they change', async () => {
    const pkg = make(weak);
    assert.equal(
      await code(pkg.authenticateConnection([pki.certs.upn.der], now)),
      'ERR_HTTPAUTH_CERT_UNTRUSTED',
    );
    await principal(check(pkg, pki.certs.email)); // teaches the users CA
    assert.equal(
      (await principal(pkg.authenticateConnection([pki.certs.upn.der], now))).name,
      'alice@example.test',
    );
  });

  it('answers the leaf alone from the success cached for the full chain', async () => {
    let lookups = 0;
    const pkg = make({ mapping: [{ type: 'sid', resolve: () => `bob-${++lookups}` }] });
    await principal(check(pkg, pki.certs.sid));
    const resumed = await principal(
      pkg.authenticateConnection([pki.certs.sid.der], now + 1000, {}),
    );
    assert.deepEqual([resumed.name, lookups], ['bob-1', 1]);
  });
});

describe('peerChain', () => {
  it('walks getPeerCertificate(true) up to the self-referencing root', () => {
    const root: { raw: Buffer; issuerCertificate?: unknown } = { raw: Buffer.from('root') };
    root.issuerCertificate = root;
    const leaf = {
      raw: Buffer.from('leaf'),
      issuerCertificate: { raw: Buffer.from('int'), issuerCertificate: root },
    };
    assert.deepEqual(peerChain(leaf as never).map(String), ['leaf', 'int', 'root']);
    assert.deepEqual(peerChain({} as never), []);
    assert.deepEqual(peerChain(null), []);
  });
});
