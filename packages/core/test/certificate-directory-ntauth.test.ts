// The directory rule with `issuers: 'ntauth'`: the CAs allowed for logon are read from the
// directory's own NTAuth store (lookup.ntAuthCertificates()), as Windows members read it. Only a
// certificate whose issuing CA is in the store is looked up; the store is read again once
// cacheTtlMs has passed (a CA removed from NTAuth stops logons within that bound), one read serves
// concurrent logons, and a directory that cannot give the store refuses the logon (503) rather
// than allowing any CA.
import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import type { CertificateAccountLookup } from '../src/certificate/index.js';
import { adIssuerSerial, createTestPki } from './certificate-pki.js';
import { ALICE, directory, packageFor, settle } from './certificate-directory-fixtures.js';

const pki = createTestPki();
after(() => pki.remove());
const now = Date.now();
const cert = pki.certs.subject;
const form = adIssuerSerial(pki, cert);
const usersCa = new X509Certificate(readFileSync(pki.intermediate.cert)).raw;
const rootCa = new X509Certificate(pki.rootPem).raw;

/** A directory whose NTAuth store the test edits, counting reads; `fail` makes a read throw. */
function withStore(store: Buffer[]) {
  const dir = directory({ [form]: ALICE });
  const state = { store, reads: 0, fail: false };
  const lookup: CertificateAccountLookup = {
    findAccounts: dir.lookup.findAccounts,
    async ntAuthCertificates() {
      state.reads++;
      await new Promise((resolve) => setImmediate(resolve));
      if (state.fail) throw new Error('LDAP server unavailable');
      return state.store;
    },
  };
  return { state, queries: dir.queries, lookup };
}

const ntauth = (lookup: CertificateAccountLookup, extra: Record<string, unknown> = {}) =>
  packageFor(pki, { mapping: [{ type: 'directory', lookup, issuers: 'ntauth', ...extra }] });

describe("issuers: 'ntauth' reads the CAs allowed for logon from the directory", () => {
  it('maps a certificate whose issuing CA is in the store, not one whose root only is', async () => {
    const listed = withStore([rootCa, usersCa]);
    const ok = await settle(ntauth(listed.lookup).authenticateConnection(pki.chain(cert), now));
    assert.equal(ok.principal?.name, ALICE.name);
    assert.equal(listed.state.reads, 1);

    // The trust anchor in NTAuth does not allow the CA under it: Windows checks the issuing CA.
    const rootOnly = withStore([rootCa, Buffer.from('not a certificate')]);
    const refused = await settle(
      ntauth(rootOnly.lookup).authenticateConnection(pki.chain(cert), now),
    );
    assert.equal(refused.code, 'ERR_HTTPAUTH_CERT_ISSUER_NOT_ALLOWED');
    assert.equal(rootOnly.queries.length, 0, 'the accounts are not looked up');

    const empty = withStore([]);
    const none = await settle(ntauth(empty.lookup).authenticateConnection(pki.chain(cert), now));
    assert.equal(none.code, 'ERR_HTTPAUTH_CERT_ISSUER_NOT_ALLOWED', 'no store: no CA allowed');
  });

  it('reads the store again after cacheTtlMs: a CA removed from NTAuth stops logons', async () => {
    const dir = withStore([usersCa]);
    const pkg = ntauth(dir.lookup, { cacheTtlMs: 5_000 });
    const chain = pki.chain(cert);
    assert.equal(
      (await settle(pkg.authenticateConnection(chain, now))).principal?.name,
      ALICE.name,
    );
    dir.state.store = [rootCa];
    // The package's result cache holds the logon for the same TTL; a second certificate of the
    // same CA (another chain object) would need the store: within the TTL it is not read again.
    assert.equal(
      (await settle(pkg.authenticateConnection(chain, now + 4_000))).principal?.name,
      ALICE.name,
    );
    assert.equal(dir.state.reads, 1);
    const past = await settle(pkg.authenticateConnection(chain, now + 5_000));
    assert.equal(past.code, 'ERR_HTTPAUTH_CERT_ISSUER_NOT_ALLOWED');
    assert.equal(dir.state.reads, 2);
  });

  it('one read serves logons that arrive together', async () => {
    const dir = withStore([usersCa]);
    const pkg = ntauth(dir.lookup, { cacheTtlMs: 0 });
    const other = pki.certs.email;
    const results = await Promise.all([
      settle(pkg.authenticateConnection(pki.chain(cert), now)),
      settle(pkg.authenticateConnection(pki.chain(other), now)),
    ]);
    assert.equal(results[0]?.principal?.name, ALICE.name);
    assert.equal(dir.state.reads, 1);
  });

  it('a directory that cannot give the store refuses (503) and is asked again next time', async () => {
    const dir = withStore([usersCa]);
    dir.state.fail = true;
    const pkg = ntauth(dir.lookup, { cacheTtlMs: 0 });
    const failed = await settle(pkg.authenticateConnection(pki.chain(cert), now));
    assert.equal(failed.code, 'ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED');
    assert.equal(dir.queries.length, 0, 'no CA is allowed while the store is unknown');
    dir.state.fail = false;
    const mapped = await settle(pkg.authenticateConnection(pki.chain(cert), now + 1));
    assert.equal(mapped.principal?.name, ALICE.name);
  });

  it('needs a lookup that reads the store, and is for the directory rule only', () => {
    const { lookup } = directory({});
    assert.throws(() => ntauth(lookup), { code: 'ERR_HTTPAUTH_INVALID_OPTIONS' });
    const reader = withStore([usersCa]).lookup;
    for (const type of ['sid', 'upn']) {
      assert.throws(
        () =>
          packageFor(pki, {
            mapping: [{ type, issuers: 'ntauth' } as never],
            allowWeakMappings: true,
          }),
        { code: 'ERR_HTTPAUTH_INVALID_OPTIONS' },
      );
    }
    assert.throws(() => ntauth(reader, { anyIssuer: true }), {
      code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
    });
  });
});
