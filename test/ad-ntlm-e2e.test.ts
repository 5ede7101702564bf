/**
 * Issue 13 end to end: SAMDOM\bob logs on with NTLM checked by a Samba AD DC over NETLOGON
 * (MS-NRPC NetrLogonSamLogonEx on an AES secure channel) through every integration: Fastify, Koa,
 * node:http createHandler, the gateway (auth.ntlm.domainController; the upstream gets bob and his
 * group SIDs) and the demo (HTTPAUTH_NTLM_MACHINE). Clients: curl --ntlm, requests-ntlm, headless
 * Chromium, impacket (its MsvAvTargetName is cifs/<computer>, so its server lists that SPN in
 * targetNames) and gss-ntlmssp through Negotiate's NTLM fallback. Also: a wrong password is a 401
 * with the DC's reason in the audit event, a dead first DC fails over within the timeout, and the
 * relay checks (MS-NLMP §3.2.5.1.2 target name, §3.1.5.1.2 MIC) hold with the DC's session key.
 *
 * One DC for the whole file: Samba's ports are fixed (a machine-wide lock) and provisioning takes
 * about a minute. Each server role has its own machine account, as each host of a domain does.
 */
import * as assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';

import { CHANNEL_FAILURE, domainControllerVerifier, negotiate, ntlm } from '@httpauth/core';
import type { DomainControllerVerifier, FailureEvent } from '@httpauth/core';

import { authenticate, negotiate as ntlmNegotiate } from '../packages/core/test/ntlm-client.js';
import { validateConfig } from '@httpauth/gateway';
import { createGateway } from '@httpauth/gateway';
import type { Gateway } from '@httpauth/gateway';
import { chromiumDump, jsonFromDom } from './harness/chromium.js';
import { startApp, startEcho } from './harness/ad-apps.js';
import { startDemo, stopDemo } from './harness/demo.js';
import type { App, Framework } from './harness/ad-apps.js';
import { curlNegotiate, ntlmFallbackEnv } from './harness/negotiate-clients.js';
import { curlNtlm, impacketNtlm, requestsNtlm, scratchDir } from './harness/ntlm-clients.js';
import { startSambaDc } from './harness/samba-dc.js';
import type { SambaDc } from './harness/samba-dc.js';

const BOB = { name: 'bob', password: 'B0b-Passw0rd!' };
const MACHINES = {
  apps: { name: 'WEB1', password: 'Web1-Machine-Passw0rd!' },
  gateway: { name: 'GW1', password: 'Gw1-Machine-Passw0rd!' },
  demo: { name: 'DEMO1', password: 'Demo1-Machine-Passw0rd!' },
  failover: { name: 'FAIL1', password: 'Fail1-Machine-Passw0rd!' },
};
const DOMAIN = { netbios: 'SAMDOM', dns: 'samdom.test' };
const FRAMEWORKS: Framework[] = ['fastify', 'koa', 'node:http'];

interface Who {
  name?: string;
  mechanism?: string;
  userSid?: string;
  groupSids?: string[];
  mic?: boolean;
}

describe('Active Directory NTLM through every integration (Samba AD DC)', () => {
  let dc: SambaDc;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let verifier: DomainControllerVerifier;
  let gssEnv: NodeJS.ProcessEnv;
  const apps = new Map<string, App>();
  const failures: FailureEvent[] = [];
  const onFailure = (event: unknown): void => void failures.push(event as FailureEvent);

  /** NTLM checked by the DC; every in-process app shares WEB1's one secure channel. */
  const dcNtlm = (extra: { targetNames?: string[] } = {}) =>
    ntlm({ domain: DOMAIN, computerName: verifier.computerName, credentials: verifier, ...extra });
  const assertBob = (who: Who, mechanism = 'NTLM'): void => {
    assert.equal(who.name, 'SAMDOM\\bob');
    assert.equal(who.mechanism, mechanism);
    assert.equal(who.userSid, dc.sids.get('bob'));
    assert.ok(who.groupSids?.includes(`${dc.domainSid}-513`), JSON.stringify(who));
    assert.ok(who.groupSids?.includes(dc.sids.get('webusers') as string), JSON.stringify(who));
  };

  before(async () => {
    dir = await scratchDir('httpauth-ad-ntlm-');
    dc = await startSambaDc({
      users: [BOB],
      groups: [{ name: 'webusers', members: ['bob'] }],
      machineAccounts: Object.values(MACHINES),
    });
    verifier = domainControllerVerifier({
      domain: DOMAIN.netbios,
      servers: ['127.0.0.1'],
      machineAccount: `${MACHINES.apps.name}$`,
      machinePassword: MACHINES.apps.password,
      timeoutMs: 5000,
    });
    for (const framework of FRAMEWORKS) apps.set(framework, await startApp(framework, [dcNtlm()]));
    // impacket names cifs/<server NetBIOS name> whatever the protocol: list that SPN explicitly.
    apps.set('impacket', await startApp('node:http', [dcNtlm({ targetNames: ['cifs/WEB1'] })]));
    apps.set(
      'negotiate',
      await startApp('node:http', [
        negotiate({
          mechanisms: ['ntlm'],
          ntlm: { domain: DOMAIN, computerName: 'WEB1', credentials: verifier },
        }),
      ]),
    );
    // No ticket and no KDC: SPNEGO falls back to NTLM through gss-ntlmssp.
    gssEnv = await ntlmFallbackEnv(dir.path, {
      domain: 'SAMDOM',
      name: 'bob',
      password: BOB.password,
    });
    subscribe(CHANNEL_FAILURE, onFailure);
  });

  after(async () => {
    unsubscribe(CHANNEL_FAILURE, onFailure);
    for (const app of apps.values()) await app.close();
    verifier?.close();
    await dc?.stop();
    await dir?.cleanup();
  });

  for (const framework of FRAMEWORKS) {
    it(`${framework}: curl --ntlm as SAMDOM\\bob gets his SID and groups from the DC`, async () => {
      const r = await curlNtlm(`${apps.get(framework)!.base}/whoami`, 'SAMDOM\\bob', BOB.password);
      assert.equal(r.status, 200, r.body);
      assertBob(JSON.parse(r.body) as Who);
    });
  }

  it('python requests-ntlm', async () => {
    const r = await requestsNtlm(
      dir.path,
      `${apps.get('koa')!.base}/whoami`,
      'SAMDOM\\bob',
      BOB.password,
    );
    assert.equal(r.status, 200, r.body);
    assertBob(JSON.parse(r.body) as Who);
  });

  it('headless Chromium (MIC verified with the session key the DC returned)', async () => {
    const url = apps.get('fastify')!.base.replace('://', `://SAMDOM%5Cbob:${BOB.password}@`);
    const who = jsonFromDom(await chromiumDump(dir.path, `${url}/whoami`)) as Who;
    assertBob(who);
    assert.equal(who.mic, true);
  });

  it('impacket, with cifs/WEB1 in targetNames; refused by default (service class not HTTP)', async () => {
    const r = await impacketNtlm(
      dir.path,
      `${apps.get('impacket')!.base}/whoami`,
      'bob',
      BOB.password,
      'SAMDOM',
    );
    assert.equal(r.status, 200, r.body);
    assertBob(JSON.parse(r.body) as Who);
    const refused = await impacketNtlm(
      dir.path,
      `${apps.get('koa')!.base}/whoami`,
      'bob',
      BOB.password,
      'SAMDOM',
    );
    assert.equal(refused.status, 401, refused.body);
    assert.match(refused.body, /ERR_HTTPAUTH_NTLM_TARGET_NAME/);
  });

  it("gss-ntlmssp through Negotiate's NTLM fallback (curl --negotiate)", async () => {
    const r = await curlNegotiate(`${apps.get('negotiate')!.base}/whoami`, gssEnv, {
      user: `bob:${BOB.password}`,
    });
    assert.equal(r.status, 200, `${r.body} ${r.stderr}`);
    // This server offers only Negotiate; the principal names the mechanism SPNEGO chose.
    assertBob(JSON.parse(r.body) as Who, 'NTLM');
  });

  it('a wrong password is a 401 with the DC reason in the failure event', async () => {
    failures.length = 0;
    const r = await curlNtlm(
      `${apps.get('node:http')!.base}/whoami`,
      'SAMDOM\\bob',
      'not-the-password',
    );
    assert.equal(r.status, 401, r.body);
    const event = failures.find((f) => f.code === 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    assert.ok(event, JSON.stringify(failures));
    assert.equal(event.reason, 'STATUS_WRONG_PASSWORD');
    assert.doesNotMatch(r.body, /STATUS_WRONG_PASSWORD/);
  });

  it('relay checks hold with the DC verifier: a Type 3 for cifs/evil and a tampered MIC are refused', async () => {
    const acceptor = dcNtlm().acceptor;
    const attempt = async (options: { targetName?: string; tamper?: boolean }) => {
      const n = ntlmNegotiate();
      const first = await acceptor.step(n, undefined, { now: Date.now() });
      assert.equal(first.type, 'continue');
      const { message } = authenticate(n, first.token, {
        user: 'bob',
        password: BOB.password,
        domain: 'SAMDOM',
        ...(options.targetName === undefined ? {} : { targetName: options.targetName }),
      });
      if (options.tamper === true) message[72] = (message[72] as number) ^ 0x01; // MIC (MS-NLMP 2.2.1.3)
      return acceptor.step(message, first.state, { now: Date.now() });
    };
    assert.equal((await attempt({ targetName: 'HTTP/127.0.0.1' })).type, 'complete');
    await assert.rejects(attempt({ targetName: 'cifs/evil' }), {
      code: 'ERR_HTTPAUTH_NTLM_TARGET_NAME',
    });
    await assert.rejects(attempt({ tamper: true }), { code: 'ERR_HTTPAUTH_NTLM_MIC_INVALID' });
  });

  it('failover: a dead first DC (127.0.0.1:1) still logs on within the timeout', async () => {
    const failover = ntlm({
      domain: DOMAIN,
      domainController: {
        servers: ['127.0.0.1:1', '127.0.0.1'],
        machineAccount: `${MACHINES.failover.name}$`,
        machinePassword: MACHINES.failover.password,
        timeoutMs: 3000,
      },
    });
    const app = await startApp('koa', [failover]);
    try {
      const t0 = Date.now();
      const r = await curlNtlm(`${app.base}/whoami`, 'SAMDOM\\bob', BOB.password);
      assert.equal(r.status, 200, r.body);
      assertBob(JSON.parse(r.body) as Who);
      assert.ok(Date.now() - t0 < 3000 + 2000, `took ${Date.now() - t0} ms`);
    } finally {
      await app.close();
    }
  });

  it('the gateway (auth.ntlm.domainController, also behind Negotiate, directory.ldap): the upstream sees bob, his group SIDs and their names', async () => {
    const passwordFile = join(dir.path, 'gw1.password');
    await writeFile(passwordFile, `${MACHINES.gateway.password}\n`);
    const adminPasswordFile = join(dir.path, 'admin.password');
    await writeFile(adminPasswordFile, `${dc.adminPassword}\n`, { mode: 0o600 });
    const echo = await startEcho();
    let gateway: Gateway | undefined;
    try {
      gateway = createGateway(
        validateConfig({
          listen: { host: '127.0.0.1', port: 0 },
          upstream: `http://127.0.0.1:${echo.port}`,
          auth: {
            mechanisms: ['negotiate', 'ntlm'],
            negotiate: { keytab: dc.keytabPath },
            ntlm: {
              domain: 'SAMDOM',
              dnsDomain: 'samdom.test',
              domainController: {
                servers: ['127.0.0.1'],
                machineAccount: 'GW1$',
                machinePasswordFile: passwordFile,
              },
            },
          },
          // Names for the SIDs the DC returned, from the DC's own LDAP over LDAPS.
          directory: {
            ldap: {
              url: 'ldaps://127.0.0.1:636',
              bindDn: `Administrator@${dc.realm.toLowerCase()}`,
              passwordFile: adminPasswordFile,
              caFile: join(dc.dir, 'dc', 'private', 'tls', 'ca.pem'),
              servername: `dc1.${dc.realm.toLowerCase()}`,
            },
          },
          log: { level: 'silent' },
        }),
      );
      const { port } = await gateway.listen();
      const r = await curlNtlm(`http://127.0.0.1:${port}/app`, 'SAMDOM\\bob', BOB.password);
      assert.equal(r.status, 200, r.body);
      const headers = (JSON.parse(r.body) as { headers: Record<string, string> }).headers;
      assert.equal(headers['x-remote-user'], 'SAMDOM\\bob');
      const groups = (headers['x-remote-groups'] ?? '').split(',');
      assert.ok(groups.includes(`${dc.domainSid}-513`), headers['x-remote-groups']);
      assert.ok(groups.includes(dc.sids.get('webusers') as string), headers['x-remote-groups']);
      assert.ok(groups.includes('SAMDOM\\webusers'), `names too: ${headers['x-remote-groups']}`);
      assert.equal(headers['x-auth-mechanism'], 'NTLM');
      // Negotiate's NTLM fallback (gss-ntlmssp) goes through the same DC verifier.
      const spnego = await curlNegotiate(`http://127.0.0.1:${port}/app`, gssEnv, {
        user: `bob:${BOB.password}`,
      });
      assert.equal(spnego.status, 200, `${spnego.body} ${spnego.stderr}`);
      const viaNegotiate = (JSON.parse(spnego.body) as { headers: Record<string, string> }).headers;
      assert.equal(viaNegotiate['x-remote-user'], 'SAMDOM\\bob');
      assert.ok(viaNegotiate['x-remote-groups']?.includes(dc.sids.get('webusers') as string));
      const wrong = await curlNtlm(`http://127.0.0.1:${port}/app`, 'SAMDOM\\bob', 'wrong');
      assert.equal(wrong.status, 401, wrong.body);
    } finally {
      await gateway?.close();
      await echo.close();
    }
  });

  it('the gateway CLI: logs bob on through the DC, then exits on SIGTERM (its DC connections closed)', async () => {
    const passwordFile = join(dir.path, 'gw1-cli.password');
    await writeFile(passwordFile, `${MACHINES.gateway.password}\n`);
    const configFile = join(dir.path, 'gateway.json');
    const echo = await startEcho();
    await writeFile(
      configFile,
      JSON.stringify({
        listen: { host: '127.0.0.1', port: 0 },
        upstream: `http://127.0.0.1:${echo.port}`,
        auth: {
          ntlm: {
            domain: 'SAMDOM',
            domainController: {
              servers: ['127.0.0.1'],
              machineAccount: 'GW1$',
              machinePasswordFile: passwordFile,
            },
          },
        },
      }),
    );
    // The installed command, as an operator runs it (its dist, not a second copy from src).
    const cli = new URL('../node_modules/.bin/httpauth-gateway', import.meta.url).pathname;
    const child = spawn(process.execPath, [cli, '-c', configFile], {
      env: { ...process.env, HTTPAUTH_GATEWAY_CONFIG: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        createInterface({ input: child.stdout }).on('line', (line) => {
          const entry = JSON.parse(line) as { msg?: string; port?: number };
          if (entry.msg === 'listening') resolve(entry.port as number);
        });
        child.once('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
      });
      const r = await curlNtlm(`http://127.0.0.1:${port}/app`, 'SAMDOM\\bob', BOB.password);
      assert.equal(r.status, 200, r.body);
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const code = await Promise.race([
        exited,
        new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 10_000)),
      ]);
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await echo.close();
    }
  });

  it('the demo (HTTPAUTH_NTLM_MACHINE): /whoami shows SAMDOM\\bob, his userSid and groupSids', async () => {
    const passwordFile = join(dir.path, 'demo1.password');
    await writeFile(passwordFile, `${MACHINES.demo.password}\n`);
    const demo = await startDemo({
      HTTPAUTH_NTLM_MACHINE: 'DEMO1$',
      HTTPAUTH_NTLM_MACHINE_PASSWORD_FILE: passwordFile,
      HTTPAUTH_NTLM_DC: '127.0.0.1',
      HTTPAUTH_NTLM_DNS_DOMAIN: 'samdom.test',
      HTTPAUTH_NTLM_DOMAIN: 'SAMDOM',
    });
    try {
      const r = await curlNtlm(`${demo.base}/whoami`, 'SAMDOM\\bob', BOB.password);
      assert.equal(r.status, 200, r.body);
      assertBob(JSON.parse(r.body) as Who);
    } finally {
      await stopDemo(demo);
    }
  });
});
