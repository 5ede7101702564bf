// The directory rule's decisions about the account: only certificates from the CAs listed in
// `issuers` (AD's NTAuth) are mapped; two accounts claiming a certificate refuse it; a disabled,
// unreadable, locked-out or expired account is refused with its own code, never mapped by a
// later rule; and the directory's answer is cached for cacheTtlMs (60 s) only, so an account
// disabled in AD is refused within that bound.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import type { DirectoryAccount } from '../src/certificate/index.js';
import { adIssuerSerial, createTestPki } from './certificate-pki.js';
import { ALICE, directory, packageFor, settle } from './certificate-directory-fixtures.js';

const pki = createTestPki();
after(() => pki.remove());
const now = Date.now();
const intermediatePem = readFileSync(pki.intermediate.cert, 'utf8');
const cert = pki.certs.subject;
const form = adIssuerSerial(pki, cert);

function intermediateThumbprint(): string {
  const text = pki.openssl([
    'x509',
    '-in',
    pki.intermediate.cert,
    '-noout',
    '-fingerprint',
    '-sha256',
  ]);
  return text.trim().replace(/^.*=/, '');
}

describe('the directory rule maps only certificates of the CAs allowed for logon (NTAuth)', () => {
  it('is refused at start-up without issuers (the secure default)', () => {
    const { lookup } = directory({});
    for (const issuers of [
      undefined,
      [],
      ['not a thumbprint'],
      ['-----BEGIN CERTIFICATE-----\nxx'],
    ]) {
      assert.throws(
        () =>
          packageFor(pki, {
            mapping: [{ type: 'directory', lookup, ...(issuers ? { issuers } : {}) }],
          }),
        { code: 'ERR_HTTPAUTH_INVALID_OPTIONS' },
      );
    }
  });

  it('does not ask the directory about a certificate from another CA under the anchors', async () => {
    const { lookup, queries } = directory({ [form]: ALICE });
    // The root is a trust anchor, but only it (not the users CA that issued the leaf) is listed.
    const pkg = packageFor(pki, {
      mapping: [{ type: 'directory', lookup, issuers: [pki.rootPem] }],
    });
    const { code } = await settle(pkg.authenticateConnection(pki.chain(cert), now));
    assert.equal(code, 'ERR_HTTPAUTH_CERT_ISSUER_NOT_ALLOWED');
    assert.equal(queries.length, 0);
    // A later rule still maps what it can (an explicit table entry is a pin of its own).
    const explicit = packageFor(pki, {
      mapping: [
        { type: 'directory', lookup, issuers: [pki.rootPem] },
        {
          type: 'explicit',
          entries: [
            {
              sha256: pki
                .openssl(['x509', '-in', cert.cert, '-noout', '-fingerprint', '-sha256'])
                .replace(/^.*=/, '')
                .trim(),
              name: 'build-01',
            },
          ],
        },
      ],
    });
    const mapped = await settle(explicit.authenticateConnection(pki.chain(cert), now + 1));
    assert.equal(mapped.principal?.name, 'build-01');
  });

  it('maps a certificate of a listed CA, given as PEM or as its SHA-256 thumbprint', async () => {
    for (const issuers of [
      [intermediatePem],
      [intermediateThumbprint()],
      [Buffer.from(intermediatePem)],
    ]) {
      const { lookup } = directory({ [form]: ALICE });
      const pkg = packageFor(pki, { mapping: [{ type: 'directory', lookup, issuers }] });
      const { principal } = await settle(pkg.authenticateConnection(pki.chain(cert), now));
      assert.equal(principal?.name, ALICE.name);
    }
  });

  it('anyIssuer: true is the explicit opt-out, and it warns', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const { lookup } = directory({ [form]: ALICE });
    const pkg = packageFor(pki, { mapping: [{ type: 'directory', lookup, anyIssuer: true }] });
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    assert.ok(warnings.some((w) => (w as { code?: string }).code === 'HTTPAUTH_CERT_ANY_ISSUER'));
    const { principal } = await settle(pkg.authenticateConnection(pki.chain(cert), now));
    assert.equal(principal?.name, ALICE.name);
    assert.throws(
      () =>
        packageFor(pki, {
          mapping: [{ type: 'directory', lookup, anyIssuer: true, issuers: [intermediatePem] }],
        }),
      { code: 'ERR_HTTPAUTH_INVALID_OPTIONS' },
    );
  });
});

describe('the sid and upn rules take the same optional issuers', () => {
  it('map only certificates of the listed CAs when given', async () => {
    for (const [rule, leaf] of [
      ['sid', pki.certs.sid],
      ['upn', pki.certs.upn],
    ] as const) {
      const only = (issuers: string[]) =>
        packageFor(pki, { mapping: [{ type: rule, issuers }], allowWeakMappings: true });
      const refused = await settle(
        only([pki.rootPem]).authenticateConnection(pki.chain(leaf), now),
      );
      assert.equal(refused.code, 'ERR_HTTPAUTH_CERT_ISSUER_NOT_ALLOWED', rule);
      const mapped = await settle(
        only([intermediatePem]).authenticateConnection(pki.chain(leaf), now),
      );
      assert.equal(mapped.principal?.certificate?.rule, rule);
      assert.throws(() => only([]), { code: 'ERR_HTTPAUTH_INVALID_OPTIONS' });
    }
  });
});

const issuers = [intermediatePem];

async function codeFor(account: DirectoryAccount | DirectoryAccount[], at = now) {
  const { lookup } = directory({ [form]: account });
  const pkg = packageFor(pki, {
    // A SID rule after it: a refusal must not let a weaker or other rule map the certificate.
    mapping: [{ type: 'directory', lookup, issuers }, { type: 'upn' }],
    allowWeakMappings: true,
  });
  return (await settle(pkg.authenticateConnection(pki.chain(cert), at))).code;
}

describe('the account the directory names', () => {
  it('two accounts claiming the certificate: refused as ambiguous, no fall-through', async () => {
    const bob = { ...ALICE, name: 'bob@SAMDOM.TEST', sid: 'S-1-5-21-1-2-3-1105' };
    assert.equal(await codeFor([ALICE, bob]), 'ERR_HTTPAUTH_CERT_MAPPING_AMBIGUOUS');
  });

  it('a disabled account, or one whose userAccountControl could not be read, is refused', async () => {
    assert.equal(
      await codeFor({ ...ALICE, userAccountControl: 0x202 }),
      'ERR_HTTPAUTH_CERT_ACCOUNT_DISABLED',
    );
    assert.equal(
      await codeFor({ ...ALICE, userAccountControl: undefined }),
      'ERR_HTTPAUTH_CERT_ACCOUNT_DISABLED',
    );
    assert.equal(
      await codeFor({ ...ALICE, userAccountControl: Number.NaN }),
      'ERR_HTTPAUTH_CERT_ACCOUNT_DISABLED',
    );
  });

  it('a locked-out account is refused: by the computed UF_LOCKOUT, else by any lockoutTime', async () => {
    const locked = 'ERR_HTTPAUTH_CERT_ACCOUNT_LOCKED';
    assert.equal(await codeFor({ ...ALICE, computedAccountControl: 0x10 }), locked);
    assert.equal(await codeFor({ ...ALICE, lockoutTime: now - 3_600_000 }), locked);
    // The DC computes that the lockout duration is over: the stale lockoutTime does not count.
    assert.equal(
      await codeFor({ ...ALICE, lockoutTime: now - 3_600_000, computedAccountControl: 0 }),
      undefined,
    );
  });

  it('an account past its accountExpires is refused; one expiring later is not', async () => {
    assert.equal(
      await codeFor({ ...ALICE, accountExpires: now - 1 }),
      'ERR_HTTPAUTH_CERT_ACCOUNT_EXPIRED',
    );
    assert.equal(await codeFor({ ...ALICE, accountExpires: now + 60_000 }), undefined);
    assert.equal(
      await codeFor({ ...ALICE, accountExpires: now + 60_000 }, now + 60_000),
      'ERR_HTTPAUTH_CERT_ACCOUNT_EXPIRED',
    );
  });
});

describe('the directory answer in the result cache', () => {
  it('an account disabled in AD is refused once cacheTtlMs (default 60 s) has passed', async () => {
    const dir = directory({ [form]: ALICE });
    const pkg = packageFor(pki, { mapping: [{ type: 'directory', lookup: dir.lookup, issuers }] });
    const chain = pki.chain(cert);
    assert.equal(
      (await settle(pkg.authenticateConnection(chain, now))).principal?.name,
      ALICE.name,
    );
    dir.entries[form] = { ...ALICE, userAccountControl: 0x202 };
    const within = await settle(pkg.authenticateConnection(chain, now + 59_000));
    assert.equal(within.principal?.name, ALICE.name, 'cached within the bound');
    assert.equal(dir.queries.length, 1);
    const past = await settle(pkg.authenticateConnection(chain, now + 60_000));
    assert.equal(past.code, 'ERR_HTTPAUTH_CERT_ACCOUNT_DISABLED');
  });

  it('a negative answer is bounded too; cacheTtlMs: 0 asks the directory every time', async () => {
    const dir = directory({});
    const pkg = packageFor(pki, {
      mapping: [{ type: 'directory', lookup: dir.lookup, issuers, cacheTtlMs: 5_000 }],
    });
    const chain = pki.chain(cert);
    assert.equal(
      (await settle(pkg.authenticateConnection(chain, now))).code,
      'ERR_HTTPAUTH_CERT_UNMAPPED',
    );
    dir.entries[form] = ALICE;
    assert.equal(
      (await settle(pkg.authenticateConnection(chain, now + 4_000))).code,
      'ERR_HTTPAUTH_CERT_UNMAPPED',
    );
    assert.equal(
      (await settle(pkg.authenticateConnection(chain, now + 5_000))).principal?.name,
      ALICE.name,
    );
    const always = directory({ [form]: ALICE });
    const uncached = packageFor(pki, {
      mapping: [{ type: 'directory', lookup: always.lookup, issuers, cacheTtlMs: 0 }],
    });
    await settle(uncached.authenticateConnection(chain, now));
    await settle(uncached.authenticateConnection(chain, now));
    assert.equal(always.queries.length, 2);
    assert.throws(
      () =>
        packageFor(pki, {
          mapping: [{ type: 'directory', lookup: always.lookup, issuers, cacheTtlMs: -1 }],
        }),
      { code: 'ERR_HTTPAUTH_INVALID_OPTIONS' },
    );
  });
});
