import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, createServer, request as httpRequest, type Server } from 'node:http';
import { connect as http2Connect, createServer as createHttp2Server } from 'node:http2';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HttpAuthError } from '../src/errors.js';
import { createAuthenticator, type AuthInfo } from '../src/loop/authenticator.js';
import { createHandler } from '../src/node/index.js';
import {
  challengeResponse,
  resolveAdapterOptions,
  toAuthRequest,
  type NodeRequest,
} from '../src/adapter.js';
import fc from 'fast-check';
import {
  countingImpersonation,
  handshakePackage,
  tokenPackage,
  type Seen,
} from '../../../test/support/adapter-fakes.js';
import { send, sendRawUntilClose } from '../../../test/support/http-client.js';

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

function close(server: { close(cb: () => void): unknown; closeAllConnections?: () => void }) {
  return new Promise<void>((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}

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

describe('createHandler over node:http', () => {
  const seen: Seen = { requests: [] };
  const impersonation = countingImpersonation();
  const authenticator = createAuthenticator({
    packages: [tokenPackage(seen), handshakePackage()],
    impersonation: impersonation.factory,
  });
  const handled: AuthInfo[] = [];
  let server: Server;
  let base: string;

  before(async () => {
    server = createServer(
      createHandler(
        authenticator,
        (req, res, auth) => {
          handled.push(auth);
          assert.equal(req.auth, auth);
          if (req.url === '/throw') throw new Error('application failure');
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ name: auth.principal.name }));
        },
        { integrityBody: { maxBytes: 1024 } },
      ),
    );
    base = await listen(server);
  });
  after(() => close(server));

  test('no credentials: 401, one WWW-Authenticate line per challenge, in order, JSON body', async () => {
    const res = await send(`${base}/`);
    assert.equal(res.status, 401);
    assert.deepEqual(res.headers.get('www-authenticate'), [
      'Token realm="one"',
      'Token realm="two"',
      'Hand',
    ]);
    assert.match(res.headers.get('content-type')?.[0] ?? '', /^application\/json/);
    assert.deepEqual(JSON.parse(res.body), {
      error: 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED',
      message: new HttpAuthError('ERR_HTTPAUTH_CREDENTIALS_REQUIRED').message,
    });
  });

  test('good credentials reach the handler with the principal and Authentication-Info', async () => {
    const before = impersonation.state.disposed;
    const res = await send(`${base}/x?y=1`, { headers: { authorization: 'Token good-alice' } });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { name: 'alice' });
    assert.deepEqual(res.headers.get('authentication-info'), ['user=alice']);
    assert.equal(res.headers.get('www-authenticate'), undefined);
    const last = seen.requests.at(-1);
    assert.equal(last?.target, '/x?y=1');
    assert.equal(last?.method, 'GET');
    assert.equal(last?.httpVersionMajor, 1);
    assert.equal(last?.secure, false);
    assert.equal(last?.localCertificate, undefined);
    await waitFor(() => impersonation.state.disposed === before + 1);
  });

  test('wrong credentials: 401 with fresh challenges', async () => {
    const res = await send(`${base}/`, { headers: { authorization: 'Token bad' } });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate')?.length, 3);
    assert.equal(JSON.parse(res.body).error, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
  });

  test('malformed header: 400 JSON with a code and no challenge', async () => {
    const res = await send(`${base}/`, { headers: { authorization: 'Token "unterminated' } });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('www-authenticate'), undefined);
    assert.equal(JSON.parse(res.body).error, 'ERR_HTTPAUTH_HEADER_MALFORMED');
  });

  test('two Authorization headers are refused, not silently merged', async () => {
    const res = await send(`${base}/`, {
      // Two header lines: Node's client sends one line per array element.
      headers: { authorization: ['Token good-alice', 'Token good-bob'] as unknown as string },
    });
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.body).error, 'ERR_HTTPAUTH_MULTIPLE_CREDENTIALS');
  });

  test('an application error becomes a bare 500', async () => {
    const res = await send(`${base}/throw`, { headers: { authorization: 'Token good-alice' } });
    assert.equal(res.status, 500);
    assert.doesNotMatch(res.body, /application failure/);
  });

  test('connection-bound handshake: continue then complete on the same socket', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await send(`${base}/`, { agent, headers: { authorization: 'Hand one' } });
      assert.equal(first.status, 401);
      assert.deepEqual(first.headers.get('www-authenticate'), ['Hand two-please']);
      assert.equal(JSON.parse(first.body).error, 'ERR_HTTPAUTH_HANDSHAKE_CONTINUE');
      assert.equal(authenticator.pendingHandshakes, 1);
      const second = await send(`${base}/`, { agent, headers: { authorization: 'Hand two' } });
      assert.equal(second.localPort, first.localPort);
      assert.equal(second.status, 200);
      assert.deepEqual(second.headers.get('www-authenticate'), ['Hand mutual']);
      assert.equal(authenticator.pendingHandshakes, 0);
    } finally {
      agent.destroy();
    }
  });

  test('the second leg on another connection is refused', async () => {
    const agentA = new Agent({ keepAlive: true, maxSockets: 1 });
    const agentB = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await send(`${base}/`, {
        agent: agentA,
        headers: { authorization: 'Hand one' },
      });
      assert.equal(first.status, 401);
      const other = await send(`${base}/`, {
        agent: agentB,
        headers: { authorization: 'Hand two' },
      });
      assert.notEqual(other.localPort, first.localPort);
      assert.equal(other.status, 401);
      assert.equal(JSON.parse(other.body).error, 'ERR_HTTPAUTH_HANDSHAKE_EXPIRED');
    } finally {
      agentA.destroy();
      agentB.destroy();
    }
  });

  test('handshake state is dropped when the socket closes', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const first = await send(`${base}/`, { agent, headers: { authorization: 'Hand one' } });
    assert.equal(first.status, 401);
    assert.ok(authenticator.pendingHandshakes >= 1);
    agent.destroy();
    await waitFor(() => authenticator.pendingHandshakes === 0);
  });

  test('a challenged request body is drained and keep-alive survives', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const body = 'x'.repeat(200_000);
      const first = await send(`${base}/`, { agent, method: 'POST', body });
      assert.equal(first.status, 401);
      assert.equal(first.headers.get('connection')?.[0]?.toLowerCase(), 'keep-alive');
      const second = await send(`${base}/`, {
        agent,
        method: 'POST',
        body,
        headers: { authorization: 'Token good-alice' },
      });
      assert.equal(second.status, 200);
      assert.equal(second.localPort, first.localPort);
    } finally {
      agent.destroy();
    }
  });

  test('a challenged request declaring a huge body gets Connection: close', async () => {
    const port = new URL(base).port;
    const text = await sendRawUntilClose(
      Number(port),
      `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${8 * 1024 * 1024}\r\n\r\n` +
        'x'.repeat(1000),
    );
    assert.match(text, /^HTTP\/1\.1 401 /);
    assert.match(text, /\r\nconnection: close\r\n/i);
  });

  test('during a handshake a huge body is drained instead, keeping the connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const body = Buffer.alloc(2 * 1024 * 1024, 0x61);
      const first = await send(`${base}/`, {
        agent,
        method: 'POST',
        body,
        headers: { authorization: 'Hand one' },
      });
      assert.equal(first.status, 401);
      assert.notEqual(first.headers.get('connection')?.[0]?.toLowerCase(), 'close');
      const second = await send(`${base}/`, { agent, headers: { authorization: 'Hand two' } });
      assert.equal(second.localPort, first.localPort);
      assert.equal(second.status, 200);
    } finally {
      agent.destroy();
    }
  });

  test('integrity body: the package reads it, the handler gets rawBody', async () => {
    const body = 'payload for auth-int';
    const digest = createHash('sha256').update(body).digest('hex');
    const ok = await send(`${base}/`, {
      method: 'POST',
      body,
      headers: { authorization: `Token body-${digest}` },
    });
    assert.equal(ok.status, 200);
    const tampered = await send(`${base}/`, {
      method: 'POST',
      body: body + '!',
      headers: { authorization: `Token body-${digest}` },
    });
    assert.equal(tampered.status, 401);
    const tooLarge = await send(`${base}/`, {
      method: 'POST',
      body: 'y'.repeat(5000),
      headers: { authorization: `Token body-${digest}` },
    });
    assert.equal(tooLarge.status, 400);
    assert.equal(JSON.parse(tooLarge.body).error, 'ERR_HTTPAUTH_BODY_TOO_LARGE');
  });

  test('a chunked body over the cap is refused during the read', async () => {
    const port = Number(new URL(base).port);
    const chunk = 'z'.repeat(600);
    const text = await sendRawUntilClose(
      port,
      `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token body-00\r\n` +
        `Transfer-Encoding: chunked\r\n\r\n` +
        `${(600).toString(16)}\r\n${chunk}\r\n`.repeat(3),
    );
    assert.match(text, /^HTTP\/1\.1 400 /);
    assert.match(text, /ERR_HTTPAUTH_BODY_TOO_LARGE/);
    assert.match(text, /\r\nconnection: close\r\n/i);
  });
});

describe('createHandler options and modes', () => {
  test('invalid options are refused at creation', () => {
    const valid = createAuthenticator({ packages: [tokenPackage()] });
    const bad: unknown[] = [
      [valid, 'not a function'],
      [valid, () => {}, { integrityBody: 'yes' }],
      [valid, () => {}, { integrityBody: { maxBytes: -1 } }],
      [valid, () => {}, { maxDrainBytes: 1.5 }],
      [valid, () => {}, { trustProxy: 1 }],
      [{ packages: [] }, () => {}],
      [null, () => {}],
    ];
    for (const args of bad) {
      assert.throws(
        () => (createHandler as (...a: unknown[]) => unknown)(...(args as unknown[])),
        (error: unknown) =>
          error instanceof HttpAuthError && error.code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
      );
    }
  });

  test('proxy mode: 407, Proxy-Authenticate, Proxy-Authorization, Proxy-Authentication-Info', async () => {
    const server = createServer(
      createHandler({ packages: [tokenPackage()], proxy: true }, (_req, res, auth) => {
        res.end(auth.principal.name);
      }),
    );
    const base = await listen(server);
    try {
      const challenged = await send(`${base}/`);
      assert.equal(challenged.status, 407);
      assert.equal(challenged.headers.get('proxy-authenticate')?.length, 2);
      assert.equal(challenged.headers.get('www-authenticate'), undefined);
      const ignored = await send(`${base}/`, { headers: { authorization: 'Token good-alice' } });
      assert.equal(ignored.status, 407);
      const ok = await send(`${base}/`, { headers: { 'proxy-authorization': 'Token good-dave' } });
      assert.equal(ok.status, 200);
      assert.equal(ok.body, 'dave');
      assert.deepEqual(ok.headers.get('proxy-authentication-info'), ['user=dave']);
    } finally {
      await close(server);
    }
  });

  test('trustProxy reads X-Forwarded-Proto; without it the header is ignored', async () => {
    for (const trustProxy of [true, false]) {
      const seen: Seen = { requests: [] };
      const server = createServer(
        createHandler({ packages: [tokenPackage(seen)] }, (_req, res) => res.end(), { trustProxy }),
      );
      const base = await listen(server);
      try {
        const res = await send(`${base}/`, {
          headers: { authorization: 'Token good-x', 'x-forwarded-proto': 'http, https' },
        });
        assert.equal(res.status, 200);
        assert.equal(seen.requests[0]?.secure, trustProxy);
      } finally {
        await close(server);
      }
    }
  });

  test('trustProxy takes the last X-Forwarded-Proto hop, not a value the client sent', async () => {
    // The client claims https; the trusted proxy appends what it saw (http), as a separate line
    // or in the same list. Only the proxy's value counts.
    const seen: Seen = { requests: [] };
    const server = createServer(
      createHandler({ packages: [tokenPackage(seen)] }, (_req, res) => res.end(), {
        trustProxy: true,
      }),
    );
    const base = await listen(server);
    try {
      for (const forwarded of ['https, http', 'https,http', 'HTTPS ,  Http']) {
        const res = await send(`${base}/`, {
          headers: { authorization: 'Token good-x', 'x-forwarded-proto': forwarded },
        });
        assert.equal(res.status, 200);
      }
      assert.deepEqual(
        seen.requests.map((r) => r.secure),
        [false, false, false],
      );
    } finally {
      await close(server);
    }
  });

  test('TLS: secure is set and the server certificate DER is passed on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'httpauth-tls-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
        ],
        { stdio: 'ignore' },
      );
      const cert = readFileSync(join(dir, 'cert.pem'));
      const seen: Seen = { requests: [] };
      const server = createHttpsServer(
        { key: readFileSync(join(dir, 'key.pem')), cert },
        createHandler({ packages: [tokenPackage(seen)] }, (_req, res) => res.end('ok')),
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const port = (server.address() as AddressInfo).port;
        const status = await new Promise<number>((resolve, reject) => {
          const req = httpsRequest(
            {
              host: '127.0.0.1',
              port,
              path: '/',
              rejectUnauthorized: false,
              headers: { authorization: 'Token good-tls' },
            },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          );
          req.on('error', reject);
          req.end();
        });
        assert.equal(status, 200);
        const seenRequest = seen.requests[0];
        assert.equal(seenRequest?.secure, true);
        assert.deepEqual(seenRequest?.localCertificate, new X509Certificate(cert).raw);
      } finally {
        await close(server);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('HTTP/2: only per-request challenges, connection-bound schemes refused', async () => {
    const server = createHttp2Server(
      createHandler({ packages: [tokenPackage(), handshakePackage()] }, (_req, res, auth) =>
        res.end(auth.principal.name),
      ),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const session = http2Connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const h2 = (headers: Record<string, string>) =>
      new Promise<{ status: number; challenges: string[]; body: string }>((resolve, reject) => {
        const stream = session.request({ ':path': '/', ...headers });
        let status = 0;
        let challenges: string[] = [];
        const chunks: Buffer[] = [];
        stream.on('response', (h) => {
          status = Number(h[':status']);
          // Node's HTTP/2 client joins repeated fields with ", "; split on the scheme names.
          const value = h['www-authenticate'];
          const joined = value === undefined ? '' : Array.isArray(value) ? value.join(', ') : value;
          challenges = joined === '' ? [] : joined.split(/, (?=Token|Hand)/);
        });
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () =>
          resolve({ status, challenges, body: Buffer.concat(chunks).toString() }),
        );
        stream.on('error', reject);
        stream.end();
      });
    try {
      const challenged = await h2({});
      assert.equal(challenged.status, 401);
      assert.deepEqual(challenged.challenges, ['Token realm="one"', 'Token realm="two"']);
      const refused = await h2({ authorization: 'Hand one' });
      assert.equal(refused.status, 400);
      assert.equal(JSON.parse(refused.body).error, 'ERR_HTTPAUTH_CONNECTION_REQUIRED');
      const ok = await h2({ authorization: 'Token good-h2' });
      assert.equal(ok.status, 200);
      assert.equal(ok.body, 'h2');
    } finally {
      session.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('a chunked challenged body past maxDrainBytes closes the connection after the 401', async () => {
    const server = createServer(
      createHandler({ packages: [tokenPackage()] }, (_req, res) => res.end(), {
        maxDrainBytes: 2000,
      }),
    );
    // Node's own keep-alive timer would close the idle connection after 5 s; take it out of the
    // picture so only the drain limit can close it.
    server.keepAliveTimeout = 120_000;
    await listen(server);
    try {
      const chunk = 'q'.repeat(1000);
      // Five chunks and no terminating zero-size chunk: a client that keeps sending.
      const text = await sendRawUntilClose(
        (server.address() as AddressInfo).port,
        'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' +
          `${(1000).toString(16)}\r\n${chunk}\r\n`.repeat(5),
      );
      assert.match(text, /^HTTP\/1\.1 401 /);
    } finally {
      await close(server);
    }
  });

  test('a connection authenticated by a persisted handshake stays authenticated', async () => {
    const server = createServer(
      createHandler({ packages: [handshakePackage({ persist: true })] }, (_req, res, auth) =>
        res.end(auth.principal.name),
      ),
    );
    const base = await listen(server);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      await send(`${base}/`, { agent, headers: { authorization: 'Hand one' } });
      const done = await send(`${base}/`, { agent, headers: { authorization: 'Hand two' } });
      assert.equal(done.status, 200);
      const later = await send(`${base}/next`, { agent });
      assert.equal(later.localPort, done.localPort);
      assert.equal(later.status, 200);
      assert.equal(later.body, 'HAND\\carol');
      const fresh = await send(`${base}/next`);
      assert.notEqual(fresh.localPort, done.localPort);
      assert.equal(fresh.status, 401);
    } finally {
      agent.destroy();
      await close(server);
    }
  });

  test('dispose runs when the client goes away before the response ends', async () => {
    const impersonation = countingImpersonation();
    let release: () => void = () => {};
    const server = createServer(
      createHandler(
        { packages: [tokenPackage()], impersonation: impersonation.factory },
        (_req, res) => {
          res.write('partial');
          release();
        },
      ),
    );
    const base = await listen(server);
    try {
      const started = new Promise<void>((resolve) => (release = resolve));
      const req = httpRequest(`${base}/`, { headers: { authorization: 'Token good-z' } });
      req.on('error', () => {});
      req.end();
      await started;
      assert.equal(impersonation.state.disposed, 0);
      req.destroy();
      await waitFor(() => impersonation.state.disposed === 1);
      assert.equal(impersonation.state.created, 1);
    } finally {
      await close(server);
    }
  });
});

describe('adapter support on random request metadata', () => {
  test('toAuthRequest and challengeResponse never throw on any header values', () => {
    const options = resolveAdapterOptions({ trustProxy: true });
    const text = fc.string({ maxLength: 40 });
    const maybe = fc.option(fc.oneof(text, fc.array(text, { maxLength: 3 })), { nil: undefined });
    fc.assert(
      fc.property(
        fc.record({
          'content-length': fc.option(fc.oneof(text, fc.nat().map(String)), { nil: undefined }),
          'transfer-encoding': fc.option(text, { nil: undefined }),
          'x-forwarded-proto': maybe,
          authorization: fc.option(text, { nil: undefined }),
        }),
        fc.constantFrom(1, 2),
        fc.boolean(),
        (headers, httpVersionMajor, complete) => {
          const fake = {
            method: 'POST',
            url: '/x',
            headers,
            headersDistinct: {},
            httpVersionMajor,
            complete,
            socket: { once: () => {} },
          } as unknown as NodeRequest;
          const request = toAuthRequest(fake, options);
          assert.equal(typeof request.secure, 'boolean');
          const response = challengeResponse(
            fake,
            {
              type: 'respond',
              scheme: undefined,
              status: 401,
              headers: [['www-authenticate', 'Token']],
              error: new HttpAuthError('ERR_HTTPAUTH_CREDENTIALS_REQUIRED'),
            },
            options,
          );
          assert.equal(response.status, 401);
          // HTTP/2 forbids the Connection header; it is only ever set on HTTP/1.x.
          if (httpVersionMajor === 2) assert.equal(response.closeConnection, false);
        },
      ),
      { numRuns: 500 },
    );
  });
});
