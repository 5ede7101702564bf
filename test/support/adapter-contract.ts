/**
 * The adapter contract, written once and run against every adapter over a real loopback
 * connection: Express, Fastify, Koa and core's node:http `createHandler`. What RFC 9110 §11 asks
 * of the server side (one challenge per WWW-Authenticate line, 401/407, Authentication-Info) and
 * what the connection-bound schemes need (NTLM and Negotiate over HTTP: the handshake stays on
 * one keep-alive connection, a refused body is drained or the connection closed).
 * The seam options live in adapter-seams-contract.ts.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { HttpAuthError } from '@httpauth/core';
import {
  countingImpersonation,
  handshakePackage,
  tokenPackage,
  type Seen,
} from './adapter-fakes.js';
import {
  ALL_CHALLENGES,
  echo,
  errorCode,
  portOf,
  TOKEN_CHALLENGES,
  waitFor,
  withMounted,
  type AdapterDriver,
  type Mounted,
} from './adapter-driver.js';
import { send, sendRawUntilClose } from './http-client.js';
import { connectionBoundContract } from './adapter-connection-contract.js';
import { loggerContract } from './adapter-logger-contract.js';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

export function adapterContract(driver: AdapterDriver): void {
  describe(`adapter contract: ${driver.name}`, () => {
    requestContract(driver);
    connectionBoundContract(driver);
    modesContract(driver);
    loggerContract(driver);
  });
}

/** Per-request schemes on one shared server: challenge, success, refusals, integrity body. */
function requestContract(driver: AdapterDriver): void {
  describe('per-request credentials', () => {
    const seen: Seen = { requests: [] };
    const impersonation = countingImpersonation();
    let mounted: Mounted;
    let base: string;

    before(async () => {
      const authenticator = driver.createAuthenticator({
        packages: [tokenPackage(seen), handshakePackage()],
        impersonation: impersonation.factory,
      });
      mounted = await driver.mount(authenticator, {
        adapter: { integrityBody: { maxBytes: 1024 } },
      });
      base = mounted.base;
    });
    after(() => mounted.close());

    test('no credentials: 401, one WWW-Authenticate line per challenge, in order, JSON body', async () => {
      const res = await send(`${base}/`);
      assert.equal(res.status, 401);
      // A real connection: the connection-bound scheme is offered too.
      assert.deepEqual(res.headers.get('www-authenticate'), ALL_CHALLENGES);
      assert.match(res.headers.get('content-type')?.[0] ?? '', /^application\/json/);
      assert.deepEqual(JSON.parse(res.body), {
        error: 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED',
        message: new HttpAuthError('ERR_HTTPAUTH_CREDENTIALS_REQUIRED').message,
      });
    });

    test('success: the identity is set, Authentication-Info sent, dispose runs after the response', async () => {
      const disposedBefore = impersonation.state.disposed;
      const res = await send(`${base}/a/b?c=d`, { headers: { authorization: 'Token good-alice' } });
      assert.equal(res.status, 200);
      assert.equal(echo(res).name, 'alice');
      assert.deepEqual(res.headers.get('authentication-info'), ['user=alice']);
      assert.equal(res.headers.get('www-authenticate'), undefined);
      const last = seen.requests.at(-1);
      assert.equal(last?.target, '/a/b?c=d');
      assert.equal(last?.method, 'GET');
      assert.equal(last?.httpVersionMajor, 1);
      assert.equal(last?.secure, false);
      assert.equal(last?.localCertificate, undefined);
      await waitFor(() => impersonation.state.disposed === disposedBefore + 1);
    });

    test('wrong credentials: 401 with fresh challenges', async () => {
      const res = await send(`${base}/`, { headers: { authorization: 'Token bad' } });
      assert.equal(res.status, 401);
      assert.deepEqual(res.headers.get('www-authenticate'), ALL_CHALLENGES);
      assert.equal(errorCode(res), 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    });

    test('malformed header: 400 JSON with a code and no challenge', async () => {
      for (const header of ['Token a=b c', 'Token, Other', 'Token ="x"', 'Token "unterminated']) {
        const res = await send(`${base}/`, { headers: { authorization: header } });
        assert.equal(res.status, 400, header);
        assert.equal(errorCode(res), 'ERR_HTTPAUTH_HEADER_MALFORMED', header);
        assert.equal(res.headers.get('www-authenticate'), undefined, header);
      }
    });

    test('an unsupported scheme: 401 ERR_HTTPAUTH_SCHEME_UNSUPPORTED with the challenges', async () => {
      const res = await send(`${base}/`, { headers: { authorization: 'Bearer abc' } });
      assert.equal(res.status, 401);
      assert.equal(errorCode(res), 'ERR_HTTPAUTH_SCHEME_UNSUPPORTED');
      assert.deepEqual(res.headers.get('www-authenticate'), ALL_CHALLENGES);
    });

    test('two Authorization headers are refused, not silently merged', async () => {
      const res = await send(`${base}/`, {
        // Two header lines: Node's client sends one line per array element.
        headers: { authorization: ['Token good-alice', 'Token good-bob'] as unknown as string },
      });
      assert.equal(res.status, 400);
      assert.equal(errorCode(res), 'ERR_HTTPAUTH_MULTIPLE_CREDENTIALS');
    });

    test('two Authorization lines spelled in different case are refused too', async () => {
      const port = portOf(base);
      const text = await sendRawUntilClose(
        port,
        'GET / HTTP/1.1\r\nHost: localhost\r\nAuthorization: Token good-alice\r\n' +
          'AUTHORIZATION: Token good-bob\r\nConnection: close\r\n\r\n',
      );
      assert.match(text, /^HTTP\/1\.1 400 /);
      assert.match(text, /ERR_HTTPAUTH_MULTIPLE_CREDENTIALS/);
    });

    test('integrity body: the package reads it and the route still gets it; tampered or too large is refused', async () => {
      const body = JSON.stringify({ hello: 'world' });
      const authorization = `Token body-${sha256(body)}`;
      const headers = { authorization, 'content-type': 'text/plain' };
      const ok = await send(`${base}/upload`, { method: 'POST', body, headers });
      assert.equal(ok.status, 200);
      assert.deepEqual(echo(ok), { name: 'body', raw: Buffer.byteLength(body) });
      const plain = await send(`${base}/upload`, {
        method: 'POST',
        body,
        headers: { ...headers, authorization: 'Token good-y' },
      });
      assert.equal(echo(plain).name, 'y');
      const tampered = await send(`${base}/upload`, { method: 'POST', body: `${body}!`, headers });
      assert.equal(tampered.status, 401);
      const big = await send(`${base}/upload`, { method: 'POST', body: 'y'.repeat(5000), headers });
      assert.equal(big.status, 400);
      assert.equal(errorCode(big), 'ERR_HTTPAUTH_BODY_TOO_LARGE');
    });

    test('a chunked body over the cap is refused during the read', async () => {
      const chunk = 'z'.repeat(600);
      const text = await sendRawUntilClose(
        portOf(base),
        'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token body-00\r\n' +
          'Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n' +
          `${(600).toString(16)}\r\n${chunk}\r\n`.repeat(3),
      );
      assert.match(text, /^HTTP\/1\.1 400 /);
      assert.match(text, /ERR_HTTPAUTH_BODY_TOO_LARGE/);
      assert.match(text, /\r\nconnection: close\r\n/i);
    });
  });
}

/** Options beside the packages: proxy mode, trustProxy, invalid options. */
function modesContract(driver: AdapterDriver): void {
  describe('modes and options', () => {
    test('proxy mode: 407, Proxy-Authenticate, Proxy-Authorization, Proxy-Authentication-Info', async () => {
      await withMounted(driver.mount({ packages: [tokenPackage()], proxy: true }), async (base) => {
        const challenged = await send(`${base}/`);
        assert.equal(challenged.status, 407);
        assert.deepEqual(challenged.headers.get('proxy-authenticate'), TOKEN_CHALLENGES);
        assert.equal(challenged.headers.get('www-authenticate'), undefined);
        const ignored = await send(`${base}/`, { headers: { authorization: 'Token good-alice' } });
        assert.equal(ignored.status, 407);
        const ok = await send(`${base}/`, {
          headers: { 'proxy-authorization': 'Token good-dave' },
        });
        assert.equal(ok.status, 200);
        assert.equal(echo(ok).name, 'dave');
        assert.deepEqual(ok.headers.get('proxy-authentication-info'), ['user=dave']);
        const twice = await send(`${base}/`, {
          headers: {
            'proxy-authorization': ['Token good-dave', 'Token good-alice'] as unknown as string,
          },
        });
        assert.equal(twice.status, 400);
        assert.equal(errorCode(twice), 'ERR_HTTPAUTH_MULTIPLE_CREDENTIALS');
      });
    });

    test('an existing authenticator with trustProxy reads X-Forwarded-Proto; without it the header is ignored', async () => {
      for (const trustProxy of [true, false]) {
        const seen: Seen = { requests: [] };
        const authenticator = driver.createAuthenticator({ packages: [tokenPackage(seen)] });
        await withMounted(
          driver.mount(authenticator, { adapter: { trustProxy } }),
          async (base) => {
            const res = await send(`${base}/`, {
              headers: { authorization: 'Token good-x', 'x-forwarded-proto': 'http, https' },
            });
            assert.equal(res.status, 200);
            assert.equal(seen.requests[0]?.secure, trustProxy);
          },
        );
      }
    });

    test('trustProxy takes the last X-Forwarded-Proto hop, not a value the client sent', async () => {
      // The client claims https; the trusted proxy appends what it saw (http). Only its value counts.
      const seen: Seen = { requests: [] };
      const mounting = driver.mount(
        { packages: [tokenPackage(seen)] },
        { adapter: { trustProxy: true } },
      );
      await withMounted(mounting, async (base) => {
        for (const forwarded of ['https, http', 'https,http', 'HTTPS ,  Http']) {
          const headers = { authorization: 'Token good-x', 'x-forwarded-proto': forwarded };
          assert.equal((await send(`${base}/`, { headers })).status, 200);
        }
        assert.deepEqual(
          seen.requests.map((r) => r.secure),
          [false, false, false],
        );
      });
    });

    test('invalid options throw ERR_HTTPAUTH_INVALID_OPTIONS at registration', async () => {
      const valid = driver.createAuthenticator({ packages: [tokenPackage()] });
      const inline = { packages: [tokenPackage()] };
      const cases: Array<[unknown, Record<string, unknown>?]> = [
        [{ packages: [] }],
        [null],
        [undefined],
        [{ ...inline, integrityBody: { maxBytes: 0 } }],
        [valid, { integrityBody: { maxBytes: -1 } }],
        [valid, { integrityBody: { maxBytes: 2.5 } }],
        [valid, { integrityBody: 'on' }],
        [inline, { maxDrainBytes: -5 }],
        [valid, { maxDrainBytes: 0 }],
        [valid, { maxDrainBytes: 1.5 }],
        [valid, { trustProxy: 'yes' }],
        [valid, { trustProxy: 1 }],
      ];
      for (const [source, adapter] of cases) {
        await assert.rejects(
          async () => driver.register(source, adapter),
          (error: unknown) => (error as HttpAuthError).code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
          JSON.stringify([source, adapter]),
        );
      }
    });
  });
}

// One import for a driver file: the suites and the driver kit.
export { seamsContract } from './adapter-seams-contract.js';
export * from './adapter-driver.js';
