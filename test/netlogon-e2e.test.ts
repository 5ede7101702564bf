/**
 * NTLM pass-through to a Samba AD DC over NETLOGON (MS-NRPC): the server holds a machine account
 * (WEB1$), sets up an AES secure channel and asks the DC with NetrLogonSamLogonEx, as a Windows
 * member server does. curl --ntlm as SAMDOM\bob gets 200 with bob's SID and groups; each refusal
 * the DC gives (wrong password, unknown, disabled, expired, must change, locked out) is a 401 whose
 * audit event carries the DC's reason; a stopped DC is a 503 with Retry-After, and the channel
 * recovers when the DC comes back. The MIC is still checked by the acceptor with the session key
 * the DC returned.
 *
 * Samba's ports are fixed, so the harness takes a machine-wide lock; this file keeps its DC short.
 */
import * as assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

import { CHANNEL_FAILURE, negotiate, ntlm } from '@httpauth/core';
import type { FailureEvent } from '@httpauth/core';
import type { NtlmAcceptor } from '@httpauth/core';
import { httpAuth } from '@httpauth/express';
import express from 'express';

import { authenticate, negotiate as ntlmNegotiate } from '../packages/core/test/ntlm-client.js';
import { curlHeaders, sh } from './harness/netlogon-clients.js';
import { listen, type Running } from './harness/listen.js';
import { curlNtlm } from './harness/ntlm-clients.js';
import { startSambaDc } from './harness/samba-dc.js';
import type { SambaDc } from './harness/samba-dc.js';

const MACHINE = { name: 'WEB1', password: 'Web1-Machine-Passw0rd!' };
/** bob of SAMDOM as an NTLM client logs on (his account is the first of USERS). */
const BOB_LOGON = { user: 'bob', password: 'B0b-Passw0rd!', domain: 'SAMDOM' };
const USERS = [
  { name: 'bob', password: 'B0b-Passw0rd!' },
  { name: 'carol', password: 'C4rol-Passw0rd!', state: 'disabled' as const },
  { name: 'dave', password: 'D4ve-Passw0rd!', state: 'passwordExpired' as const },
  { name: 'erin', password: 'Er1n-Passw0rd!', state: 'mustChangePassword' as const },
  { name: 'frank', password: 'Fr4nk-Passw0rd!' },
];
const LOCKOUT_THRESHOLD = 3;

/** curl --ntlm keeping the final response's status and headers. */
describe('NTLM pass-through to a Samba AD DC (NETLOGON)', () => {
  let dc: SambaDc;
  let app: Running;
  let base: string;
  const failures: FailureEvent[] = [];
  const onFailure = (event: unknown): void => {
    failures.push(event as FailureEvent);
  };
  const ntlmPackage = (): ReturnType<typeof ntlm> =>
    ntlm({
      domain: { netbios: 'SAMDOM', dns: 'samdom.test' },
      domainController: {
        servers: ['127.0.0.1'],
        machineAccount: `${MACHINE.name}$`,
        machinePassword: MACHINE.password,
        timeoutMs: 3000,
      },
    });
  let pkg: ReturnType<typeof ntlm>;

  before(async () => {
    dc = await startSambaDc({
      users: USERS,
      groups: [{ name: 'webusers', members: ['bob'] }],
      machineAccounts: [MACHINE],
      lockoutThreshold: LOCKOUT_THRESHOLD,
    });
    pkg = ntlmPackage();
    const web = express();
    web.use(httpAuth({ packages: [pkg] }));
    web.get('/whoami', (req, res) => {
      const p = req.auth?.principal;
      res.json({
        name: p?.name,
        userSid: p?.userSid,
        groupSids: p?.groupSids,
        primaryGroupSid: p?.logonInfo?.primaryGroupSid,
        upn: p?.upn,
      });
    });
    app = await listen(createServer(web));
    base = `http://127.0.0.1:${app.port}`;
    subscribe(CHANNEL_FAILURE, onFailure);
  });

  after(async () => {
    unsubscribe(CHANNEL_FAILURE, onFailure);
    await app?.close();
    await dc?.stop();
  });

  /** bob's AUTHENTICATE for a fresh CHALLENGE from `acceptor`, with the handshake state. */
  async function bobAuthenticate(acceptor: NtlmAcceptor, extra: { workstation?: string } = {}) {
    const n = ntlmNegotiate();
    const first = await acceptor.step(n, undefined, { now: Date.now() });
    assert.equal(first.type, 'continue');
    const { message } = authenticate(n, first.token, { ...BOB_LOGON, ...extra });
    return { message, state: first.state };
  }

  /** The reason of the last 401 audit event after running `request`. */
  async function refusal(user: string, password: string): Promise<string | undefined> {
    failures.length = 0;
    const result = await curlNtlm(`${base}/whoami`, `SAMDOM\\${user}`, password);
    assert.equal(result.status, 401, result.body);
    const event = failures.find((f) => f.code === 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    assert.ok(event, JSON.stringify(failures));
    return event.reason;
  }

  it('curl --ntlm as SAMDOM\\bob: 200 with the SID and groups the DC returned', async () => {
    const result = await curlNtlm(`${base}/whoami`, 'SAMDOM\\bob', 'B0b-Passw0rd!');
    assert.equal(result.status, 200, result.body);
    const who = JSON.parse(result.body);
    assert.equal(who.name, 'SAMDOM\\bob');
    assert.equal(who.userSid, dc.sids.get('bob'));
    assert.equal(who.primaryGroupSid, `${dc.domainSid}-513`);
    assert.ok(who.groupSids.includes(`${dc.domainSid}-513`), who.groupSids);
    assert.ok(who.groupSids.includes(dc.sids.get('webusers')), who.groupSids);
    assert.equal(who.upn, 'bob@samdom.test');
  });

  it('each refusal is a 401 with the DC reason in the audit event only', async () => {
    assert.equal(await refusal('bob', 'wrong-password'), 'STATUS_WRONG_PASSWORD');
    assert.equal(await refusal('nobody', 'whatever'), 'STATUS_NO_SUCH_USER');
    assert.equal(await refusal('carol', 'C4rol-Passw0rd!'), 'STATUS_ACCOUNT_DISABLED');
    assert.equal(await refusal('dave', 'D4ve-Passw0rd!'), 'STATUS_PASSWORD_EXPIRED');
    assert.equal(await refusal('erin', 'Er1n-Passw0rd!'), 'STATUS_PASSWORD_MUST_CHANGE');
  });

  it('a locked-out account is refused even with its right password', async () => {
    for (let i = 0; i < LOCKOUT_THRESHOLD; i++) {
      assert.equal(await refusal('frank', `wrong-${i}`), 'STATUS_WRONG_PASSWORD');
    }
    assert.equal(await refusal('frank', 'Fr4nk-Passw0rd!'), 'STATUS_ACCOUNT_LOCKED_OUT');
  });

  it('the MIC is verified with the DC key, and a tampered MIC is refused', async () => {
    const acceptor: NtlmAcceptor = pkg.acceptor;
    const attempt = async (tamper: boolean) => {
      const { message, state } = await bobAuthenticate(acceptor, { workstation: 'CLIENT1' });
      if (tamper) message[72] = (message[72] as number) ^ 0x01; // first MIC byte (MS-NLMP 2.2.1.3)
      return acceptor.step(message, state, { now: Date.now() });
    };
    const good = await attempt(false);
    assert.equal(good.type, 'complete');
    assert.equal(good.context.micVerified, true);
    await assert.rejects(attempt(true), { code: 'ERR_HTTPAUTH_NTLM_MIC_INVALID' });
  });

  it('measures logon latency on the established channel', async () => {
    const acceptor: NtlmAcceptor = pkg.acceptor;
    const times: number[] = [];
    for (let i = 0; i < 30; i++) {
      const { message, state } = await bobAuthenticate(acceptor);
      const t0 = performance.now();
      const done = await acceptor.step(message, state, { now: Date.now() });
      times.push(performance.now() - t0);
      assert.equal(done.type, 'complete');
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)] as number;
    // A fresh package: its first logon includes the channel set-up (epm, ReqChallenge,
    // Authenticate3, schannel bind).
    const fresh = ntlmPackage().acceptor;
    const { message, state } = await bobAuthenticate(fresh);
    const t0 = performance.now();
    assert.equal((await fresh.step(message, state, { now: Date.now() })).type, 'complete');
    const setup = performance.now() - t0;
    console.log(
      `NETLOGON logon: median ${median.toFixed(2)} ms, min ${times[0]?.toFixed(2)} ms; ` +
        `first logon with channel set-up ${setup.toFixed(2)} ms`,
    );
    assert.ok(median < 1000);
  });

  it('docs/ntlm.md "Join a domain in five minutes" works word for word against this DC', async () => {
    const docs = await readFile(new URL('../docs/ntlm.md', import.meta.url), 'utf8');
    const section = docs.slice(docs.indexOf('## Join a domain in five minutes'));
    const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
    const [createAccount, storePassword] = blocks;
    assert.ok(
      createAccount !== undefined && createAccount.includes('samba-tool computer create WEB2'),
    );
    await sh(createAccount);
    const dir = await mkdtemp(join(tmpdir(), 'httpauth-netlogon-'));
    try {
      const passwordFile = join(dir, 'web2.password');
      await sh((storePassword as string).replace('/etc/httpauth/web2.password', passwordFile));
      const web = express();
      web.use(
        httpAuth({
          packages: [
            ntlm({
              domain: { netbios: 'SAMDOM', dns: 'samdom.test' },
              domainController: {
                servers: ['127.0.0.1'],
                machineAccount: 'WEB2$',
                machinePasswordFile: passwordFile,
              },
            }),
          ],
        }),
      );
      web.get('/whoami', (req, res) => res.json({ userSid: req.auth?.principal.userSid }));
      const second = await listen(createServer(web));
      try {
        const result = await curlNtlm(
          `http://127.0.0.1:${second.port}/whoami`,
          'SAMDOM\\bob',
          'B0b-Passw0rd!',
        );
        assert.equal(result.status, 200, result.body);
        assert.equal(JSON.parse(result.body).userSid, dc.sids.get('bob'));
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('Negotiate with NTLM fallback uses the same DC verifier (raw NTLMSSP under Negotiate)', async () => {
    const web = express();
    const negotiatePackage = negotiate({
      mechanisms: ['ntlm'],
      ntlm: {
        domain: { netbios: 'SAMDOM', dns: 'samdom.test' },
        domainController: {
          servers: ['127.0.0.1'],
          machineAccount: `${MACHINE.name}$`,
          machinePassword: MACHINE.password,
        },
      },
    });
    web.use(httpAuth({ packages: [negotiatePackage] }));
    web.get('/whoami', (req, res) => res.json({ userSid: req.auth?.principal.userSid }));
    const server = await listen(createServer(web));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const get = (authorization: string) =>
        new Promise<{ status: number; header: string; body: string }>((resolve, reject) => {
          const req = request(
            {
              host: '127.0.0.1',
              port: server.port,
              path: '/whoami',
              agent,
              headers: { authorization },
            },
            (res) => {
              let body = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => (body += chunk));
              res.on('end', () =>
                resolve({
                  status: res.statusCode ?? 0,
                  header: String(res.headers['www-authenticate'] ?? ''),
                  body,
                }),
              );
            },
          );
          req.on('error', reject);
          req.end();
        });
      const n = ntlmNegotiate();
      const first = await get(`Negotiate ${n.toString('base64')}`);
      assert.equal(first.status, 401);
      const challenge = Buffer.from(first.header.replace(/^Negotiate /, ''), 'base64');
      const { message } = authenticate(n, challenge, BOB_LOGON);
      const second = await get(`Negotiate ${message.toString('base64')}`);
      assert.equal(second.status, 200, second.body);
      assert.equal(JSON.parse(second.body).userSid, dc.sids.get('bob'));
    } finally {
      agent.destroy();
      await server.close();
    }
  });

  it('logons in parallel share the pool of secure-channel connections', async () => {
    const acceptor: NtlmAcceptor = pkg.acceptor;
    const one = async (): Promise<string | undefined> => {
      const { message, state } = await bobAuthenticate(acceptor);
      const done = await acceptor.step(message, state, { now: Date.now() });
      assert.equal(done.type, 'complete');
      return done.principal.userSid;
    };
    const t0 = performance.now();
    const sids = await Promise.all(Array.from({ length: 24 }, one));
    console.log(`24 parallel logons in ${(performance.now() - t0).toFixed(1)} ms`);
    assert.deepEqual(new Set(sids), new Set([dc.sids.get('bob')]));
  });

  it('DC stopped: 503 with Retry-After within the timeout; recovers when the DC is back', async () => {
    await dc.stopServer();
    failures.length = 0;
    const t0 = Date.now();
    const down = await curlHeaders(`${base}/whoami`, 'SAMDOM\\bob', 'B0b-Passw0rd!');
    assert.equal(down.status, 503, down.headers);
    assert.match(down.headers, /^retry-after: \d+/m);
    assert.ok(Date.now() - t0 < 3000 + 2000, `took ${Date.now() - t0} ms`);
    const event = failures.find((f) => f.code === 'ERR_HTTPAUTH_DOMAIN_CONTROLLER_UNAVAILABLE');
    assert.ok(event, JSON.stringify(failures));
    assert.equal(event.reason, 'RPC_CONNECTION');
    await dc.startServer();
    // samba answers Kerberos and LDAP (the harness's readiness) a moment before its RPC server
    // has registered NETLOGON with the endpoint mapper: poll, briefly, as a client would.
    const reasons: (string | undefined)[] = [];
    let back = { status: 0, body: '' };
    for (let i = 0; i < 40 && back.status !== 200; i++) {
      if (i > 0) await delay(250);
      failures.length = 0;
      back = await curlNtlm(`${base}/whoami`, 'SAMDOM\\bob', 'B0b-Passw0rd!');
      reasons.push(...failures.map((f) => f.reason));
    }
    assert.equal(back.status, 200, `${back.body} ${JSON.stringify(reasons)}`);
    assert.equal(JSON.parse(back.body).userSid, dc.sids.get('bob'));
    console.log(`recovered after ${reasons.length} refused attempts: ${JSON.stringify(reasons)}`);
  });
});
