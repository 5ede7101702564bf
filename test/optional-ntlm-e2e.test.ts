/**
 * `optional: true` with a real multi-leg NTLM handshake (curl --ntlm) on Express, Fastify and
 * Koa: anonymous requests go through without a challenge, the handshake's challenge leg is still
 * answered with its 401 + WWW-Authenticate (curl would otherwise stop at the first leg), and a
 * wrong password is still refused.
 */
import * as assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createAuthenticator, ntlm, smbpasswdFile } from '@httpauth/core';
import { ntowfv1 } from '@httpauth/core/wire';
import { httpAuth as expressAuth } from '@httpauth/express';
import { httpAuth as fastifyAuth } from '@httpauth/fastify';
import { httpAuth as koaAuth } from '@httpauth/koa';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { curl } from './harness/http-clients.js';
import { scratchDir } from './harness/ntlm-clients.js';

const PASSWORD = 'Wonderland-1';
type Framework = 'express' | 'fastify' | 'koa';
type Named = { principal: { name: string } } | null | undefined;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('optional mode with curl --ntlm', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  const running = new Map<Framework, { base: string; close: () => Promise<void> }>();

  before(async () => {
    dir = await scratchDir('optional-ntlm-e2e-');
    const smbpasswd = join(dir.path, 'smbpasswd');
    const hash = ntowfv1(PASSWORD).toString('hex').toUpperCase();
    await writeFile(
      smbpasswd,
      `alice:1000:${'X'.repeat(32)}:${hash}:[U          ]:LCT-66000000:\n`,
    );
    const authenticator = () =>
      createAuthenticator({
        packages: [ntlm({ domain: 'EXAMPLE', credentials: smbpasswdFile(smbpasswd) })],
      });
    const name = (auth: Named) => ({ name: auth?.principal.name ?? null });

    const app = express();
    app.use(expressAuth(authenticator(), { optional: true, property: 'windows' }));
    app.get('/', (req, res) => res.json(name((req as unknown as { windows: Named }).windows)));
    const expressServer = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => expressServer.once('listening', () => resolve()));
    running.set('express', {
      base: `http://127.0.0.1:${(expressServer.address() as AddressInfo).port}`,
      close: () => closeServer(expressServer),
    });

    const fastify = Fastify();
    await fastify.register(fastifyAuth, { authenticator: authenticator(), optional: true });
    fastify.get('/', async (request) => name(request.auth));
    const fastifyBase = await fastify.listen({ port: 0, host: '127.0.0.1' });
    running.set('fastify', {
      base: fastifyBase,
      close: async () => {
        fastify.server.closeAllConnections();
        await fastify.close();
      },
    });

    const koa = new Koa();
    koa.use(koaAuth(authenticator(), { optional: true }));
    koa.use((ctx) => {
      ctx.body = name(ctx.state.auth as Named);
    });
    const server = createServer(koa.callback());
    running.set('koa', { base: await listen(server), close: () => closeServer(server) });
  });

  after(async () => {
    for (const server of running.values()) await server.close();
    await dir?.cleanup();
  });

  for (const framework of ['express', 'fastify', 'koa'] as const) {
    test(`${framework}: anonymous through, curl --ntlm authenticated, a wrong password refused`, async () => {
      const base = running.get(framework)!.base;
      const anonymous = await curl([`${base}/`]);
      assert.equal(anonymous.status, 200);
      assert.deepEqual(JSON.parse(anonymous.body), { name: null });
      assert.equal(anonymous.headers.get('www-authenticate'), undefined);

      const ntlmLogon = await curl(['--ntlm', '-u', `alice:${PASSWORD}`, `${base}/`]);
      assert.equal(ntlmLogon.status, 200, ntlmLogon.body);
      assert.deepEqual(JSON.parse(ntlmLogon.body), { name: 'EXAMPLE\\alice' });

      const wrong = await curl(['--ntlm', '-u', 'alice:nope', `${base}/`]);
      assert.equal(wrong.status, 401);
    });
  }
});

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
