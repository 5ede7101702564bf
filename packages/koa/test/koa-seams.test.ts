// The options that fit the middleware into an existing app: unless, optional, onRefused,
// passErrors, property. Through real Koa (supertest, and a listening server for the
// connection-bound handshake).
import { strict as assert } from 'node:assert';
import { Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createAuthenticator, HttpAuthError } from '@httpauth/core';
import Koa from 'koa';
import request from 'supertest';
import { httpAuth, type KoaAdapterOptions, type RefusalError } from '../src/index.js';
import { handshakePackage, tokenPackage } from '../../../test/support/adapter-fakes.js';
import { send } from '../../../test/support/http-client.js';

const packages = () => [tokenPackage(), handshakePackage()];

type Named = { principal: { name: string } } | undefined;

function appWith(options: KoaAdapterOptions, property = 'auth', before?: Koa.Middleware): Koa {
  const app = new Koa();
  if (before !== undefined) app.use(before);
  app.use(httpAuth({ packages: packages(), ...options }));
  app.use((ctx) => {
    const state = ctx.state as Record<string, Named>;
    ctx.body = { name: state[property]?.principal.name ?? null };
  });
  return app;
}

function challengeLines(res: request.Response): string[] {
  const raw = (res as unknown as { res: { rawHeaders: string[] } }).res.rawHeaders;
  return raw.filter((_, i) => raw[i - 1]?.toLowerCase() === 'www-authenticate');
}

describe('Koa: unless', () => {
  const server = appWith({ unless: (ctx) => ctx.path === '/health' }).callback();

  test('a skipped request goes on without credentials and without ctx.state.auth', async () => {
    const res = await request(server).get('/health');
    assert.equal(res.status, 200);
    assert.equal(res.body.name, null);
    assert.equal(res.headers['www-authenticate'], undefined);
  });

  test('the others are still challenged', async () => {
    const res = await request(server).get('/private');
    assert.equal(res.status, 401);
    assert.equal(res.body.error, 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
  });

  test('a throwing predicate fails the request, never lets it through', async () => {
    const app = appWith({
      unless: () => {
        throw new Error('boom');
      },
    });
    app.silent = true;
    const res = await request(app.callback()).get('/');
    assert.equal(res.status, 500);
  });
});

describe('Koa: optional', () => {
  const server = appWith({ optional: true }).callback();

  test('no credentials: through anonymously, no challenge', async () => {
    const res = await request(server).get('/');
    assert.equal(res.status, 200);
    assert.equal(res.body.name, null);
    assert.equal(res.headers['www-authenticate'], undefined);
  });

  test('good credentials: authenticated', async () => {
    const res = await request(server).get('/').set('Authorization', 'Token good-ann');
    assert.equal(res.body.name, 'ann');
  });

  test('bad, malformed or unknown credentials are still refused', async () => {
    const bad = await request(server).get('/').set('Authorization', 'Token nope');
    assert.equal(bad.status, 401);
    assert.equal(bad.body.error, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    const malformed = await request(server).get('/').set('Authorization', 'Token');
    assert.equal(malformed.status, 400);
    const unknown = await request(server).get('/').set('Authorization', 'Other x');
    assert.equal(unknown.body.error, 'ERR_HTTPAUTH_SCHEME_UNSUPPORTED');
  });
});

describe('Koa: onRefused and passErrors', () => {
  test('onRefused shapes the body; status and every challenge line are already set', async () => {
    const seen: string[] = [];
    const server = appWith({
      onRefused: (error, ctx) => {
        seen.push(`${error.code} ${error.status}`);
        ctx.body = `no: ${error.code}`;
      },
    }).callback();
    const res = await request(server).get('/');
    assert.equal(res.status, 401);
    assert.equal(res.text, 'no: ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
    assert.match(res.headers['content-type'] ?? '', /^text\/plain/);
    assert.deepEqual(challengeLines(res), ['Token realm="one"', 'Token realm="two"', 'Hand']);
    const malformed = await request(server).get('/').set('Authorization', 'Token');
    assert.equal(malformed.status, 400);
    assert.deepEqual(seen, [
      'ERR_HTTPAUTH_CREDENTIALS_REQUIRED 401',
      'ERR_HTTPAUTH_HEADER_MALFORMED 400',
    ]);
  });

  test('passErrors throws an HttpAuthError with status to error-handling middleware', async () => {
    const catcher: Koa.Middleware = async (ctx, next) => {
      try {
        await next();
      } catch (error) {
        const refusal = error as RefusalError;
        ctx.status = refusal.status;
        ctx.set('www-authenticate', challengeHeaders(refusal));
        ctx.body = { mine: refusal.code, isHttpAuth: error instanceof HttpAuthError };
      }
    };
    const server = appWith({ passErrors: true }, 'auth', catcher).callback();
    const res = await request(server).get('/').set('Authorization', 'Token bad');
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { mine: 'ERR_HTTPAUTH_BAD_CREDENTIALS', isHttpAuth: true });
    assert.deepEqual(challengeLines(res), ['Token realm="one"', 'Token realm="two"', 'Hand']);
  });

  test("passErrors with Koa's own error handler keeps status and every challenge", async () => {
    const server = appWith({ passErrors: true }).callback();
    const res = await request(server).get('/');
    assert.equal(res.status, 401);
    assert.deepEqual(challengeLines(res), ['Token realm="one"', 'Token realm="two"', 'Hand']);
    assert.equal(res.text, new HttpAuthError('ERR_HTTPAUTH_CREDENTIALS_REQUIRED').message);
  });
});

function challengeHeaders(error: RefusalError): string | string[] {
  const value = error.headers['www-authenticate'];
  return typeof value === 'string' ? value : [...(value ?? [])];
}

describe('Koa: property', () => {
  test('the identity goes to ctx.state[property]; ctx.state.auth is left to others', async () => {
    const other: Koa.Middleware = async (ctx, next) => {
      ctx.state.auth = { sub: 'jwt-user' };
      await next();
    };
    const app = new Koa();
    app.use(other);
    app.use(httpAuth({ packages: packages() }, { property: 'httpauth' }));
    app.use((ctx) => {
      ctx.body = { name: ctx.state.httpauth.principal.name, other: ctx.state.auth };
    });
    const res = await request(app.callback()).get('/').set('Authorization', 'Token good-bo');
    assert.deepEqual(res.body, { name: 'bo', other: { sub: 'jwt-user' } });
  });

  test('invalid seam options throw ERR_HTTPAUTH_INVALID_OPTIONS at registration', () => {
    const bad: unknown[] = [
      { property: '' },
      { property: 'constructor' },
      { property: 'a.b' },
      { unless: 'x' },
      { optional: 1 },
      { onRefused: {} },
      { passErrors: 'yes' },
      { passErrors: true, onRefused: () => undefined },
    ];
    for (const options of bad) {
      assert.throws(
        () => httpAuth({ packages: packages() }, options as KoaAdapterOptions),
        (error: unknown) => (error as HttpAuthError).code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
        JSON.stringify(options),
      );
    }
  });
});

describe('Koa: optional mode and a connection-bound handshake (listening server)', () => {
  const authenticator = createAuthenticator({ packages: [handshakePackage({ persist: true })] });
  let server: Server;
  let base: string;

  before(async () => {
    const app = new Koa();
    app.use(httpAuth(authenticator, { optional: true }));
    app.use((ctx) => {
      ctx.body = { name: (ctx.state.auth as Named)?.principal.name ?? null };
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
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
      const fresh = await send(`${base}/`);
      assert.equal(JSON.parse(fresh.body).name, null);
    } finally {
      agent.destroy();
    }
  });
});
