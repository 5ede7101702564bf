// The options that fit the plugin into an existing app (same names as Express and Koa): unless,
// optional, onRefused, passErrors, property. Through real Fastify (inject, and a listening server
// for the connection-bound handshake).
import { strict as assert } from 'node:assert';
import { Agent } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createAuthenticator, HttpAuthError } from '@httpauth/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { httpAuth, type HttpAuthPluginOptions, type RefusalError } from '../src/index.js';
import { handshakePackage, tokenPackage } from '../../../test/support/adapter-fakes.js';
import { send } from '../../../test/support/http-client.js';

const packages = () => [tokenPackage(), handshakePackage()];

type Named = { principal: { name: string } } | null | undefined;

async function appWith(
  options: Omit<HttpAuthPluginOptions, 'packages'>,
  property = 'auth',
): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(httpAuth, { packages: packages(), ...options });
  app.get('/*', async (request) => ({
    name: (request as unknown as Record<string, Named>)[property]?.principal.name ?? null,
  }));
  await app.ready();
  return app;
}

function lines(header: string | string[] | number | undefined): string[] {
  if (header === undefined) return [];
  return Array.isArray(header) ? header : [String(header)];
}

describe('Fastify: unless and optional', () => {
  test('unless skips authentication for the requests it names', async () => {
    const app = await appWith({ unless: (request) => request.url === '/health' });
    const skipped = await app.inject({ url: '/health' });
    assert.equal(skipped.statusCode, 200);
    assert.equal(skipped.json().name, null);
    assert.equal((await app.inject({ url: '/private' })).statusCode, 401);
    await app.close();
  });

  test('optional: anonymous through, good credentials authenticated, bad ones refused', async () => {
    const app = await appWith({ optional: true });
    const anonymous = await app.inject({ url: '/' });
    assert.equal(anonymous.statusCode, 200);
    assert.equal(anonymous.json().name, null);
    assert.equal(anonymous.headers['www-authenticate'], undefined);
    const good = await app.inject({ url: '/', headers: { authorization: 'Token good-ann' } });
    assert.equal(good.json().name, 'ann');
    const bad = await app.inject({ url: '/', headers: { authorization: 'Token nope' } });
    assert.equal(bad.statusCode, 401);
    assert.equal(bad.json().error, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    const malformed = await app.inject({ url: '/', headers: { authorization: 'Token' } });
    assert.equal(malformed.statusCode, 400);
    await app.close();
  });
});

describe('Fastify: onRefused, passErrors, property', () => {
  test('onRefused shapes the body; status and every challenge line are already set', async () => {
    const seen: string[] = [];
    const app = await appWith({
      onRefused: async (error, _request, reply) => {
        seen.push(`${error.code} ${error.statusCode}`);
        await reply.type('text/plain').send(`no: ${error.code}`);
      },
    });
    const res = await app.inject({ url: '/' });
    assert.equal(res.statusCode, 401);
    assert.equal(res.body, 'no: ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
    assert.deepEqual(lines(res.headers['www-authenticate']), [
      'Token realm="one"',
      'Token realm="two"',
      'Hand',
    ]);
    assert.equal(
      (await app.inject({ url: '/', headers: { authorization: 'Token' } })).statusCode,
      400,
    );
    assert.deepEqual(seen, [
      'ERR_HTTPAUTH_CREDENTIALS_REQUIRED 401',
      'ERR_HTTPAUTH_HEADER_MALFORMED 400',
    ]);
    await app.close();
  });

  test('an onRefused that sends nothing still gets the default JSON refusal', async () => {
    const app = await appWith({ onRefused: () => undefined });
    const res = await app.inject({ url: '/' });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().error, 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
    await app.close();
  });

  test('passErrors: the error handler gets an HttpAuthError with statusCode and headers', async () => {
    const app = Fastify();
    await app.register(httpAuth, { packages: packages(), passErrors: true });
    app.setErrorHandler(async (error: RefusalError, _request, reply) => {
      const isHttpAuth = error instanceof HttpAuthError;
      return reply.code(error.statusCode).send({ mine: error.code, isHttpAuth });
    });
    app.get('/', async () => 'reached');
    const res = await app.inject({ url: '/', headers: { authorization: 'Token bad' } });
    assert.equal(res.statusCode, 401);
    assert.deepEqual(res.json(), { mine: 'ERR_HTTPAUTH_BAD_CREDENTIALS', isHttpAuth: true });
    assert.equal(lines(res.headers['www-authenticate']).length, 3);
    // Fastify's own error handler keeps status and challenges too.
    const plain = await appWith({ passErrors: true });
    const fallback = await plain.inject({ url: '/' });
    assert.equal(fallback.statusCode, 401);
    assert.equal(lines(fallback.headers['www-authenticate']).length, 3);
    assert.equal(fallback.json().code, 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
    await Promise.all([app.close(), plain.close()]);
  });

  test('property: the identity goes to request[property]', async () => {
    const app = await appWith({ property: 'httpauth' }, 'httpauth');
    const res = await app.inject({ url: '/', headers: { authorization: 'Token good-bo' } });
    assert.equal(res.json().name, 'bo');
    await app.close();
  });

  test('invalid seam options are refused at registration', async () => {
    const bad: unknown[] = [
      { property: '' },
      { property: 'prototype' },
      { unless: 1 },
      { optional: 'true' },
      { onRefused: 'x' },
      { passErrors: 1 },
      { decorate: 'yes' },
      { passErrors: true, onRefused: () => undefined },
      { decorate: true, integrityBody: true },
      { decorate: true, onRefused: () => undefined },
      { decorate: true, unless: () => false },
    ];
    for (const options of bad) {
      const app = Fastify();
      await assert.rejects(
        async () => {
          await app.register(httpAuth, { packages: packages(), ...(options as object) });
          await app.ready();
        },
        (error: unknown) => (error as HttpAuthError).code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
        JSON.stringify(options),
      );
      await app.close().catch(() => undefined);
    }
  });
});

describe('Fastify: optional mode and a connection-bound handshake (listening server)', () => {
  const authenticator = createAuthenticator({ packages: [handshakePackage({ persist: true })] });
  let app: FastifyInstance;
  let base: string;

  before(async () => {
    app = Fastify();
    await app.register(httpAuth, { authenticator, optional: true });
    app.get('/', async (request) => ({ name: request.auth?.principal.name ?? null }));
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    app.server.closeAllConnections();
    await app.close();
  });

  test('the challenge leg still gets its 401; the connection stays authenticated', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await send(`${base}/`, { agent, headers: { authorization: 'Hand one' } });
      assert.equal(first.status, 401);
      assert.deepEqual(first.headers.get('www-authenticate'), ['Hand two-please']);
      const second = await send(`${base}/`, { agent, headers: { authorization: 'Hand two' } });
      assert.equal(JSON.parse(second.body).name, 'HAND\\carol');
      const third = await send(`${base}/`, { agent });
      assert.equal(third.localPort, first.localPort);
      assert.equal(JSON.parse(third.body).name, 'HAND\\carol');
      assert.equal(JSON.parse((await send(`${base}/`)).body).name, null);
    } finally {
      agent.destroy();
    }
  });
});
