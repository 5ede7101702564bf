import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createAuthenticator, HttpAuthError } from '@httpauth/core';
import Koa from 'koa';
import request from 'supertest';
import { httpAuth, type HttpAuthState } from '../src/index.js';
import {
  countingImpersonation,
  handshakePackage,
  tokenPackage,
  type Seen,
} from '../../../test/support/adapter-fakes.js';
import { send, sendRawUntilClose } from '../../../test/support/http-client.js';

/** Polls until `condition` holds; gives up (failing the test) after a generous bound. */
function waitFor(condition: () => boolean, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (condition()) resolve();
      else if (Date.now() > deadline) reject(new Error('condition not reached'));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

function lines(res: request.Response, name: string): string[] {
  const raw = (res as unknown as { res: { rawHeaders: string[] } }).res.rawHeaders;
  const found: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === name) found.push(raw[i + 1] as string);
  }
  return found;
}

function appWith(middleware: ReturnType<typeof httpAuth>): Koa<HttpAuthState> {
  const app = new Koa<HttpAuthState>();
  app.use(middleware);
  app.use((ctx) => {
    ctx.body = { name: ctx.state.auth.principal.name, raw: ctx.state.rawBody?.length ?? null };
  });
  return app;
}

describe('httpAuth for Koa (in-process)', () => {
  const seen: Seen = { requests: [] };
  const impersonation = countingImpersonation();
  const server = appWith(
    httpAuth({
      packages: [tokenPackage(seen), handshakePackage()],
      impersonation: impersonation.factory,
      integrityBody: true,
    }),
  ).callback();

  test('no credentials: 401, every challenge on its own line, JSON error body', async () => {
    const res = await request(server).get('/');
    assert.equal(res.status, 401);
    assert.deepEqual(lines(res, 'www-authenticate'), [
      'Token realm="one"',
      'Token realm="two"',
      'Hand',
    ]);
    assert.match(res.headers['content-type'] ?? '', /^application\/json/);
    assert.equal(res.body.error, 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
  });

  test('success: ctx.state.auth, Authentication-Info, dispose when finished', async () => {
    const disposed = impersonation.state.disposed;
    const res = await request(server).get('/k?x=1').set('Authorization', 'Token good-kim');
    assert.equal(res.status, 200);
    assert.equal(res.body.name, 'kim');
    assert.equal(res.headers['authentication-info'], 'user=kim');
    assert.equal(seen.requests.at(-1)?.target, '/k?x=1');
    await waitFor(() => impersonation.state.disposed === disposed + 1);
  });

  test('denied and malformed credentials', async () => {
    const denied = await request(server).get('/').set('Authorization', 'Token bad');
    assert.equal(denied.status, 401);
    assert.equal(denied.body.error, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    const malformed = await request(server).get('/').set('Authorization', 'Token, Other');
    assert.equal(malformed.status, 400);
    assert.ok(malformed.body.error.startsWith('ERR_HTTPAUTH_'));
    assert.deepEqual(lines(malformed, 'www-authenticate'), []);
  });

  test('integrity body: read for the package and kept as ctx.state.rawBody', async () => {
    const body = 'koa body';
    const digest = createHash('sha256').update(body).digest('hex');
    const ok = await request(server)
      .post('/')
      .set('Authorization', `Token body-${digest}`)
      .set('Content-Type', 'text/plain')
      .send(body);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.raw, body.length);
    const tampered = await request(server)
      .post('/')
      .set('Authorization', `Token body-${digest}`)
      .set('Content-Type', 'text/plain')
      .send(body + '.');
    assert.equal(tampered.status, 401);
  });

  test('proxy mode answers 407 with Proxy-Authenticate', async () => {
    const proxy = appWith(httpAuth({ packages: [tokenPackage()], proxy: true })).callback();
    const challenged = await request(proxy).get('/');
    assert.equal(challenged.status, 407);
    assert.equal(lines(challenged, 'proxy-authenticate').length, 2);
    const ok = await request(proxy).get('/').set('Proxy-Authorization', 'Token good-q');
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['proxy-authentication-info'], 'user=q');
  });

  test('invalid options throw ERR_HTTPAUTH_INVALID_OPTIONS', () => {
    const valid = createAuthenticator({ packages: [tokenPackage()] });
    const cases: Array<() => unknown> = [
      () => httpAuth({ packages: [] }),
      () => httpAuth(valid, { integrityBody: { maxBytes: 2.5 } }),
      () => httpAuth(valid, { trustProxy: 'yes' as never }),
      () => httpAuth(undefined as never),
    ];
    for (const make of cases) {
      assert.throws(
        make,
        (error: unknown) =>
          error instanceof HttpAuthError && error.code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
      );
    }
  });
});

describe('httpAuth for Koa (listening server)', () => {
  const authenticator = createAuthenticator({ packages: [tokenPackage(), handshakePackage()] });
  let server: Server;
  let base: string;

  before(async () => {
    server = appWith(httpAuth(authenticator)).listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('connection-bound handshake completes on the same connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await send(`${base}/`, { agent, headers: { authorization: 'Hand one' } });
      assert.equal(first.status, 401);
      assert.deepEqual(first.headers.get('www-authenticate'), ['Hand two-please']);
      const second = await send(`${base}/`, { agent, headers: { authorization: 'Hand two' } });
      assert.equal(second.status, 200);
      assert.equal(second.localPort, first.localPort);
      assert.deepEqual(second.headers.get('www-authenticate'), ['Hand mutual']);
    } finally {
      agent.destroy();
    }
  });

  test('handshake state is dropped when the socket closes', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    await send(`${base}/`, { agent, headers: { authorization: 'Hand one' } });
    assert.equal(authenticator.pendingHandshakes, 1);
    agent.destroy();
    await waitFor(() => authenticator.pendingHandshakes === 0);
  });

  test('a challenged POST is drained and keep-alive survives', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const body = 'k'.repeat(400_000);
      const first = await send(`${base}/`, { agent, method: 'POST', body });
      assert.equal(first.status, 401);
      const second = await send(`${base}/`, {
        agent,
        method: 'POST',
        body,
        headers: { authorization: 'Token good-w' },
      });
      assert.equal(second.status, 200);
      assert.equal(second.localPort, first.localPort);
    } finally {
      agent.destroy();
    }
  });

  test('a huge declared body on a challenged request closes the connection', async () => {
    const text = await sendRawUntilClose(
      Number(new URL(base).port),
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${16 * 1024 * 1024}\r\n\r\nabc`,
    );
    assert.match(text, /^HTTP\/1\.1 401 /);
    assert.match(text, /\r\nconnection: close\r\n/i);
  });
});
