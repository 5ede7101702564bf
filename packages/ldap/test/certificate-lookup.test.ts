/**
 * ldapCertificateLookup without a directory: the realm it names accounts in, its option checks
 * (the same as ldapSidLookup's: no simple bind in clear), and a directory that is down, which
 * must throw (the certificate package then refuses with 503) rather than hang or map nothing.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { ldapCertificateLookup, realmOfNamingContext } from '../src/certificate-lookup.js';

const bind = { dn: 'CN=reader,CN=Users,DC=samdom,DC=test', password: 'secret' };

describe('ldapCertificateLookup', () => {
  it('names accounts in the realm of the naming context', () => {
    assert.equal(realmOfNamingContext('DC=samdom,DC=test'), 'SAMDOM.TEST');
    assert.equal(realmOfNamingContext('dc=Corp, dc=Example ,DC=com'), 'CORP.EXAMPLE.COM');
    assert.equal(realmOfNamingContext('OU=x,DC=samdom,DC=test'), 'SAMDOM.TEST');
  });

  it('refuses the options ldapSidLookup refuses', () => {
    for (const options of [
      undefined,
      { url: 'ldap://127.0.0.1', bind, startTls: false },
      { url: 'ldaps://127.0.0.1', bind: { dn: 'CN=x', password: '' } },
    ]) {
      assert.throws(() => ldapCertificateLookup(options as never), {
        code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
      });
    }
  });

  it('throws, within its timeouts, when the directory is down', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const lookup = ldapCertificateLookup({
      url: `ldaps://127.0.0.1:${port}`,
      bind,
      timeoutMs: 1000,
      connectTimeoutMs: 1000,
    });
    const started = Date.now();
    await assert.rejects(lookup.findAccounts({ altSecurityIdentities: ['X509:<I>CN=CA<SR>01'] }));
    assert.ok(Date.now() - started < 5000);
    await lookup.close();
  });
});
