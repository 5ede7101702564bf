/**
 * A certificate logon kept per TLS connection, behind each adapter (issue 17's per-request
 * target): on one kept-alive HTTPS connection the certificate phase runs once (counted with a
 * spy on the package), and the authorization rules still run on every request: a route that
 * requires another user refuses the same connection's requests with 403 every time, while the
 * open route keeps answering.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { Agent, createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import {
  clientCertificate,
  createAuthenticator,
  requireUser,
  type AuthInfo,
  type Authenticator,
  type ConnectionSecurityPackage,
} from '@httpauth/core';
import { createHandler } from '@httpauth/core/node';
import { authorize as expressAuthorize, httpAuth as expressAuth } from '@httpauth/express';
import { authorize as fastifyAuthorize, httpAuth as fastifyAuth } from '@httpauth/fastify';
import { authorize as koaAuthorize, httpAuth as koaAuth } from '@httpauth/koa';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { createTestPki } from '../packages/core/test/certificate-pki.js';

const pki = createTestPki();
after(() => pki.remove());

const TLS = {
  key: readFileSync(pki.server.key),
  cert: readFileSync(pki.server.cert),
  ca: pki.rootPem,
  requestCert: true,
  rejectUnauthorized: false,
};
/** The rule of /admin: a user the certificate does not map to. */
const adminOnly = requireUser('admin@example.test');
const name = (auth: AuthInfo | null | undefined) => ({ name: auth?.principal.name });

type Started = { port: number; stop: () => Promise<void> };

async function listen(server: Server): Promise<Started> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** /me answers the name; /admin also requires adminOnly, with each adapter's own authorize. */
const ADAPTERS: Record<string, (authenticator: Authenticator) => Promise<Started>> = {
  async 'node:http'(authenticator) {
    return listen(
      createServer(
        TLS,
        createHandler(authenticator, (req, res, auth) => {
          const allowed = req.url !== '/admin' || adminOnly.test(auth);
          res.statusCode = allowed ? 200 : 403;
          res.end(JSON.stringify(allowed ? name(auth) : { error: 'ERR_HTTPAUTH_FORBIDDEN' }));
        }),
      ),
    );
  },
  async '@httpauth/express'(authenticator) {
    const app = express();
    app.use(expressAuth(authenticator));
    app.get('/me', (req, res) => res.json(name(req.auth)));
    app.get('/admin', expressAuthorize(adminOnly), (req, res) => res.json(name(req.auth)));
    return listen(createServer(TLS, app));
  },
  async '@httpauth/fastify'(authenticator) {
    let server: Server | undefined;
    const app = Fastify({
      serverFactory: (handler) => (server = createServer(TLS, handler)),
    });
    await app.register(fastifyAuth, { authenticator });
    app.get('/me', async (req) => name(req.auth));
    app.get('/admin', { preHandler: fastifyAuthorize(adminOnly) }, async (req) => name(req.auth));
    await app.ready();
    const started = await listen(server!);
    // Listened to here, not by app.listen(): Fastify's close() would leave the server open.
    return {
      port: started.port,
      stop: async () => {
        await started.stop();
        await app.close();
      },
    };
  },
  async '@httpauth/koa'(authenticator) {
    const app = new Koa();
    app.use(koaAuth(authenticator));
    app.use(async (ctx, next) => {
      if (ctx.path === '/admin') await koaAuthorize(adminOnly)(ctx, next);
      else await next();
    });
    app.use((ctx) => {
      ctx.body = name(ctx.state.auth as AuthInfo);
    });
    return listen(createServer(TLS, app.callback()));
  },
};

function get(port: number, path: string, agent: Agent): Promise<[number, string | undefined]> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        const parsed = JSON.parse(body) as { name?: string; error?: string };
        resolve([res.statusCode ?? 0, parsed.name ?? parsed.error]);
      });
    });
    req.on('error', reject).end();
  });
}

for (const [adapter, start] of Object.entries(ADAPTERS)) {
  describe(`a kept certificate logon behind ${adapter}`, () => {
    it('runs the certificate phase once per connection and the rules on every request', async () => {
      const inner = clientCertificate({
        ca: pki.rootPem,
        revocation: { crlFiles: [pki.rootCrl, pki.intermediateCrl] },
        mapping: [{ type: 'upn' }],
        allowWeakMappings: true,
      });
      let phases = 0;
      const certificate: ConnectionSecurityPackage = {
        ...inner,
        authenticateConnection(chain, now, connection) {
          phases++;
          return inner.authenticateConnection(chain, now, connection);
        },
      };
      const authenticator = createAuthenticator({ certificate, packages: [] });
      const server = await start(authenticator);
      const agent = new Agent({
        keepAlive: true,
        maxSockets: 1,
        ca: pki.rootPem,
        cert: readFileSync(pki.certs.upn.fullChain),
        key: readFileSync(pki.certs.upn.key),
      });
      try {
        const answers = [];
        for (const path of ['/me', '/admin', '/me', '/admin', '/me']) {
          answers.push(await get(server.port, path, agent));
        }
        const alice = 'alice@example.test';
        const forbidden = 'ERR_HTTPAUTH_FORBIDDEN';
        assert.deepEqual(answers, [
          [200, alice],
          [403, forbidden],
          [200, alice],
          [403, forbidden],
          [200, alice],
        ]);
        assert.equal(phases, 1);
      } finally {
        agent.destroy();
        await server.stop();
        await authenticator.close();
      }
    });
  });
}
