/**
 * Issue 12, finding 5: a name from a realm that is not ours is not the same-named local user.
 * `alice@PARTNER.TEST` (any realm the KDC trusts) and `CHILD\alice` (a domain the DC trusts) keep
 * their full name as `principal.user`, map to no local user by default, and so gain nothing
 * through alice's POSIX groups; the user database answering for another spelling is no match.
 */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createImpersonation } from '../src/impersonation/policy.js';
import type { PosixIdentity, UserDatabase } from '../src/impersonation/posix.js';
import { encodeKeytab, Keytab } from '../src/kerberos/keytab.js';
import { negotiate } from '../src/negotiate/negotiate.js';
import { NtlmAcceptor } from '../src/ntlm/acceptor.js';
import { ntHashVerifier } from '../src/ntlm/credentials.js';
import { ntowfv1 } from '../src/ntlm/keys.js';
import type { AcceptContext } from '../src/security-package.js';
import type { Principal } from '../src/principal.js';
import { MemoryStore } from '../src/store/memory.js';
import { forgeApReq, randomKey } from './fixtures/kerberos/forge.js';
import { authenticate, negotiate as ntlmNegotiate } from './ntlm-client.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const HOUR = 3600_000;
const serviceKey = randomKey(18);
const keytab = Keytab.parse(
  encodeKeytab([
    { realm: 'EXAMPLE.TEST', components: ['HTTP', 'localhost'], kvno: 2, key: serviceKey },
  ]),
);

const context: AcceptContext = {
  request: { method: 'GET', target: '/', headers: {}, httpVersionMajor: 1, secure: false },
  handshake: undefined,
  channelBinding: undefined,
  store: new MemoryStore(),
  now: NOW,
};

async function negotiatedPrincipal(clientRealm: string, localRealms?: string[]) {
  const { token } = forgeApReq({
    serviceKey,
    kvno: 2,
    clientRealm,
    authtime: NOW - HOUR,
    endtime: NOW + HOUR,
    ctime: NOW,
  });
  const pkg = negotiate({
    kerberos: { keytab, ...(localRealms === undefined ? {} : { localRealms }) },
  });
  const result = await pkg.accept(
    { scheme: 'Negotiate', token68: token.toString('base64') },
    { ...context, store: new MemoryStore() },
  );
  assert.equal(result.type, 'complete');
  if (result.type !== 'complete') throw new Error('unreachable');
  return result.principal;
}

describe('Kerberos through Negotiate', () => {
  test('a trusted realm keeps its full name; the keytab realm is stripped', async () => {
    assert.equal((await negotiatedPrincipal('EXAMPLE.TEST')).user, 'alice');
    const partner = await negotiatedPrincipal('PARTNER.TEST');
    assert.equal(partner.user, 'alice@PARTNER.TEST');
    assert.equal(partner.localRealm, false);
  });

  test('localRealms makes another realm local', async () => {
    assert.equal((await negotiatedPrincipal('PARTNER.TEST', ['PARTNER.TEST'])).user, 'alice');
    const home = await negotiatedPrincipal('EXAMPLE.TEST', ['PARTNER.TEST']);
    assert.equal(home.user, 'alice@EXAMPLE.TEST');
  });
});

describe('NTLM', () => {
  const hashes = new Map([['alice', ntowfv1('Wonderland1')]]);
  async function ntlmPrincipal(accountDomain: string | undefined): Promise<Principal> {
    const inner = ntHashVerifier((user) => hashes.get(user.toLowerCase()));
    const server = new NtlmAcceptor({
      domain: { netbios: 'EXAMPLE', dns: 'example.test' },
      computerName: 'WEB01',
      credentials: {
        // A DC answers with the account's own domain (a trusted CHILD domain here).
        async verify(request) {
          const result = await inner.verify(request);
          if (result === undefined || accountDomain === undefined) return result;
          return { ...result, domain: accountDomain };
        },
      },
    });
    const negotiateMessage = ntlmNegotiate();
    const first = await server.step(negotiateMessage, undefined, { now: NOW });
    assert.equal(first.type, 'continue');
    if (first.type !== 'continue') throw new Error('unreachable');
    const auth = authenticate(negotiateMessage, first.token, {
      user: 'alice',
      password: 'Wonderland1',
      domain: accountDomain ?? 'EXAMPLE',
    });
    const done = await server.step(auth.message, first.state, { now: NOW });
    assert.equal(done.type, 'complete');
    if (done.type !== 'complete') throw new Error('unreachable');
    return done.principal;
  }

  test('an account of another domain is DOMAIN\\user, not user', async () => {
    const child = await ntlmPrincipal('CHILD');
    assert.equal(child.name, 'CHILD\\alice');
    assert.equal(child.user, 'CHILD\\alice');
    assert.equal(child.localRealm, false);
  });

  test('the configured domain, by NetBIOS or DNS name in any case, is local', async () => {
    for (const domain of [undefined, 'example', 'EXAMPLE.TEST']) {
      const local = await ntlmPrincipal(domain);
      assert.equal(local.user, 'alice', String(domain));
      assert.equal(local.localRealm, true);
    }
  });
});

describe('impersonation of a principal of another realm', () => {
  const alice: PosixIdentity = {
    user: 'alice',
    uid: 4242,
    gid: 4242,
    groups: [4242, 5000],
    groupNames: ['alice', 'staff'],
    home: '/home/alice',
    shell: '/bin/sh',
  };
  // A database that folds case, as SSSD with case_sensitive = false does.
  const foldingDatabase: UserDatabase = {
    async lookup(name: string) {
      return name.toLowerCase() === 'alice' ? alice : undefined;
    },
  };
  const factory = createImpersonation({
    allow: { groups: ['staff'] },
    userDatabase: foldingDatabase,
  });
  const kerberos = (name: string, localRealm: boolean): Principal => ({
    name,
    user: localRealm ? (name.split('@')[0] as string) : name,
    realm: name.split('@')[1],
    localRealm,
    mechanism: 'Kerberos',
  });

  test("alice@PARTNER.TEST maps to no local user and gets nothing through alice's groups", async () => {
    const context = await factory(kerberos('alice@PARTNER.TEST', false), undefined);
    assert.equal(context.level, 'identify');
    assert.equal(context.reason, 'unmapped');
  });

  test('CHILD\\alice maps to no local user', async () => {
    const principal: Principal = {
      name: 'CHILD\\alice',
      user: 'CHILD\\alice',
      realm: 'CHILD',
      localRealm: false,
      mechanism: 'NTLM',
    };
    const context = await factory(principal, undefined);
    assert.equal(context.level, 'identify');
    assert.equal(context.reason, 'unmapped');
  });

  test('the user database answering for a name that differs in case is no match', async () => {
    const context = await factory(kerberos('Alice@EXAMPLE.TEST', true), undefined);
    assert.equal(context.level, 'identify');
    assert.equal(context.reason, 'unmapped');
  });

  test('the local alice is still mapped and allowed (control)', async () => {
    const context = await factory(kerberos('alice@EXAMPLE.TEST', true), undefined);
    // Without root the level stays identify, for the server's sake, not the principal's.
    const root = process.getuid?.() === 0;
    assert.equal(context.level, root ? 'impersonate' : 'identify');
    assert.equal(context.reason, root ? undefined : 'server-unprivileged');
  });
});
