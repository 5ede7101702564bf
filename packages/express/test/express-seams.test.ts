// The options that fit the middleware into an existing app: unless, optional, onRefused,
// passErrors, property. Through real Express (supertest, and a listening server for the
// connection-bound handshake).
import { strict as assert } from 'node:assert';
import { Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createAuthenticator, HttpAuthError } from '@httpauth/core';
import express, { type ErrorRequestHandler, type Express, type Request } from 'express';
import request from 'supertest';
import { httpAuth, type ExpressAdapterOptions } from '../src/index.js';
import { handshakePackage, tokenPackage } from '../../../test/support/adapter-fakes.js';
import { send } from '../../../test/support/http-client.js';

const packages = () => [tokenPackage(), handshakePackage()];

function appWith(options: ExpressAdapterOptions, property = 'auth'): Express {
  const app = express();
  app.use(httpAuth({ packages: packages(), ...options }));
  app.all('/{*path}', (req, res) => {
    const auth = (req as unknown as Record<string, { principal: { name: string } } | undefined>)[
      property
    ];
    res.json({ name: auth?.principal.name ?? null, plain: req.auth?.principal.name ?? null });
  });
  return app;
}

describe('Express: unless', () => {
  const app = appWith({ unless: (req: Request) => req.path === '/health' });

  test('a skipped request goes on without credentials and without req.auth', async () => {
    const res = await request(app).get('/health');
    assert.equal(res.status, 200);
    assert.equal(res.body.name, null);
    assert.equal(res.headers['www-authenticate'], undefined);
  });

  test('the others are still challenged', async () => {
    const res = await request(app).get('/private');
    assert.equal(res.status, 401);
    assert.equal(res.body.error, 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
  });

  test('a throwing predicate goes to the error handler, never lets the request through', async () => {
    const failing = express();
    failing.use(
      httpAuth(
        { packages: packages() },
        {
          unless: () => {
            throw new Error('boom');
          },
        },
      ),
    );
    failing.get('/', (_req, res) => res.send('reached'));
    const res = await request(failing).get('/');
    assert.equal(res.status, 500);
    assert.doesNotMatch(res.text, /reached/);
  });
});

describe('Express: optional', () => {
  const app = appWith({ optional: true });

  test('no credentials: through anonymously, no challenge', async () => {
    const res = await request(app).get('/');
    assert.equal(res.status, 200);
    assert.equal(res.body.name, null);
    assert.equal(res.headers['www-authenticate'], undefined);
  });

  test('good credentials: authenticated', async () => {
    const res = await request(app).get('/').set('Authorization', 'Token good-ann');
    assert.equal(res.status, 200);
    assert.equal(res.body.name, 'ann');
  });

  test('bad or malformed credentials are still refused', async () => {
    const bad = await request(app).get('/').set('Authorization', 'Token nope');
    assert.equal(bad.status, 401);
    assert.equal(bad.body.error, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    const malformed = await request(app).get('/').set('Authorization', 'Token');
    assert.equal(malformed.status, 400);
    const unknown = await request(app).get('/').set('Authorization', 'Other x');
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.error, 'ERR_HTTPAUTH_SCHEME_UNSUPPORTED');
  });

  test('without the option the default stays: anonymous requests are challenged', async () => {
    const res = await request(appWith({})).get('/');
    assert.equal(res.status, 401);
  });
});

describe('Express: onRefused and passErrors', () => {
  test('onRefused shapes the body; status and every challenge line are already set', async () => {
    const seen: string[] = [];
    const app = appWith({
      onRefused: (error, _req, res) => {
        seen.push(`${error.code} ${error.status}`);
        res.type('text/plain').send(`no: ${error.code}`);
      },
    });
    const res = await request(app).get('/');
    assert.equal(res.status, 401);
    assert.equal(res.text, 'no: ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
    assert.match(res.headers['content-type'] ?? '', /^text\/plain/);
    const raw = (res as unknown as { res: { rawHeaders: string[] } }).res.rawHeaders;
    const challenges = raw.filter((_, i) => raw[i - 1]?.toLowerCase() === 'www-authenticate');
    assert.deepEqual(challenges, ['Token realm="one"', 'Token realm="two"', 'Hand']);
    const malformed = await request(app).get('/').set('Authorization', 'Token');
    assert.equal(malformed.status, 400);
    assert.deepEqual(seen, [
      'ERR_HTTPAUTH_CREDENTIALS_REQUIRED 401',
      'ERR_HTTPAUTH_HEADER_MALFORMED 400',
    ]);
  });

  test('passErrors hands an HttpAuthError with status to the error handler', async () => {
    const app = appWith({ passErrors: true });
    // Four parameters: Express calls only such functions with errors.
    const handler: ErrorRequestHandler = (
      error: HttpAuthError & { status: number },
      _req,
      res,
      _next,
    ) => {
      res
        .status(error.status)
        .json({ mine: error.code, isHttpAuth: error instanceof HttpAuthError });
    };
    app.use(handler);
    const res = await request(app).get('/').set('Authorization', 'Token bad');
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { mine: 'ERR_HTTPAUTH_BAD_CREDENTIALS', isHttpAuth: true });
    assert.ok(res.headers['www-authenticate']);
  });

  test("passErrors with Express's default handler keeps status and challenges", async () => {
    const res = await request(appWith({ passErrors: true })).get('/');
    assert.equal(res.status, 401);
    assert.ok(res.headers['www-authenticate']);
  });

  test('a throwing onRefused goes to the error handler', async () => {
    const app = appWith({
      onRefused: () => {
        throw new Error('hook failed');
      },
    });
    const handler: ErrorRequestHandler = (error: Error, _req, res, _next) => {
      res.status(500).send(`handled: ${error.message}`);
    };
    app.use(handler);
    const res = await request(app).get('/');
    assert.equal(res.status, 500);
    assert.equal(res.text, 'handled: hook failed');
  });
});

describe('Express: property', () => {
  test('the identity goes to req[property], req.auth is left to others', async () => {
    const app = express();
    // Another library's req.auth (express-jwt's shape) survives.
    app.use((req, _res, next) => {
      (req as unknown as Record<string, unknown>).auth = { sub: 'jwt-user' };
      next();
    });
    app.use(httpAuth({ packages: packages() }, { property: 'httpauth' }));
    app.get('/', (req, res) => {
      const mine = (req as unknown as { httpauth: { principal: { name: string } } }).httpauth;
      res.json({ name: mine.principal.name, other: req.auth });
    });
    const res = await request(app).get('/').set('Authorization', 'Token good-bo');
    assert.deepEqual(res.body, { name: 'bo', other: { sub: 'jwt-user' } });
  });

  test('invalid seam options throw ERR_HTTPAUTH_INVALID_OPTIONS at registration', () => {
    const bad: unknown[] = [
      { property: '' },
      { property: '__proto__' },
      { property: 'a-b' },
      { property: 5 },
      { unless: true },
      { optional: 'yes' },
      { onRefused: 'x' },
      { passErrors: 1 },
      { passErrors: true, onRefused: () => undefined },
    ];
    for (const options of bad) {
      assert.throws(
        () => httpAuth({ packages: packages() }, options as ExpressAdapterOptions),
        (error: unknown) => (error as HttpAuthError).code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
        JSON.stringify(options),
      );
    }
  });
});

describe('Express: optional mode and a connection-bound handshake (listening server)', () => {
  const authenticator = createAuthenticator({ packages: [handshakePackage({ persist: true })] });
  let server: Server;
  let base: string;

  before(async () => {
    const app = express();
    app.use(httpAuth(authenticator, { optional: true }));
    app.get('/', (req, res) => res.json({ name: req.auth?.principal.name ?? null }));
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
      assert.equal(second.status, 200);
      assert.equal(JSON.parse(second.body).name, 'HAND\\carol');
      // Connection-bound (NTLM-like): later requests on it need no header and are not anonymous.
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
