/**
 * Negotiate against a Samba Active Directory DC (test/harness/samba-dc.ts): AD service tickets
 * carry a full PAC (LOGON_INFO with group SIDs, UPN_DNS_INFO, CLIENT_INFO, signatures), so
 * /whoami shows the user's SID and groups: Domain Users (RID 513) and a group the harness made.
 *
 * Samba's ports are fixed, so this is the only test file that starts a DC (the harness also takes
 * a machine-wide lock).
 */
import * as assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';

import { createImpersonation, negotiate } from '@httpauth/core';
import type { AuthInfo } from '@httpauth/core';
import { httpAuth as expressAuth } from '@httpauth/express';
import { httpAuth as fastifyAuth } from '@httpauth/fastify';
import { httpAuth as koaAuth } from '@httpauth/koa';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';

import { chromiumNegotiate, jsonFromDom } from './harness/chromium.js';
import { curlNegotiate, gssapiRequest, impacketWindowsStyle } from './harness/negotiate-clients.js';
import { DEFAULT_SAMBA_USERS, startSambaDc } from './harness/samba-dc.js';
import type { SambaDc } from './harness/samba-dc.js';
import { listen, listenFastify, type Running } from './harness/listen.js';

/** A user in enough groups that its token outgrows Node's default 16 KiB header limit. */
const BIG_USER = { name: 'bigal', password: 'B1g-Passw0rd!' };
const BULK_GROUPS = 1500;

type Framework = 'express' | 'fastify' | 'koa';
const FRAMEWORKS: Framework[] = ['express', 'fastify', 'koa'];

interface Who {
  name?: string;
  user?: string;
  realm?: string;
  mechanism?: string;
  userSid?: string;
  groupSids?: string[];
  upn?: string;
  dnsDomain?: string;
  logonDomainName?: string;
  primaryGroupSid?: string;
  delegated?: boolean;
}

function who(auth: AuthInfo | null | undefined): Who {
  const p = auth?.principal;
  return {
    name: p?.name,
    user: p?.user,
    realm: p?.realm,
    mechanism: p?.mechanism,
    userSid: p?.userSid,
    groupSids: p?.groupSids === undefined ? undefined : [...p.groupSids],
    upn: p?.upn,
    dnsDomain: p?.dnsDomain,
    logonDomainName: p?.logonInfo?.logonDomainName,
    primaryGroupSid: p?.logonInfo?.primaryGroupSid,
    delegated: p?.delegated,
  };
}

/** Large enough for AD tokens with big PACs (docs/negotiate.md, "Large headers"). */
const LARGE_HEADERS = 64 * 1024;

async function start(
  framework: Framework,
  keytab: string,
  maxHeaderSize = LARGE_HEADERS,
): Promise<Running> {
  const packages = [negotiate({ kerberos: { keytab }, kerberosOnly: true })];
  switch (framework) {
    case 'express': {
      const app = express();
      app.use(expressAuth({ packages }));
      app.get('/whoami', (req, res) => {
        res.json(who(req.auth));
      });
      return listen(createServer({ maxHeaderSize }, app));
    }
    case 'fastify': {
      const app = Fastify({ http: { maxHeaderSize } });
      await app.register(fastifyAuth, { packages });
      app.get('/whoami', async (request) => who(request.auth));
      return listenFastify(app);
    }
    case 'koa': {
      const app = new Koa();
      app.use(koaAuth({ packages }));
      app.use((ctx) => {
        ctx.body = who(ctx.state.auth);
      });
      return listen(createServer({ maxHeaderSize }, app.callback()));
    }
  }
}

describe('Negotiate against a Samba AD DC (full PAC)', () => {
  let dc: SambaDc;
  let dir: string;
  let aliceEnv: NodeJS.ProcessEnv;
  const servers = new Map<Framework, Running>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'httpauth-samba-e2e-'));
    dc = await startSambaDc({
      users: [...DEFAULT_SAMBA_USERS, BIG_USER],
      bulkGroups: { user: BIG_USER.name, count: BULK_GROUPS },
    });
    const alice = DEFAULT_SAMBA_USERS[0];
    assert.ok(alice !== undefined);
    const ccache = await dc.kinit(alice.name, alice.password, join(dir, 'alice.ccache'));
    aliceEnv = { ...dc.env, KRB5CCNAME: `FILE:${ccache}` };
    for (const framework of FRAMEWORKS)
      servers.set(framework, await start(framework, dc.keytabPath));
  });

  after(async () => {
    for (const server of servers.values()) await server.close();
    await dc?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  for (const framework of FRAMEWORKS) {
    it(`${framework}: curl --negotiate shows alice's SID and groups from the PAC`, async () => {
      const port = (servers.get(framework) as Running).port;
      const result = await curlNegotiate(`http://localhost:${port}/whoami`, aliceEnv);
      assert.equal(result.status, 200, result.body + result.stderr);
      const body = JSON.parse(result.body) as Who;
      assert.equal(body.mechanism, 'Kerberos');
      assert.equal(body.name, 'alice@SAMDOM.TEST');
      assert.equal(body.user, 'alice');
      assert.equal(body.realm, 'SAMDOM.TEST');
      assert.match(dc.domainSid, /^S-1-5-21-\d+-\d+-\d+$/);
      assert.equal(body.userSid, dc.sids.get('alice'));
      const groups = body.groupSids ?? [];
      assert.ok(groups.includes(`${dc.domainSid}-513`), `Domain Users in ${groups.join(' ')}`);
      const webusers = dc.sids.get('webusers');
      assert.ok(webusers !== undefined && groups.includes(webusers), 'the group the test created');
      assert.equal(body.primaryGroupSid, `${dc.domainSid}-513`);
      assert.equal(body.logonDomainName, 'SAMDOM');
      assert.equal(body.upn, 'alice@samdom.test');
      assert.equal(body.dnsDomain?.toUpperCase(), 'SAMDOM.TEST');
    });
  }

  it(`a user in ${BULK_GROUPS} groups: Node's default header limit refuses the token, a raised one takes it`, async () => {
    const ccache = await dc.kinit(BIG_USER.name, BIG_USER.password, join(dir, 'bigal.ccache'));
    const env = { ...dc.env, KRB5CCNAME: `FILE:${ccache}` };
    const small = await start('express', dc.keytabPath, 16 * 1024);
    try {
      const refused = await curlNegotiate(`http://localhost:${small.port}/whoami`, env);
      assert.equal(refused.status, 431, 'Node answers 431 before the app sees the request');
    } finally {
      await small.close();
    }
    for (const framework of FRAMEWORKS) {
      const port = (servers.get(framework) as Running).port;
      const result = await curlNegotiate(`http://localhost:${port}/whoami`, env);
      assert.equal(result.status, 200, result.body.slice(0, 500) + result.stderr);
      const body = JSON.parse(result.body) as Who;
      assert.equal(body.name, 'bigal@SAMDOM.TEST');
      const groups = body.groupSids ?? [];
      assert.ok(groups.length >= BULK_GROUPS, `${groups.length} group SIDs`);
      assert.ok(groups.includes(`${dc.domainSid}-513`));
    }
  });

  it('a Windows-style client (impacket Kerberos, Microsoft OID first): supportedMech echoed, AP-REP verified', async () => {
    const alice = DEFAULT_SAMBA_USERS[0] as { name: string; password: string };
    const ccache = await dc.kinit(alice.name, alice.password, join(dir, 'impacket.ccache'));
    await new Promise<void>((resolve, reject) => {
      execFile('kvno', ['-c', ccache, 'HTTP/localhost'], { env: dc.env }, (error) =>
        error === null ? resolve() : reject(error),
      );
    });
    for (const framework of FRAMEWORKS) {
      const port = (servers.get(framework) as Running).port;
      const result = await impacketWindowsStyle(
        dir,
        `http://127.0.0.1:${port}/whoami`,
        ccache,
        { name: alice.name, realm: dc.realm },
        'HTTP/localhost',
      );
      assert.equal(result.status, 200, result.body + result.stderr);
      assert.equal(result.supportedMechIsMicrosoft, true);
      assert.equal(result.mutual, true, 'the AP-REP decrypted and echoed the authenticator time');
      const body = JSON.parse(result.body) as Who;
      assert.equal(body.name, 'alice@SAMDOM.TEST');
      assert.ok(body.groupSids?.includes(dc.sids.get('webusers') as string));
    }
  });

  it('headless Chromium with an AD ticket: /whoami shows the PAC groups', async () => {
    const port = (servers.get('koa') as Running).port;
    const dom = await chromiumNegotiate(dir, `http://localhost:${port}/whoami`, aliceEnv);
    const body = jsonFromDom(dom) as Who;
    assert.equal(body.name, 'alice@SAMDOM.TEST');
    assert.equal(body.mechanism, 'Kerberos');
    assert.ok(body.groupSids?.includes(dc.sids.get('webusers') as string));
  });

  it('the demo with KRB5_KTNAME: /whoami shows Kerberos, alice and her group SIDs', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'examples/intranet-api/src/server.ts'],
      {
        env: { ...process.env, PORT: '0', KRB5_KTNAME: `FILE:${dc.keytabPath}` },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
        lines.on('line', (line) => {
          const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
          if (match !== null) resolve(Number(match[1]));
        });
        child.once('exit', (code) => reject(new Error(`demo exited with ${code}`)));
      });
      const result = await curlNegotiate(`http://localhost:${port}/whoami`, aliceEnv);
      assert.equal(result.status, 200, result.body + result.stderr);
      const body = JSON.parse(result.body) as Who;
      assert.equal(body.mechanism, 'Kerberos');
      assert.equal(body.name, 'alice@SAMDOM.TEST');
      assert.equal(body.userSid, dc.sids.get('alice'));
      assert.ok(body.groupSids?.includes(`${dc.domainSid}-513`));
      assert.ok(body.groupSids?.includes(dc.sids.get('webusers') as string));
    } finally {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    }
  });

  it('python-gssapi SPNEGO with mutual authentication and delegation against the AD ticket', async () => {
    const port = (servers.get('express') as Running).port;
    const result = await gssapiRequest(
      dir,
      { host: 'localhost', port, path: '/whoami', delegate: true },
      aliceEnv,
    );
    assert.equal(result.status, 200, result.stderr);
    assert.equal(result.complete, true, 'the initiator verified our AP-REP');
    const body = JSON.parse(result.body) as Who;
    assert.equal(body.name, 'alice@SAMDOM.TEST');
    assert.equal(body.userSid, dc.sids.get('alice'));
    assert.equal(body.delegated, true, 'the forwarded TGT was decrypted');
  });

  it('the PAC group SIDs reach the impersonation context, and its policy allows by group SID', async () => {
    const webusers = dc.sids.get('webusers');
    assert.ok(webusers !== undefined);
    // The AD user maps to a local identity from a stub user database: no child is started here,
    // the context's identity fields and the policy decision are what is checked.
    const adalice = {
      user: 'adalice',
      uid: 2001,
      gid: 2001,
      groups: [2001],
      groupNames: ['adalice'],
      home: '/',
      shell: '/bin/sh',
    };
    const policyFor = (groups: string[]) =>
      createImpersonation({
        allow: { groups },
        mapping: { map: { 'alice@SAMDOM.TEST': 'adalice' } },
        userDatabase: { lookup: async (name) => (name === 'adalice' ? adalice : undefined) },
      });
    const answers: Record<string, unknown>[] = [];
    for (const groups of [[webusers], [`${dc.domainSid}-512`]]) {
      const app = express();
      app.use(
        expressAuth({
          packages: [negotiate({ kerberos: { keytab: dc.keytabPath }, kerberosOnly: true })],
          impersonation: policyFor(groups),
        }),
      );
      app.get('/whoami', (req, res) => {
        const context = (req.auth as AuthInfo).impersonation;
        res.json({ groupSids: context.groupSids, userSid: context.userSid, ...context.toJSON() });
      });
      const server = await listen(createServer(app));
      try {
        const result = await curlNegotiate(`http://localhost:${server.port}/whoami`, aliceEnv);
        assert.equal(result.status, 200, result.body + result.stderr);
        answers.push(JSON.parse(result.body) as Record<string, unknown>);
      } finally {
        await server.close();
      }
    }
    const [allowed, refused] = answers as [Record<string, unknown>, Record<string, unknown>];
    assert.ok(
      (allowed.groupSids as string[]).includes(webusers),
      'the group SID is on the context',
    );
    assert.ok((allowed.groupSids as string[]).includes(`${dc.domainSid}-513`), 'Domain Users');
    assert.equal(allowed.userSid, dc.sids.get('alice'));
    assert.equal(allowed.level, 'impersonate', 'allowed through the webusers SID');
    assert.equal(allowed.uid, 2001);
    assert.equal(refused.level, 'identify', 'not in Domain Admins');
    assert.equal(refused.reason, 'not-allowed');
  });
});
