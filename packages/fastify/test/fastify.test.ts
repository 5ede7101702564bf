import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { Agent } from 'node:http';
import { connect as http2Connect } from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { createAuthenticator, digest, digestCallback, HttpAuthError } from '@httpauth/core';
import fc from 'fast-check';
import Fastify, { type FastifyInstance } from 'fastify';
import { httpAuth, type HttpAuthPluginOptions } from '../src/index.js';
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

async function appWith(options: HttpAuthPluginOptions): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(httpAuth, options);
  app.get('/health', { config: { httpauth: false } }, async (request) => ({
    auth: request.auth,
  }));
  app.all('/*', async (request) => ({
    name: request.auth?.principal.name,
    body: request.body ?? null,
  }));
  await app.ready();
  return app;
}

/** inject() folds repeated headers into an array; normalise to a list of lines. */
function values(header: string | string[] | number | undefined): string[] {
  if (header === undefined) return [];
  return Array.isArray(header) ? header : [String(header)];
}

describe('httpAuth for Fastify (inject)', () => {
  const seen: Seen = { requests: [] };
  const impersonation = countingImpersonation();
  let app: FastifyInstance;

  before(async () => {
    app = await appWith({
      packages: [tokenPackage(seen), handshakePackage()],
      impersonation: impersonation.factory,
    });
  });
  after(() => app.close());

  test('no credentials: 401 with every challenge as its own header line', async () => {
    const res = await app.inject({ url: '/' });
    assert.equal(res.statusCode, 401);
    // inject() gives each request a socket of its own, so the connection-bound scheme is offered.
    assert.deepEqual(values(res.headers['www-authenticate']), [
      'Token realm="one"',
      'Token realm="two"',
      'Hand',
    ]);
    assert.equal(res.json().error, 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
  });

  test('success sets request.auth and Authentication-Info; dispose after the response', async () => {
    const disposed = impersonation.state.disposed;
    const res = await app.inject({ url: '/p?q=1', headers: { authorization: 'Token good-ann' } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().name, 'ann');
    assert.equal(res.headers['authentication-info'], 'user=ann');
    assert.equal(seen.requests.at(-1)?.target, '/p?q=1');
    await waitFor(() => impersonation.state.disposed === disposed + 1);
  });

  test('denied, malformed and unsupported-scheme credentials', async () => {
    const denied = await app.inject({ url: '/', headers: { authorization: 'Token bad' } });
    assert.equal(denied.statusCode, 401);
    assert.equal(denied.json().error, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    const malformed = await app.inject({ url: '/', headers: { authorization: 'Token ="x"' } });
    assert.equal(malformed.statusCode, 400);
    assert.equal(malformed.json().error, 'ERR_HTTPAUTH_HEADER_MALFORMED');
    assert.equal(malformed.headers['www-authenticate'], undefined);
    const other = await app.inject({ url: '/', headers: { authorization: 'Bearer abc' } });
    assert.equal(other.statusCode, 401);
    assert.equal(other.json().error, 'ERR_HTTPAUTH_SCHEME_UNSUPPORTED');
  });

  test('per-route opt-out with config: { httpauth: false }', async () => {
    const res = await app.inject({ url: '/health' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { auth: null });
  });

  test('proxy mode: 407 and Proxy-Authorization', async () => {
    const proxy = await appWith({ packages: [tokenPackage()], proxy: true });
    try {
      const challenged = await proxy.inject({ url: '/' });
      assert.equal(challenged.statusCode, 407);
      assert.equal(values(challenged.headers['proxy-authenticate']).length, 2);
      const ok = await proxy.inject({
        url: '/',
        headers: { 'proxy-authorization': 'Token good-x' },
      });
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.headers['proxy-authentication-info'], 'user=x');
    } finally {
      await proxy.close();
    }
  });

  test('integrityBody: the package hashes the body and the route still gets request.body', async () => {
    const integrity = await appWith({
      packages: [tokenPackage()],
      integrityBody: { maxBytes: 2048 },
    });
    try {
      const payload = JSON.stringify({ amount: 42 });
      const digest = createHash('sha256').update(payload).digest('hex');
      const ok = await integrity.inject({
        method: 'POST',
        url: '/pay',
        payload,
        headers: { authorization: `Token body-${digest}`, 'content-type': 'application/json' },
      });
      assert.equal(ok.statusCode, 200);
      assert.deepEqual(ok.json(), { name: 'body', body: { amount: 42 } });
      const plain = await integrity.inject({
        method: 'POST',
        url: '/pay',
        payload,
        headers: { authorization: 'Token good-y', 'content-type': 'application/json' },
      });
      assert.deepEqual(plain.json(), { name: 'y', body: { amount: 42 } });
      const tampered = await integrity.inject({
        method: 'POST',
        url: '/pay',
        payload: JSON.stringify({ amount: 43 }),
        headers: { authorization: `Token body-${digest}`, 'content-type': 'application/json' },
      });
      assert.equal(tampered.statusCode, 401);
      const big = await integrity.inject({
        method: 'POST',
        url: '/pay',
        payload: 'x'.repeat(4096),
        headers: { authorization: `Token body-${digest}`, 'content-type': 'text/plain' },
      });
      assert.equal(big.statusCode, 400);
      assert.equal(big.json().error, 'ERR_HTTPAUTH_BODY_TOO_LARGE');
    } finally {
      await integrity.close();
    }
  });

  test('options are validated at registration', async () => {
    const valid = createAuthenticator({ packages: [tokenPackage()] });
    const cases: HttpAuthPluginOptions[] = [
      {},
      { packages: [] },
      { authenticator: valid, packages: [tokenPackage()] },
      { authenticator: valid, integrityBody: 'on' as never },
      { packages: [tokenPackage()], maxDrainBytes: 0 },
    ];
    for (const options of cases) {
      const app = Fastify();
      await assert.rejects(
        async () => {
          await app.register(httpAuth, options);
          await app.ready();
        },
        (error: unknown) =>
          error instanceof HttpAuthError && error.code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
      );
    }
  });

  test('an authenticator built from options is closed with the app', async () => {
    let closed = 0;
    const store = {
      add: async () => true,
      get: async () => undefined,
      compareAndSet: async () => true,
      advance: async () => true,
      delete: async () => {},
      close: async () => {
        closed++;
      },
    };
    const app = await appWith({ packages: [tokenPackage()], store });
    await app.close();
    assert.equal(closed, 1);
  });
});

describe('httpAuth for Fastify (listening server)', () => {
  const authenticator = createAuthenticator({ packages: [tokenPackage(), handshakePackage()] });
  let app: FastifyInstance;
  let base: string;

  before(async () => {
    app = await appWith({ authenticator });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => app.close());

  test('a challenge on a real connection offers the connection-bound scheme too', async () => {
    const res = await send(`${base}/`);
    assert.equal(res.status, 401);
    assert.deepEqual(res.headers.get('www-authenticate'), [
      'Token realm="one"',
      'Token realm="two"',
      'Hand',
    ]);
  });

  test('connection-bound handshake: continue, then complete on the same socket', async () => {
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

  test('a challenged POST body is drained and keep-alive survives', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const body = 'c'.repeat(250_000);
      const headers = { 'content-type': 'text/plain' };
      const first = await send(`${base}/`, { agent, method: 'POST', body, headers });
      assert.equal(first.status, 401);
      const second = await send(`${base}/`, {
        agent,
        method: 'POST',
        body,
        headers: { ...headers, authorization: 'Token good-z' },
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
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: ${32 * 1024 * 1024}\r\n\r\nabc`,
    );
    assert.match(text, /^HTTP\/1\.1 401 /);
    assert.match(text, /\r\nconnection: close\r\n/i);
  });
});

describe('httpAuth for Fastify over HTTP/2', () => {
  test('only per-request challenges; a connection-bound scheme gets 400', async () => {
    const app = Fastify({ http2: true });
    await app.register(httpAuth, { packages: [tokenPackage(), handshakePackage()] });
    app.get('/', async (request) => ({ name: request.auth?.principal.name }));
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    const session = http2Connect(base);
    const h2 = (headers: Record<string, string>) =>
      new Promise<{ status: number; challenge: string; body: string }>((resolve, reject) => {
        const stream = session.request({ ':path': '/', ...headers });
        let status = 0;
        let challenge = '';
        const chunks: Buffer[] = [];
        stream.on('response', (h) => {
          status = Number(h[':status']);
          const value = h['www-authenticate'];
          challenge = Array.isArray(value) ? value.join(', ') : (value ?? '');
        });
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () =>
          resolve({ status, challenge, body: Buffer.concat(chunks).toString() }),
        );
        stream.on('error', reject);
        stream.end();
      });
    try {
      const challenged = await h2({});
      assert.equal(challenged.status, 401);
      assert.equal(challenged.challenge, 'Token realm="one", Token realm="two"');
      const refused = await h2({ authorization: 'Hand one' });
      assert.equal(refused.status, 400);
      assert.equal(JSON.parse(refused.body).error, 'ERR_HTTPAUTH_CONNECTION_REQUIRED');
      const ok = await h2({ authorization: 'Token good-h2' });
      assert.equal(ok.status, 200);
      assert.equal(JSON.parse(ok.body).name, 'h2');
    } finally {
      session.close();
      await app.close();
    }
  });
});

describe('httpAuth for Fastify with random credentials', () => {
  test('random and mutated Authorization headers get 400 or 401 with a code, never a 500', async () => {
    const app = await appWith({
      packages: [
        digest({
          realm: 'prop',
          credentials: digestCallback((user) =>
            user === 'alice' ? { password: 'pw' } : undefined,
          ),
          qop: ['auth', 'auth-int'],
        }),
        tokenPackage(),
      ],
      integrityBody: { maxBytes: 1024 },
    });
    // Header values Node accepts: visible ASCII, spaces and tabs.
    const headerText = fc.stringMatching(/^[\x20-\x7e\t]{0,300}$/);
    const digestParams = fc
      .array(
        fc.tuple(
          fc.constantFrom(
            'username',
            'realm',
            'nonce',
            'uri',
            'response',
            'qop',
            'nc',
            'cnonce',
            'algorithm',
            'opaque',
            'userhash',
            'username*',
            'charset',
            'x',
          ),
          fc.oneof(
            headerText.map((v) => `"${v.replace(/["\\]/g, '')}"`),
            fc.stringMatching(/^[A-Za-z0-9=*'%-]{0,40}$/),
          ),
        ),
        { maxLength: 14 },
      )
      .map((pairs) => 'Digest ' + pairs.map(([k, v]) => `${k}=${v}`).join(', '));
    const header = fc.oneof(
      headerText,
      digestParams,
      headerText.map((v) => `Token ${v}`),
    );
    try {
      await fc.assert(
        fc.asyncProperty(header, fc.constantFrom('GET', 'POST'), async (authorization, method) => {
          const res = await app.inject({
            method,
            url: '/p',
            headers: { authorization },
            ...(method === 'POST'
              ? { payload: 'body', headers: { authorization, 'content-type': 'text/plain' } }
              : {}),
          });
          if (res.statusCode === 200) return; // "Token good-..." can legitimately pass
          assert.ok([400, 401].includes(res.statusCode), `status ${res.statusCode}`);
          const code = res.json().error as string;
          assert.match(code, /^ERR_HTTPAUTH_[A-Z0-9_]+$/);
          assert.notEqual(code, 'ERR_HTTPAUTH_INTERNAL');
        }),
        { numRuns: 400 },
      );
    } finally {
      await app.close();
    }
  });
});
