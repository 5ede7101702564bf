/**
 * The connection-bound part of the adapter contract: NTLM and Negotiate over HTTP authenticate a
 * connection, not a request (RFC 4559 §4, MS-NTHT §2), so every adapter must keep the handshake
 * on one keep-alive connection, forget it when the socket closes, and keep or close the
 * connection after a refusal as the unread request body allows (RFC 9112 §9.6).
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { handshakePackage, tokenPackage } from './adapter-fakes.js';
import {
  echo,
  errorCode,
  onOneConnection,
  portOf,
  waitFor,
  withMounted,
  type AdapterDriver,
  type ContractAuthenticator,
  type Mounted,
} from './adapter-driver.js';
import { send, sendRawUntilClose } from './http-client.js';

export function connectionBoundContract(driver: AdapterDriver): void {
  describe('connection-bound handshake and request bodies', () => {
    let authenticator: ContractAuthenticator;
    let mounted: Mounted;
    let base: string;

    before(async () => {
      authenticator = driver.createAuthenticator({
        packages: [tokenPackage(), handshakePackage()],
      });
      mounted = await driver.mount(authenticator);
      base = mounted.base;
    });
    after(() => mounted.close());

    test('connection-bound handshake: continue then complete on the same socket', async () => {
      await onOneConnection(async (agent) => {
        const first = await send(`${base}/`, { agent, headers: { authorization: 'Hand one' } });
        assert.equal(first.status, 401);
        assert.deepEqual(first.headers.get('www-authenticate'), ['Hand two-please']);
        assert.equal(errorCode(first), 'ERR_HTTPAUTH_HANDSHAKE_CONTINUE');
        assert.equal(authenticator.pendingHandshakes, 1);
        const second = await send(`${base}/`, { agent, headers: { authorization: 'Hand two' } });
        assert.equal(second.localPort, first.localPort);
        assert.equal(second.status, 200);
        assert.equal(echo(second).name, 'HAND\\carol');
        assert.deepEqual(second.headers.get('www-authenticate'), ['Hand mutual']);
        assert.equal(authenticator.pendingHandshakes, 0);
      });
    });

    test('the second leg on another connection is refused', async () => {
      await onOneConnection(async (agentA) => {
        await onOneConnection(async (agentB) => {
          const headers = { authorization: 'Hand one' };
          const first = await send(`${base}/`, { agent: agentA, headers });
          assert.equal(first.status, 401);
          const other = await send(`${base}/`, {
            agent: agentB,
            headers: { authorization: 'Hand two' },
          });
          assert.notEqual(other.localPort, first.localPort);
          assert.equal(other.status, 401);
          assert.equal(errorCode(other), 'ERR_HTTPAUTH_HANDSHAKE_EXPIRED');
        });
      });
    });

    test('handshake state is dropped when the socket closes', async () => {
      await onOneConnection(async (agent) => {
        const first = await send(`${base}/`, { agent, headers: { authorization: 'Hand one' } });
        assert.equal(first.status, 401);
        assert.equal(authenticator.pendingHandshakes, 1);
      });
      await waitFor(() => authenticator.pendingHandshakes === 0);
    });

    test('a challenged request body is drained and keep-alive survives', async () => {
      await onOneConnection(async (agent) => {
        const body = 'x'.repeat(300_000);
        const headers = { 'content-type': 'text/plain' };
        const first = await send(`${base}/`, { agent, method: 'POST', body, headers });
        assert.equal(first.status, 401);
        assert.equal(first.headers.get('connection')?.[0]?.toLowerCase(), 'keep-alive');
        const second = await send(`${base}/`, {
          agent,
          method: 'POST',
          body,
          headers: { ...headers, authorization: 'Token good-alice' },
        });
        assert.equal(second.status, 200);
        assert.equal(second.localPort, first.localPort);
      });
    });

    test('a challenged request declaring a huge body gets Connection: close', async () => {
      const text = await sendRawUntilClose(
        portOf(base),
        'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n' +
          `Content-Length: ${64 * 1024 * 1024}\r\n\r\n${'x'.repeat(1000)}`,
      );
      assert.match(text, /^HTTP\/1\.1 401 /);
      assert.match(text, /\r\nconnection: close\r\n/i);
    });

    test('during a handshake a huge body is drained instead, keeping the connection', async () => {
      await onOneConnection(async (agent) => {
        const first = await send(`${base}/`, {
          agent,
          method: 'POST',
          body: Buffer.alloc(2 * 1024 * 1024, 0x61),
          headers: { authorization: 'Hand one', 'content-type': 'text/plain' },
        });
        assert.equal(first.status, 401);
        assert.notEqual(first.headers.get('connection')?.[0]?.toLowerCase(), 'close');
        const second = await send(`${base}/`, { agent, headers: { authorization: 'Hand two' } });
        assert.equal(second.localPort, first.localPort);
        assert.equal(second.status, 200);
      });
    });
  });

  describe('connection-bound options', () => {
    test('a chunked challenged body past maxDrainBytes closes the connection after the 401', async () => {
      const mounting = driver.mount(
        { packages: [tokenPackage()] },
        // Node's own keep-alive timer would close the idle connection after 5 s; take it out of
        // the picture so only the drain limit can close it.
        { adapter: { maxDrainBytes: 2000 }, keepAliveTimeout: 120_000 },
      );
      await withMounted(mounting, async (base) => {
        const chunk = 'q'.repeat(1000);
        // Five chunks and no terminating zero-size chunk: a client that keeps sending.
        const text = await sendRawUntilClose(
          portOf(base),
          'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n' +
            `${(1000).toString(16)}\r\n${chunk}\r\n`.repeat(5),
        );
        assert.match(text, /^HTTP\/1\.1 401 /);
      });
    });

    test('a connection authenticated by a persisted handshake stays authenticated', async () => {
      const mounting = driver.mount({ packages: [handshakePackage({ persist: true })] });
      await withMounted(mounting, async (base) => {
        await onOneConnection(async (agent) => {
          await send(`${base}/`, { agent, headers: { authorization: 'Hand one' } });
          const done = await send(`${base}/`, { agent, headers: { authorization: 'Hand two' } });
          assert.equal(done.status, 200);
          const later = await send(`${base}/next`, { agent });
          assert.equal(later.localPort, done.localPort);
          assert.equal(later.status, 200);
          assert.equal(echo(later).name, 'HAND\\carol');
          const fresh = await send(`${base}/next`);
          assert.notEqual(fresh.localPort, done.localPort);
          assert.equal(fresh.status, 401);
        });
      });
    });
  });
}
