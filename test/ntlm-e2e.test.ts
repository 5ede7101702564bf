/**
 * NTLM end to end on loopback: Express, Fastify and Koa protected by `ntlm()` against an smbpasswd
 * file, driven by real clients (curl, requests_ntlm, impacket, headless Chromium), over HTTP and
 * over HTTPS with channel binding required.
 */
import * as assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { digest, digestCallback, ntlm, smbpasswdFile } from '@httpauth/core';
import { ntowfv1 } from '@httpauth/core/wire';
import type { NtlmOptions } from '@httpauth/core';
import { httpAuth as expressAuth } from '@httpauth/express';
import { httpAuth as fastifyAuth } from '@httpauth/fastify';
import { httpAuth as koaAuth } from '@httpauth/koa';
import express from 'express';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import Koa from 'koa';

import { startDemo, stopDemo, type Demo } from './harness/demo.js';
import { chromiumDump, jsonFromDom } from './harness/chromium.js';
import {
  curlNtlm,
  impacketNtlm,
  requestsNtlm,
  scratchDir,
  selfSignedCertificate,
} from './harness/ntlm-clients.js';
import { listen, listenFastify, type Running } from './harness/listen.js';

const DOMAIN = 'EXAMPLE';
const USERS = { alice: 'Wonderland-1', bob: 'Builder-2' };

type Framework = 'express' | 'fastify' | 'koa';
interface Tls {
  readonly key: Buffer;
  readonly cert: Buffer;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

interface Who {
  name?: string;
  user?: string;
  realm?: string;
  mechanism?: string;
  channelBound?: boolean;
  /** The AUTHENTICATE carried a MIC and it verified. */
  mic?: boolean;
  body?: string;
}

async function start(framework: Framework, ntlmOptions: NtlmOptions, tls?: Tls): Promise<Running> {
  const packages = [ntlm(ntlmOptions)];
  const who = (principal: Who | undefined, context?: { readonly [key: string]: unknown }): Who => ({
    mic: context?.micVerified === true,
    name: principal?.name,
    user: principal?.user,
    realm: principal?.realm,
    mechanism: principal?.mechanism,
    channelBound: principal?.channelBound,
  });
  switch (framework) {
    case 'express': {
      const app = express();
      app.use(expressAuth({ packages }));
      app.get('/whoami', (req, res) => {
        res.json(who(req.auth?.principal, req.auth?.context));
      });
      app.post('/echo', (req, res, next) => {
        readBody(req)
          .then((body) => res.json({ ...who(req.auth?.principal), body }))
          .catch(next);
      });
      const server = tls ? createHttpsServer(tls, app) : createHttpServer(app);
      return listen(server, { tls: tls !== undefined });
    }
    case 'fastify': {
      // Fastify types an HTTPS instance differently; the routes below do not care which it is.
      const app: FastifyInstance = tls
        ? (Fastify({ https: tls }) as unknown as FastifyInstance)
        : Fastify();
      app.removeAllContentTypeParsers();
      app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
      await app.register(fastifyAuth, { packages });
      app.get('/whoami', async (request) => who(request.auth?.principal, request.auth?.context));
      app.post('/echo', async (request) => ({
        ...who(request.auth?.principal),
        body: request.body,
      }));
      return listenFastify(app, { tls: tls !== undefined });
    }
    case 'koa': {
      const app = new Koa();
      app.use(koaAuth({ packages }));
      app.use(async (ctx) => {
        const principal = ctx.state.auth?.principal;
        const context = ctx.state.auth?.context;
        if (ctx.method === 'POST') ctx.body = { ...who(principal), body: await readBody(ctx.req) };
        else ctx.body = who(principal, context);
      });
      const server = tls
        ? createHttpsServer(tls, app.callback())
        : createHttpServer(app.callback());
      return listen(server, { tls: tls !== undefined });
    }
  }
}

const FRAMEWORKS: Framework[] = ['express', 'fastify', 'koa'];

describe('NTLM end to end', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let smbpasswd: string;
  let tls: Tls;
  const plain = new Map<Framework, Running>();
  const secure = new Map<Framework, Running>();

  before(async () => {
    dir = await scratchDir('ntlm-e2e-');
    smbpasswd = join(dir.path, 'smbpasswd');
    const line = (user: string, uid: number, password: string, flags: string) =>
      `${user}:${uid}:${'X'.repeat(32)}:${ntowfv1(password).toString('hex').toUpperCase()}:${flags}:LCT-66000000:`;
    await writeFile(
      smbpasswd,
      `${line('alice', 1000, USERS.alice, '[U          ]')}\n${line('bob', 1001, USERS.bob, '[DU         ]')}\n`,
    );
    tls = await selfSignedCertificate(dir.path);
    for (const framework of FRAMEWORKS) {
      const credentials = smbpasswdFile(smbpasswd);
      plain.set(framework, await start(framework, { domain: DOMAIN, credentials }));
      secure.set(
        framework,
        await start(
          framework,
          { domain: DOMAIN, credentials, channelBinding: { mode: 'require' } },
          tls,
        ),
      );
    }
  });

  after(async () => {
    for (const server of [...plain.values(), ...secure.values()]) await server.close();
    await dir?.cleanup();
  });

  for (const framework of FRAMEWORKS) {
    describe(framework, () => {
      const url = () => plain.get(framework)!.url;

      it('curl --ntlm GET', async () => {
        const result = await curlNtlm(`${url()}/whoami`, 'alice', USERS.alice);
        assert.equal(result.status, 200, result.body);
        const who = JSON.parse(result.body) as Who;
        assert.equal(who.name, 'EXAMPLE\\alice');
        assert.equal(who.mechanism, 'NTLM');
        assert.equal(who.realm, 'EXAMPLE');
      });

      it('curl --ntlm POST (empty-bodied Type 1 leg, then the body)', async () => {
        const result = await curlNtlm(`${url()}/echo`, 'alice', USERS.alice, {
          data: 'hello ntlm',
        });
        assert.equal(result.status, 200, result.body);
        const who = JSON.parse(result.body) as Who;
        assert.equal(who.name, 'EXAMPLE\\alice');
        assert.equal(who.body, 'hello ntlm');
      });

      it('curl with a wrong password, and with a disabled account: 401', async () => {
        assert.equal((await curlNtlm(`${url()}/whoami`, 'alice', 'wrong')).status, 401);
        assert.equal((await curlNtlm(`${url()}/whoami`, 'bob', USERS.bob)).status, 401);
      });

      it('python requests_ntlm', async () => {
        const result = await requestsNtlm(
          dir.path,
          `${url()}/whoami`,
          'EXAMPLE\\alice',
          USERS.alice,
        );
        assert.equal(result.status, 200, result.body);
        const who = JSON.parse(result.body) as Who;
        assert.equal(who.name, 'EXAMPLE\\alice');
        // ntlm-auth negotiates key exchange and sends a MIC under the exported session key.
        assert.equal(who.mic, true);
      });

      it('python requests_ntlm POST (the body is sent, and drained, on every leg)', async () => {
        const body = 'x'.repeat(100_000);
        const result = await requestsNtlm(
          dir.path,
          `${url()}/echo`,
          'EXAMPLE\\alice',
          USERS.alice,
          body,
        );
        assert.equal(result.status, 200, result.body.slice(0, 200));
        const who = JSON.parse(result.body) as Who;
        assert.equal(who.name, 'EXAMPLE\\alice');
        assert.equal(who.body, body);
      });

      it('python impacket NTLM client: its cifs/ target name is refused as a cross-protocol relay', async () => {
        const result = await impacketNtlm(
          dir.path,
          `${url()}/whoami`,
          'alice',
          USERS.alice,
          DOMAIN,
        );
        assert.equal(result.status, 401, result.body);
        assert.match(result.body, /ERR_HTTPAUTH_NTLM_TARGET_NAME/);
      });

      it('headless Chromium with credentials in the URL', async () => {
        const target = url().replace('http://', `http://EXAMPLE%5Calice:${USERS.alice}@`);
        const who = jsonFromDom(await chromiumDump(dir.path, `${target}/whoami`)) as Who;
        assert.equal(who.name, 'EXAMPLE\\alice');
        assert.equal(who.mechanism, 'NTLM');
        // Chromium announces a MIC in MsvAvFlags; the acceptor verified it.
        assert.equal(who.mic, true);
      });

      it('HTTPS, channel binding required: Chromium sends EPA bindings', async () => {
        const target = secure
          .get(framework)!
          .url.replace('https://', `https://EXAMPLE%5Calice:${USERS.alice}@`);
        const who = jsonFromDom(
          await chromiumDump(dir.path, `${target}/whoami`, { insecure: true }),
        ) as Who;
        assert.equal(who.name, 'EXAMPLE\\alice');
        assert.equal(who.channelBound, true);
        assert.equal(who.mic, true);
      });

      it('HTTPS, channel binding required: requests_ntlm sends bindings, curl (none) is refused', async () => {
        const base = secure.get(framework)!.url;
        const result = await requestsNtlm(
          dir.path,
          `${base}/whoami`,
          'EXAMPLE\\alice',
          USERS.alice,
        );
        assert.equal(result.status, 200, result.body);
        assert.equal((JSON.parse(result.body) as Who).channelBound, true);
        const curl = await curlNtlm(`${base}/whoami`, 'alice', USERS.alice, { insecure: true });
        assert.equal(curl.status, 401);
      });
    });
  }
});

describe('the demo (examples/intranet-api) offers NTLM', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let demo: Demo | undefined;
  let custom: Demo | undefined;

  before(async () => {
    dir = await scratchDir('ntlm-demo-');
    const file = join(dir.path, 'office.smbpasswd');
    const hash = ntowfv1('dianapw').toString('hex').toUpperCase();
    await writeFile(file, `diana:2000:${'X'.repeat(32)}:${hash}:[U          ]:LCT-66000000:\n`);
    demo = await startDemo({});
    custom = await startDemo({ HTTPAUTH_NTLM_FILE: file, HTTPAUTH_NTLM_DOMAIN: 'OFFICE' });
  });

  after(async () => {
    await stopDemo(demo);
    await stopDemo(custom);
    await dir?.cleanup();
  });

  it('the committed demo users: curl --ntlm -u alice:alicepw', async () => {
    const result = await curlNtlm(`${demo!.base}/whoami`, 'alice', 'alicepw');
    assert.equal(result.status, 200, result.body);
    const who = JSON.parse(result.body) as Who;
    assert.equal(who.name, 'DEMO\\alice');
    assert.equal(who.mechanism, 'NTLM');
    assert.ok(result.body.includes('"name":"DEMO\\\\alice"'), result.body);
    assert.ok(result.body.includes('"mechanism":"NTLM"'), result.body);
    // carol is in the file but disabled.
    assert.equal((await curlNtlm(`${demo!.base}/whoami`, 'carol', 'carolpw')).status, 401);
  });

  it('Chromium against the demo', async () => {
    const target = demo!.base.replace('http://', 'http://DEMO%5Cbob:bobpw@');
    const who = jsonFromDom(await chromiumDump(dir.path, `${target}/whoami`)) as Who;
    assert.equal(who.name, 'DEMO\\bob');
  });

  it('HTTPAUTH_NTLM_FILE and HTTPAUTH_NTLM_DOMAIN', async () => {
    const result = await curlNtlm(`${custom!.base}/whoami`, 'diana', 'dianapw');
    assert.equal(result.status, 200, result.body);
    assert.equal((JSON.parse(result.body) as Who).name, 'OFFICE\\diana');
    assert.equal((await curlNtlm(`${custom!.base}/whoami`, 'alice', 'alicepw')).status, 401);
    // Nor through Digest: with an smbpasswd file of its own the demo offers NTLM alone.
    const challenged = await fetch(`${custom!.base}/whoami`);
    assert.equal(challenged.headers.get('www-authenticate'), 'NTLM');
  });
});

describe('NTLM over HTTP/2 (Fastify, h2c)', () => {
  let app: FastifyInstance | undefined;
  let base = '';

  before(async () => {
    const h2 = Fastify({ http2: true }) as unknown as FastifyInstance;
    await h2.register(fastifyAuth, {
      packages: [
        ntlm({ domain: DOMAIN, credentials: () => ntowfv1(USERS.alice) }),
        digest({
          realm: 'h2',
          credentials: digestCallback(() => ({ password: USERS.alice })),
        }),
      ],
    });
    h2.get('/whoami', async (request) => ({ name: request.auth?.principal.name }));
    await h2.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(h2.server.address() as AddressInfo).port}`;
    app = h2;
  });

  after(async () => {
    await app?.close();
  });

  it('the 401 offers NTLM beside Digest; NTLM credentials get the stream reset with HTTP_1_1_REQUIRED', async () => {
    const { execFile } = await import('node:child_process');
    const curl = (args: string[]) =>
      new Promise<{ ok: boolean; stdout: string; stderr: string }>((resolve) =>
        execFile(
          '/usr/bin/curl',
          ['-sS', '-i', '-v', '--http2-prior-knowledge', ...args],
          (error, stdout, stderr) => resolve({ ok: error === null, stdout, stderr }),
        ),
      );
    const challenged = await curl([`${base}/whoami`]);
    assert.match(challenged.stdout, /^HTTP\/2 401/);
    const schemes = [...challenged.stdout.matchAll(/^www-authenticate: (\S+)/gim)].map((m) => m[1]);
    assert.deepEqual(new Set(schemes), new Set(['NTLM', 'Digest']), challenged.stdout);
    // curl sends its NEGOTIATE straight away; the stream is reset (RFC 9113 §8.2.3). This
    // cleartext server speaks HTTP/2 only, so curl's retry over HTTP/1.1 finds no one to answer:
    // NTLM on HTTP/2 needs a server that also offers HTTP/1.1 (ntlm-http2-e2e).
    const ntlmAttempt = await curl(['--ntlm', '-u', `alice:${USERS.alice}`, `${base}/whoami`]);
    assert.match(ntlmAttempt.stderr, /HTTP_1_1_REQUIRED/);
    assert.equal(ntlmAttempt.ok, false);
  });
});
