/**
 * ldapCertificateLookup against a scripted LDAP server (fake-ldap-server.ts): the account's realm
 * comes from its own DN, not the search base; its state attributes are read (an unreadable one
 * refuses); two accounts are both reported (of more, the two sizeLimit lets through); and the shared
 * connection survives one request's LDAP error, while a dropped connection is retried once. The
 * NTAuth store is read from the configuration partition; no such object is an empty store.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { sidToBytes } from '@httpauth/core/wire';
import { ldapCertificateLookup } from '../src/certificate-lookup.js';
import { startFakeLdap, type FakeLdapServer, type SearchAnswer } from './fake-ldap-server.js';

const bind = { dn: 'CN=reader,CN=Users,DC=samdom,DC=test', password: 'secret' };
const servers: FakeLdapServer[] = [];
after(async () => {
  for (const server of servers) await server.close();
});

const filetime = (ms: number) => String(BigInt(ms) * 10_000n + 116_444_736_000_000_000n);

function user(dn: string, rid: number, extra: Record<string, string[]> = {}) {
  return {
    dn,
    attributes: {
      objectSid: [sidToBytes(`S-1-5-21-1-2-3-${rid}`) as Buffer],
      sAMAccountName: [/^CN=([^,]+)/.exec(dn)?.[1] ?? 'x'],
      userAccountControl: ['512'],
      ...extra,
    },
  };
}

/** A server whose account searches answer `accounts(filter)`, base searches with tokenGroups. */
async function serverFor(
  accounts: (filter: string) => SearchAnswer,
  computed?: string,
): Promise<FakeLdapServer> {
  const server = await startFakeLdap((search) =>
    search.scope === 0
      ? {
          entries: [
            {
              dn: search.base,
              attributes: {
                tokenGroups: [sidToBytes('S-1-5-21-1-2-3-513') as Buffer],
                ...(computed === undefined
                  ? {}
                  : { 'msDS-User-Account-Control-Computed': [computed] }),
              },
            },
          ],
        }
      : accounts(search.filter),
  );
  servers.push(server);
  return server;
}

function lookupOf(server: FakeLdapServer) {
  return ldapCertificateLookup({
    url: server.url,
    bind,
    startTls: false,
    allowInsecureBind: true,
    domain: 'SAMDOM',
    timeoutMs: 3000,
  });
}

const query = (value: string) => ({ altSecurityIdentities: [`X509:<SKI>${value}`] });

describe('ldapCertificateLookup against an LDAP server', () => {
  it('names the account in the realm of its own DN, with its state and groups', async () => {
    const expires = Date.UTC(2030, 0, 1);
    const server = await serverFor(
      () => ({
        entries: [
          user('CN=dave,CN=Users,DC=child,DC=samdom,DC=test', 1200, {
            accountExpires: [filetime(expires)],
            lockoutTime: ['0'],
          }),
        ],
      }),
      '16',
    );
    const lookup = lookupOf(server);
    const [account, ...rest] = await lookup.findAccounts(query('AA'));
    await lookup.close();
    assert.equal(rest.length, 0);
    assert.equal(account?.name, 'dave@CHILD.SAMDOM.TEST', 'not the search base SAMDOM.TEST');
    assert.equal(account?.sid, 'S-1-5-21-1-2-3-1200');
    assert.deepEqual(account?.groupSids, ['S-1-5-21-1-2-3-513']);
    assert.equal(account?.userAccountControl, 512);
    assert.equal(account?.computedAccountControl, 16);
    assert.equal(account?.accountExpires, expires);
    assert.equal(account?.lockoutTime, undefined, 'lockoutTime 0: not locked');
  });

  it('reports what it cannot read so that it refuses: no userAccountControl, a bad FILETIME', async () => {
    const server = await serverFor(() => ({
      entries: [
        {
          ...user('CN=erin,CN=Users,DC=samdom,DC=test', 1201),
          attributes: {
            ...user('CN=erin,CN=Users,DC=samdom,DC=test', 1201).attributes,
            userAccountControl: ['not a number'],
            accountExpires: ['9223372036854775807'],
            lockoutTime: ['soon'],
          },
        },
      ],
    }));
    const lookup = lookupOf(server);
    const [account] = await lookup.findAccounts(query('BB'));
    await lookup.close();
    assert.equal(account?.userAccountControl, undefined);
    assert.equal(account?.accountExpires, undefined, 'never expires');
    assert.equal(account?.lockoutTime, 0, 'unreadable: the epoch, not "never locked"');
    assert.equal(account?.computedAccountControl, undefined);
  });

  it('reports two accounts (of more: sizeLimitExceeded), without asking the UPN', async () => {
    const two = await serverFor(() => ({
      entries: [
        user('CN=alice,CN=Users,DC=samdom,DC=test', 1104),
        user('CN=mallory,CN=Users,DC=samdom,DC=test', 1105),
      ],
    }));
    const lookup = lookupOf(two);
    const accounts = await lookup.findAccounts({ ...query('CC'), upn: 'alice@samdom.test' });
    await lookup.close();
    assert.deepEqual(
      accounts.map((a) => a.name),
      ['alice@SAMDOM.TEST', 'mallory@SAMDOM.TEST'],
    );
    assert.ok(!two.searches.some((s) => s.filter.includes('userPrincipalName')));
    const many = await serverFor(() => ({
      entries: [
        user('CN=a,CN=Users,DC=samdom,DC=test', 1),
        user('CN=b,CN=Users,DC=samdom,DC=test', 2),
      ],
      resultCode: 4, // sizeLimitExceeded: a third account exists
    }));
    const manyLookup = lookupOf(many);
    assert.equal((await manyLookup.findAccounts(query('DD'))).length, 2);
    await manyLookup.close();
  });

  it("one request's LDAP error fails it alone: the other lookups keep the shared connection", async () => {
    let failed: () => void = () => undefined;
    const errorSent = new Promise<void>((resolve) => (failed = resolve));
    const server = await serverFor((filter) => {
      if (filter.includes('X509:<SKI>EE')) {
        setImmediate(failed);
        return { resultCode: 51 }; // busy: this request only (RFC 4511 §4.1.9)
      }
      // Answered only after the other request has failed on the same connection.
      return { after: errorSent, entries: [user('CN=frank,CN=Users,DC=samdom,DC=test', 1300)] };
    });
    const lookup = lookupOf(server);
    const pending = lookup.findAccounts(query('FF'));
    const failing = lookup.findAccounts(query('EE'));
    await assert.rejects(failing);
    const [account] = await pending;
    await lookup.close();
    assert.equal(account?.name, 'frank@SAMDOM.TEST');
    assert.equal(server.connections, 1, 'the connection was neither closed nor opened again');
  });

  it('a connection that drops under pending lookups: each is retried once on a new one', async () => {
    const server = await serverFor((filter) =>
      filter.includes('X509:<SKI>11') && server.connections === 1
        ? { drop: true, delayMs: 50 }
        : { entries: [user('CN=grace,CN=Users,DC=samdom,DC=test', 1400)] },
    );
    const lookup = lookupOf(server);
    const results = await Promise.all([
      lookup.findAccounts(query('11')),
      lookup.findAccounts(query('22')),
    ]);
    await lookup.close();
    assert.deepEqual(
      results.map((r) => r[0]?.name),
      ['grace@SAMDOM.TEST', 'grace@SAMDOM.TEST'],
    );
    assert.equal(server.connections, 2);
  });
});

describe("ldapCertificateLookup's NTAuth store (issuers: 'ntauth')", () => {
  const NTAUTH =
    'CN=NTAuthCertificates,CN=Public Key Services,CN=Services,CN=Configuration,DC=samdom,DC=test';

  it('reads every cACertificate value of the object in the configuration partition', async () => {
    const ca1 = Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]);
    const ca2 = Buffer.from([0x30, 0x03, 0x02, 0x01, 0x02]);
    const seen: string[] = [];
    const server = await startFakeLdap((search) => {
      seen.push(search.base);
      return search.base === NTAUTH && search.scope === 0
        ? { entries: [{ dn: NTAUTH, attributes: { cACertificate: [ca1, ca2] } }] }
        : { resultCode: 32 };
    });
    servers.push(server);
    const lookup = lookupOf(server);
    assert.deepEqual(await lookup.ntAuthCertificates(), [ca1, ca2]);
    await lookup.close();
    assert.ok(seen.includes(NTAUTH), seen.join(' | '));
  });

  it('configurationDn names the partition when the root DSE does not', async () => {
    const partition = 'CN=Configuration,DC=forest,DC=test';
    const store = `CN=NTAuthCertificates,CN=Public Key Services,CN=Services,${partition}`;
    const ca = Buffer.from([0x30, 0x03, 0x02, 0x01, 0x07]);
    const answer = (search: { base: string; scope: number }) =>
      search.base === store && search.scope === 0
        ? { entries: [{ dn: store, attributes: { cACertificate: [ca] } }] }
        : { resultCode: 32 };
    // An LDAP proxy's root DSE: the naming context only.
    const rootDse = { defaultNamingContext: ['DC=samdom,DC=test'] };
    const unnamed = await startFakeLdap(answer, 'DC=samdom,DC=test', rootDse);
    servers.push(unnamed);
    const without = lookupOf(unnamed);
    await assert.rejects(without.ntAuthCertificates(), /configurationNamingContext/);
    await without.close();
    const named = await startFakeLdap(answer, 'DC=samdom,DC=test', rootDse);
    servers.push(named);
    const lookup = ldapCertificateLookup({
      url: named.url,
      bind,
      startTls: false,
      allowInsecureBind: true,
      domain: 'SAMDOM',
      configurationDn: partition,
    });
    assert.deepEqual(await lookup.ntAuthCertificates(), [ca]);
    await lookup.close();
    assert.deepEqual(
      named.searches.map((search) => search.base),
      [store],
    );
  });

  it('configurationDn, baseDn and domain must be non-empty strings', () => {
    for (const bad of [
      { configurationDn: '' },
      { configurationDn: 7 },
      { baseDn: '' },
      { domain: '' },
    ]) {
      assert.throws(
        () =>
          ldapCertificateLookup({
            url: 'ldaps://dc.samdom.test',
            bind,
            ...(bad as Record<string, unknown>),
          }),
        { code: 'ERR_HTTPAUTH_INVALID_OPTIONS' },
        JSON.stringify(bad),
      );
    }
  });

  it('no such object (32) is an empty store; any other LDAP error is thrown', async () => {
    for (const [resultCode, expected] of [
      [32, 'empty'],
      [50, 'thrown'],
    ] as const) {
      const server = await startFakeLdap(() => ({ resultCode }));
      servers.push(server);
      const lookup = lookupOf(server);
      const outcome = await lookup.ntAuthCertificates().then(
        (store) => (store.length === 0 ? 'empty' : 'values'),
        () => 'thrown',
      );
      await lookup.close();
      assert.equal(outcome, expected, `resultCode ${resultCode}`);
    }
  });
});
