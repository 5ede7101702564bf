import { strict as assert } from 'node:assert';
import { Agent, IncomingMessage, ServerResponse, type Server } from 'node:http';
import { Socket, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { HttpAuthError, type SecurityPackage } from '@httpauth/core';
import express from 'express';
import fc from 'fast-check';
import passport from 'passport';
import { Strategy } from 'passport-strategy';
import { HttpAuthStrategy, type HttpAuthInfo } from '../src/index.js';
import { handshakePackage, tokenPackage } from '../../../test/support/adapter-fakes.js';
import { send } from '../../../test/support/http-client.js';

/** A trivial second strategy: `X-Api-Key: key-NAME` logs NAME in; else fails with a challenge. */
class ApiKeyStrategy extends Strategy {
  name = 'apikey';
  override authenticate(req: express.Request): void {
    const key = req.headers['x-api-key'];
    if (typeof key === 'string' && key.startsWith('key-')) this.success({ name: key.slice(4) });
    else this.fail('ApiKey realm="api"', 401);
  }
}

/** A package whose replay store is down: the engine answers 503 with Retry-After. */
function storeDownPackage(): SecurityPackage {
  return {
    name: 'Down',
    scheme: 'Token',
    connectionBound: false,
    challenges: () => ['Token'],
    accept: () => Promise.reject(new HttpAuthError('ERR_HTTPAUTH_STORE_UNAVAILABLE')),
  };
}

/** Runs the strategy on a bare request and returns what it handed to passport's fail(). */
function failureOf(strategy: HttpAuthStrategy, authorization: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = {
      method: 'GET',
      url: '/',
      originalUrl: '/',
      headers: { authorization },
      httpVersionMajor: 1,
      socket: {},
      complete: true,
      res: new ServerResponse(new IncomingMessage(new Socket())),
    };
    const instance = Object.assign(Object.create(strategy) as HttpAuthStrategy, {
      fail: (challenge: unknown, status: number) => resolve({ challenge, status }),
      success: () => reject(new Error('authenticated')),
      error: reject,
    });
    instance.authenticate(req as unknown as express.Request);
  });
}

describe('HttpAuthStrategy (fakes)', () => {
  let server: Server;
  let base = '';
  const users: string[] = [];
  const strategy = new HttpAuthStrategy(
    { packages: [tokenPackage(), handshakePackage()] },
    (principal) => Promise.resolve(principal.user === 'nobody' ? false : { id: principal.user }),
  );

  before(async () => {
    const authenticator = passport.Passport ? new passport.Passport() : passport;
    authenticator.use(
      new HttpAuthStrategy({ packages: [tokenPackage(), handshakePackage()] }, async (principal) =>
        principal.user === 'nobody' ? false : { id: principal.user },
      ),
    );
    authenticator.use(
      'httpauth-cb',
      new HttpAuthStrategy({ packages: [tokenPackage()] }, (principal, done) => {
        users.push(principal.name);
        done(null, { id: `cb-${principal.user}` });
      }),
    );
    authenticator.use(
      'httpauth-sess',
      new HttpAuthStrategy({
        packages: [tokenPackage()],
        sessions: { keys: [{ id: 'a', secret: 'throwaway-test-session-key-0123456789' }] },
      }),
    );
    authenticator.use('down', new HttpAuthStrategy({ packages: [storeDownPackage()] }));
    authenticator.use(new ApiKeyStrategy());
    const app = express();
    app.set('env', 'test'); // finalhandler: no stack traces logged for the expected 503
    app.use(authenticator.initialize());
    const reply = (req: express.Request, res: express.Response) => {
      // Another strategy's success leaves authInfo as passport's {}.
      const info = req.authInfo as Partial<HttpAuthInfo> | undefined;
      res.json({
        user: req.user,
        info,
        disposable: typeof info?.impersonation?.dispose === 'function',
      });
    };
    app.get('/one', authenticator.authenticate('httpauth', { session: false }), reply);
    app.get('/cb', authenticator.authenticate('httpauth-cb', { session: false }), reply);
    app.get('/sess', authenticator.authenticate('httpauth-sess', { session: false }), reply);
    app.get('/down', authenticator.authenticate('down', { session: false }), reply);
    app.get('/two', authenticator.authenticate(['apikey', 'httpauth'], { session: false }), reply);
    app.get(
      '/redirect',
      authenticator.authenticate('httpauth', { session: false, failureRedirect: '/login' }),
      reply,
    );
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('no credentials: 401 with each challenge on its own WWW-Authenticate line', async () => {
    const res = await send(`${base}/one`);
    assert.equal(res.status, 401);
    assert.deepEqual(res.headers.get('www-authenticate'), [
      'Token realm="one"',
      'Token realm="two"',
      'Hand',
    ]);
  });

  test('a token authenticates; verify maps the principal to req.user, authInfo has the mechanism', async () => {
    const res = await send(`${base}/one`, { headers: { authorization: 'Token good-alice' } });
    assert.equal(res.status, 200);
    const body = JSON.parse(res.body) as {
      user: unknown;
      info: { mechanism: string; principal: { name: string } };
      disposable: boolean;
    };
    assert.deepEqual(body.user, { id: 'alice' });
    assert.equal(body.info.mechanism, 'Basic');
    assert.equal(body.info.principal.name, 'alice');
    assert.equal(body.disposable, true, 'req.authInfo carries the impersonation context');
    assert.deepEqual(res.headers.get('authentication-info'), ['user=alice']);
  });

  test("the engine's authentication session cookie reaches the response and is honoured", async () => {
    const login = await send(`${base}/sess`, { headers: { authorization: 'Token good-frank' } });
    assert.equal(login.status, 200);
    const cookie = login.headers.get('set-cookie')?.[0]?.split(';')[0];
    assert.ok(cookie !== undefined && cookie.includes('='), String(cookie));
    const again = await send(`${base}/sess`, { headers: { cookie } });
    assert.equal(again.status, 200, again.body);
    assert.equal((JSON.parse(again.body) as { user: { name: string } }).user.name, 'frank');
    assert.equal((await send(`${base}/sess`)).status, 401);
  });

  test('node-style verify callback', async () => {
    const res = await send(`${base}/cb`, { headers: { authorization: 'Token good-bob' } });
    assert.equal(res.status, 200);
    assert.deepEqual((JSON.parse(res.body) as { user: unknown }).user, { id: 'cb-bob' });
    assert.ok(users.includes('bob'));
  });

  test('verify returning false: 403, not a login', async () => {
    const res = await send(`${base}/one`, { headers: { authorization: 'Token good-nobody' } });
    assert.equal(res.status, 403);
  });

  test('a connection-bound handshake keeps its state across legs on one connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await send(`${base}/one`, { headers: { authorization: 'Hand one' }, agent });
      assert.equal(first.status, 401);
      assert.deepEqual(first.headers.get('www-authenticate'), ['Hand two-please']);
      const second = await send(`${base}/one`, { headers: { authorization: 'Hand two' }, agent });
      assert.equal(second.localPort, first.localPort);
      assert.equal(second.status, 200);
      assert.deepEqual((JSON.parse(second.body) as { user: unknown }).user, { id: 'carol' });
      assert.deepEqual(second.headers.get('www-authenticate'), ['Hand mutual']);
    } finally {
      agent.destroy();
    }
  });

  test('the second leg on another connection does not authenticate', async () => {
    await send(`${base}/one`, { headers: { authorization: 'Hand one', connection: 'close' } });
    const res = await send(`${base}/one`, {
      headers: { authorization: 'Hand two', connection: 'close' },
    });
    assert.notEqual(res.status, 200);
  });

  for (const authorization of [
    'Token',
    'Token ===',
    'Hand',
    'Token a=',
    '\u00ff\u00fe',
    'x'.repeat(9000),
  ]) {
    test(`garbage Authorization ${JSON.stringify(authorization.slice(0, 12))}: 4xx, never a crash`, async () => {
      const res = await send(`${base}/one`, {
        headers: { authorization: Buffer.from(authorization, 'latin1').toString('latin1') },
      });
      assert.ok(res.status === 400 || res.status === 401 || res.status === 431, `${res.status}`);
      if (res.status === 431) return; // Node refused the header itself
      const failure = (await failureOf(strategy, authorization)) as {
        challenge: { code: string };
        status: number;
      };
      assert.equal(failure.status, res.status);
      assert.match(failure.challenge.code, /^ERR_HTTPAUTH_[A-Z_]+$/);
    });
  }

  test('a store outage stays 503 with Retry-After (this.error), not 500', async () => {
    const res = await send(`${base}/down`, { headers: { authorization: 'Token good-alice' } });
    assert.equal(res.status, 503);
    assert.deepEqual(res.headers.get('retry-after'), ['5']);
    assert.equal(res.headers.get('www-authenticate'), undefined);
  });

  test('two strategies: both challenges, each on its own line; either one logs in', async () => {
    const none = await send(`${base}/two`);
    assert.equal(none.status, 401);
    assert.deepEqual(none.headers.get('www-authenticate'), [
      'ApiKey realm="api"',
      'Token realm="one"',
      'Token realm="two"',
      'Hand',
    ]);
    const key = await send(`${base}/two`, { headers: { 'x-api-key': 'key-dave' } });
    assert.deepEqual((JSON.parse(key.body) as { user: unknown }).user, { name: 'dave' });
    const token = await send(`${base}/two`, { headers: { authorization: 'Token good-erin' } });
    assert.deepEqual((JSON.parse(token.body) as { user: unknown }).user, { id: 'erin' });
  });

  test('failureRedirect redirects, without challenge headers', async () => {
    const res = await send(`${base}/redirect`, { headers: { authorization: 'Token bad' } });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location')?.[0], '/login');
    assert.equal(res.headers.get('www-authenticate'), undefined);
  });

  test('fail() gets the stable code and the challenges (custom callbacks, failureMessage)', async () => {
    assert.deepEqual(await failureOf(strategy, 'Token bad'), {
      status: 401,
      challenge: {
        code: 'ERR_HTTPAUTH_BAD_CREDENTIALS',
        message: new HttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS').message,
        challenges: ['Token realm="one"', 'Token realm="two"', 'Hand'],
      },
    });
  });

  test('random Authorization values: always fail() with 400/401 and a stable code', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.string({ maxLength: 300 }).map((rest) => `Token ${rest}`),
          fc.string({ maxLength: 300 }).map((rest) => `Hand ${rest}`),
          fc.base64String({ maxLength: 2000 }).map((b64) => `Negotiate ${b64}`),
        ),
        async (authorization) => {
          if (authorization.startsWith('Token good-')) return;
          const failure = (await failureOf(strategy, authorization)) as {
            challenge: { code: string };
            status: number;
          };
          assert.ok(failure.status === 400 || failure.status === 401, `${failure.status}`);
          assert.match(failure.challenge.code, /^ERR_HTTPAUTH_[A-Z_]+$/);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('options.name names the strategy; an authenticator source keeps the default', () => {
    assert.equal(
      new HttpAuthStrategy({ name: 'kerberos', packages: [tokenPackage()] }).name,
      'kerberos',
    );
    assert.equal(new HttpAuthStrategy(strategy.authenticator).name, 'httpauth');
  });

  test('without req.res (not Express): a clear error, not a half-working strategy', async () => {
    const strategy = new HttpAuthStrategy({ packages: [tokenPackage()] });
    const error = await new Promise<unknown>((resolve) => {
      const instance = Object.assign(Object.create(strategy) as HttpAuthStrategy, {
        error: resolve,
      });
      instance.authenticate({ headers: {} } as unknown as express.Request);
    });
    assert.match(String(error), /needs req\.res/);
  });

  test('a verify callback error goes to this.error untouched', async () => {
    const failing = new HttpAuthStrategy({ packages: [tokenPackage()] }, (_principal, done) =>
      done(new Error('db down')),
    );
    await assert.rejects(failureOf(failing, 'Token good-alice'), /db down/);
  });
});
