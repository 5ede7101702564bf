import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createAuthenticator, HttpAuthError } from '@httpauth/core';
import express, { type Express } from 'express';
import request from 'supertest';
import { httpAuth } from '../src/index.js';
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

/** Every value of a header as separate lines, from supertest's raw response. */
function lines(res: request.Response, name: string): string[] {
  const raw = (res as unknown as { res: { rawHeaders: string[] } }).res.rawHeaders;
  const values: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === name) values.push(raw[i + 1] as string);
  }
  return values;
}

function appWith(middleware: ReturnType<typeof httpAuth>): Express {
  const app = express();
  app.use(middleware);
  app.all('/{*path}', (req, res) => {
    res.json({ name: req.auth?.principal.name, url: req.originalUrl, raw: req.rawBody?.length });
  });
  return app;
}

describe('httpAuth for Express (in-process)', () => {
  const seen: Seen = { requests: [] };
  const impersonation = countingImpersonation();
  const app = appWith(
    httpAuth({
      packages: [tokenPackage(seen), handshakePackage()],
      impersonation: impersonation.factory,
      integrityBody: { maxBytes: 4096 },
    }),
  );

  test('no credentials: 401 with one WWW-Authenticate line per challenge', async () => {
    const res = await request(app).get('/');
    assert.equal(res.status, 401);
    assert.deepEqual(lines(res, 'www-authenticate'), [
      'Token realm="one"',
      'Token realm="two"',
      'Hand',
    ]);
    assert.equal(res.body.error, 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
  });

  test('success: req.auth is set, Authentication-Info sent, dispose called on finish', async () => {
    const disposedBefore = impersonation.state.disposed;
    const res = await request(app).get('/a/b?c=d').set('Authorization', 'Token good-alice');
    assert.equal(res.status, 200);
    assert.equal(res.body.name, 'alice');
    assert.equal(res.headers['authentication-info'], 'user=alice');
    assert.equal(seen.requests.at(-1)?.target, '/a/b?c=d');
    await waitFor(() => impersonation.state.disposed === disposedBefore + 1);
  });

  test('denied and malformed credentials', async () => {
    const denied = await request(app).get('/').set('Authorization', 'Token bad');
    assert.equal(denied.status, 401);
    assert.equal(denied.body.error, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    assert.equal(lines(denied, 'www-authenticate').length, 3);
    const malformed = await request(app).get('/').set('Authorization', 'Token a=b c');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error, 'ERR_HTTPAUTH_HEADER_MALFORMED');
    assert.deepEqual(lines(malformed, 'www-authenticate'), []);
  });

  test('integrity body is read for the package and kept as req.rawBody', async () => {
    const body = JSON.stringify({ hello: 'world' });
    const digest = createHash('sha256').update(body).digest('hex');
    const ok = await request(app)
      .post('/upload')
      .set('Authorization', `Token body-${digest}`)
      .set('Content-Type', 'application/json')
      .send(body);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.raw, Buffer.byteLength(body));
    const big = await request(app)
      .post('/upload')
      .set('Authorization', `Token body-${digest}`)
      .send('x'.repeat(5000));
    assert.equal(big.status, 400);
    assert.equal(big.body.error, 'ERR_HTTPAUTH_BODY_TOO_LARGE');
  });

  test('a body parser mounted before the middleware leaves no body to hash: fail closed', async () => {
    const early = express();
    early.use(express.text());
    early.use(httpAuth({ packages: [tokenPackage()], integrityBody: true }));
    early.post('/x', (req, res) => res.json({ name: req.auth?.principal.name }));
    const body = 'parsed too early';
    const digest = createHash('sha256').update(body).digest('hex');
    const res = await request(early)
      .post('/x')
      .set('Authorization', `Token body-${digest}`)
      .set('Content-Type', 'text/plain')
      .send(body);
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'ERR_HTTPAUTH_BODY_UNREADABLE');
  });

  test('the target is the URL as received when mounted on a path', async () => {
    const mountedSeen: Seen = { requests: [] };
    const mounted = express();
    mounted.use('/api', httpAuth({ packages: [tokenPackage(mountedSeen)] }));
    mounted.get('/api/x', (req, res) => res.json({ name: req.auth?.principal.name }));
    const res = await request(mounted).get('/api/x?q=1').set('Authorization', 'Token good-m');
    assert.equal(res.status, 200);
    assert.equal(mountedSeen.requests[0]?.target, '/api/x?q=1');
  });

  test('proxy mode answers 407 and reads Proxy-Authorization', async () => {
    const proxied = appWith(httpAuth({ packages: [tokenPackage()], proxy: true }));
    const challenged = await request(proxied).get('/');
    assert.equal(challenged.status, 407);
    assert.equal(lines(challenged, 'proxy-authenticate').length, 2);
    const ok = await request(proxied).get('/').set('Proxy-Authorization', 'Token good-p');
    assert.equal(ok.status, 200);
    assert.equal(ok.body.name, 'p');
    assert.equal(ok.headers['proxy-authentication-info'], 'user=p');
  });

  test('an existing authenticator can be passed with separate adapter options', async () => {
    const seenHere: Seen = { requests: [] };
    const authenticator = createAuthenticator({ packages: [tokenPackage(seenHere)] });
    const middleware = httpAuth(authenticator, { trustProxy: true });
    assert.equal(middleware.authenticator, authenticator);
    const res = await request(appWith(middleware))
      .get('/')
      .set('Authorization', 'Token good-t')
      .set('X-Forwarded-Proto', 'https');
    assert.equal(res.status, 200);
    assert.equal(seenHere.requests[0]?.secure, true);
  });

  test('invalid options throw ERR_HTTPAUTH_INVALID_OPTIONS at registration', () => {
    const cases: Array<() => unknown> = [
      () => httpAuth({ packages: [] }),
      () => httpAuth({ packages: [tokenPackage()], integrityBody: { maxBytes: 0 } }),
      () => httpAuth({ packages: [tokenPackage()] }, { maxDrainBytes: -5 }),
      () => httpAuth(null as never),
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

describe('httpAuth for Express (listening server)', () => {
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

  test('connection-bound handshake completes on one keep-alive connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await send(`${base}/`, { agent, headers: { authorization: 'Hand one' } });
      assert.equal(first.status, 401);
      assert.deepEqual(first.headers.get('www-authenticate'), ['Hand two-please']);
      const second = await send(`${base}/`, { agent, headers: { authorization: 'Hand two' } });
      assert.equal(second.localPort, first.localPort);
      assert.equal(second.status, 200);
      assert.equal(JSON.parse(second.body).name, 'HAND\\carol');
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

  test('a challenged POST is drained and the connection kept', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const body = 'b'.repeat(300_000);
      const first = await send(`${base}/`, { agent, method: 'POST', body });
      assert.equal(first.status, 401);
      const second = await send(`${base}/`, {
        agent,
        method: 'POST',
        body,
        headers: { authorization: 'Token good-k' },
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
      `PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\nabc`,
    );
    assert.match(text, /^HTTP\/1\.1 401 /);
    assert.match(text, /\r\nconnection: close\r\n/i);
  });
});
