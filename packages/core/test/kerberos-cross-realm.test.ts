/**
 * A real cross-realm trust (issue 12, finding 5): two throwaway MIT realms (test/harness/mit-kdc.ts)
 * sharing krbtgt/EXAMPLE.TEST@PARTNER.TEST, so alice@PARTNER.TEST gets a service ticket for
 * HTTP/localhost@EXAMPLE.TEST from EXAMPLE.TEST's KDC. The server's keytab is EXAMPLE.TEST's:
 * alice@PARTNER.TEST must not become the local `alice`.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startMitKdc, type MitKdc } from '../../../test/harness/mit-kdc.js';
import { createPrincipalMapper } from '../src/impersonation/mapping.js';
import { KerberosAcceptor } from '../src/kerberos/acceptor.js';
import { negotiate } from '../src/negotiate/negotiate.js';
import { MemoryStore } from '../src/store/memory.js';
import { startInitiator } from './fixtures/kerberos/python-initiator.js';

const TRUST = 'krbtgt/EXAMPLE.TEST@PARTNER.TEST';
// One key for the trust in both databases: same principal (so same salt), same password.
const trustPassword = `trust-${Math.random().toString(36).slice(2)}`;

let home: MitKdc;
let partner: MitKdc;
let partnerAliceEnv: NodeJS.ProcessEnv;
let homeBobEnv: NodeJS.ProcessEnv;

function clientConf(path: string): void {
  writeFileSync(
    path,
    `[libdefaults]
    default_realm = PARTNER.TEST
    dns_lookup_kdc = false
    dns_lookup_realm = false
    rdns = false
    dns_canonicalize_hostname = false
    udp_preference_limit = 1

[realms]
    EXAMPLE.TEST = {
        kdc = 127.0.0.1:${home.port}
    }
    PARTNER.TEST = {
        kdc = 127.0.0.1:${partner.port}
    }

[domain_realm]
    localhost = EXAMPLE.TEST
`,
  );
}

function kinit(principal: string, password: string, name: string): NodeJS.ProcessEnv {
  const conf = join(home.dir, `${name}.conf`);
  clientConf(conf);
  const env = { ...home.env, KRB5_CONFIG: conf, KRB5CCNAME: `FILE:${join(home.dir, name)}` };
  const result = spawnSync('kinit', [principal], {
    env,
    input: `${password}\n`,
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(result.status, 0, result.stderr);
  return env;
}

before(async () => {
  home = await startMitKdc({
    realm: 'EXAMPLE.TEST',
    principals: [
      { name: 'HTTP/localhost' },
      { name: 'bob', password: 'bob-password-1' },
      { name: TRUST, password: trustPassword },
    ],
  });
  partner = await startMitKdc({
    realm: 'PARTNER.TEST',
    principals: [
      { name: 'alice', password: 'alice-password-1' },
      { name: TRUST, password: trustPassword },
    ],
  });
  partnerAliceEnv = kinit('alice@PARTNER.TEST', 'alice-password-1', 'alice.cc');
  homeBobEnv = kinit('bob@EXAMPLE.TEST', 'bob-password-1', 'bob.cc');
});

after(async () => {
  await home?.stop();
  await partner?.stop();
});

async function tokenFor(env: NodeJS.ProcessEnv): Promise<Buffer> {
  const initiator = await startInitiator({ service: 'HTTP@localhost', flags: ['mutual'] }, env);
  // The initiator waits for our reply; it is not needed here.
  void initiator.finish({}).catch(() => undefined);
  return initiator.token;
}

async function acceptWith(token: Buffer, localRealms?: string[]) {
  const acceptor = new KerberosAcceptor({
    keytab: home.keytabPath,
    ...(localRealms === undefined ? {} : { localRealms }),
  });
  const result = await acceptor.accept(token, {
    store: new MemoryStore(),
    now: Date.now(),
    channelBinding: undefined,
  });
  assert.ok(result.ok, result.ok ? '' : result.error.code);
  return result;
}

describe('cross-realm MIT trust', () => {
  test('alice@PARTNER.TEST is accepted under her full name, not as the local alice', async () => {
    const result = await acceptWith(await tokenFor(partnerAliceEnv));
    const p = result.principal;
    assert.equal(result.servicePrincipal, 'HTTP/localhost@EXAMPLE.TEST');
    assert.equal(p.name, 'alice@PARTNER.TEST');
    assert.equal(p.realm, 'PARTNER.TEST');
    assert.equal(p.user, 'alice@PARTNER.TEST');
    assert.equal(p.localRealm, false);
    // The default impersonation mapping gives her no local account.
    assert.equal(createPrincipalMapper()(p), undefined);
  });

  test('through Negotiate the mapped user keeps the realm too', async () => {
    const pkg = negotiate({ kerberos: { keytab: home.keytabPath } });
    const token = await tokenFor(partnerAliceEnv);
    const result = await pkg.accept(
      { scheme: 'Negotiate', token68: token.toString('base64') },
      {
        request: { method: 'GET', target: '/', headers: {}, httpVersionMajor: 1, secure: false },
        handshake: undefined,
        channelBinding: undefined,
        store: new MemoryStore(),
        now: Date.now(),
      },
    );
    assert.equal(result.type, 'complete');
    if (result.type !== 'complete') return;
    assert.equal(result.principal.user, 'alice@PARTNER.TEST');
  });

  test('localRealms can declare the partner realm local', async () => {
    const result = await acceptWith(await tokenFor(partnerAliceEnv), [
      'EXAMPLE.TEST',
      'PARTNER.TEST',
    ]);
    assert.equal(result.principal.user, 'alice');
    assert.equal(createPrincipalMapper()(result.principal), 'alice');
  });

  test('a user of the keytab realm is local (control)', async () => {
    const result = await acceptWith(await tokenFor(homeBobEnv));
    assert.equal(result.principal.user, 'bob');
    assert.equal(result.principal.localRealm, true);
    assert.equal(createPrincipalMapper()(result.principal), 'bob');
  });
});
