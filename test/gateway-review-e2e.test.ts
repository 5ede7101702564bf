/**
 * The gateway against the second review's attacks (issue 12): an upgrade to another HTTP
 * (h2c, RFC 7540 §3.2; TLS, RFC 2817) opens a tunnel in which the client sends further requests
 * to any path, none of them judged by the rules; header names with characters other than
 * letters, digits and `-` that some CGI servers fold into an identity header's variable; path
 * letters outside ASCII whose case mapping is an ASCII letter (`ſ` is `S` upper-cased), which a
 * case-insensitive upstream routes to the ASCII path a rule protects.
 * A raw TCP upstream logs every request it receives and answers 101 to any upgrade, as an
 * h2c-capable server would.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createGateway } from '@httpauth/gateway';
import type { Gateway } from '@httpauth/gateway';
import { validateConfig } from '@httpauth/gateway';
import { rawExchange } from './harness/raw-http.js';

/** An upstream that logs each request head and switches protocols whenever asked to. */
async function startSwitchingUpstream(): Promise<{
  port: number;
  heads: string[];
  close(): Promise<void>;
}> {
  const heads: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffer = '';
    socket.on('data', (data: Buffer) => {
      buffer += data.toString('latin1');
      let end: number;
      while ((end = buffer.indexOf('\r\n\r\n')) !== -1) {
        const head = buffer.slice(0, end);
        buffer = buffer.slice(end + 4);
        heads.push(head);
        const upgrade = /\r\nupgrade: *([^\r]*)/i.exec(head)?.[1];
        socket.write(
          upgrade === undefined
            ? 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'
            : `HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${upgrade}\r\n\r\n`,
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    heads,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('gateway review (raw sockets)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'httpauth-gateway-review-'));
  let upstream: Awaited<ReturnType<typeof startSwitchingUpstream>>;
  let gateway: Gateway;
  let port: number;

  before(async () => {
    writeFileSync(join(dir, 'htpasswd'), '');
    execFileSync('htpasswd', ['-b', '-B', '-C', '5', join(dir, 'htpasswd'), 'alice', 'alicepw']);
    upstream = await startSwitchingUpstream();
    gateway = createGateway(
      validateConfig(
        {
          listen: { host: '127.0.0.1', port: 0 },
          upstream: { url: `http://127.0.0.1:${upstream.port}` },
          auth: { basic: { htpasswd: join(dir, 'htpasswd'), allowInsecure: true } },
          rules: [
            { prefix: '/public', public: true },
            { prefix: '/admin', users: ['bob'] },
            { prefix: '/secret', users: ['bob'] },
            { prefix: '/caf%C3%A9', users: ['bob'] },
          ],
          authRequest: { path: '/_auth' },
          log: { level: 'silent' },
        },
        {},
        dir,
      ),
    );
    ({ port } = await gateway.listen());
  });

  after(async () => {
    await gateway?.close();
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('upgrades to a protocol that carries further requests', () => {
    // After the 101 the tunnel is the client's: with h2c it sends HTTP/2 requests for /admin,
    // with TLS/1.0 (RFC 2817) HTTP/1.1 requests inside TLS, and the gateway judged none of them.
    const smuggled = 'GET /admin/x HTTP/1.1\r\nHost: u\r\nX-Remote-User: bob\r\n\r\n';
    for (const protocol of [
      'h2c',
      'H2C',
      'TLS/1.0',
      'HTTP/2.0',
      'websocket, h2c',
      'h2c, websocket',
    ]) {
      it(`Upgrade: ${protocol} on a public path is refused, never tunnelled`, async () => {
        const from = upstream.heads.length;
        const { statuses, text } = await rawExchange(
          port,
          `GET /public/a HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: ${protocol}\r\n` +
            `HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n${smuggled}`,
        );
        assert.deepEqual(statuses, [400]);
        assert.match(text, /ERR_HTTPAUTH_UPGRADE_UNSUPPORTED/);
        assert.deepEqual(upstream.heads.slice(from), [], 'the upstream saw the upgrade');
      });
    }

    it('a WebSocket upgrade on a public path still reaches the upstream', async () => {
      const from = upstream.heads.length;
      const { statuses } = await rawExchange(
        port,
        `GET /public/ws HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      assert.deepEqual(statuses, [101]);
      assert.equal(upstream.heads.length, from + 1);
      assert.match(upstream.heads[from]!, /^GET \/public\/ws HTTP\/1\.1\r\n/);
    });
  });

  describe('header names outside letters, digits and -', () => {
    // lighttpd (and other CGI hosts) turn every character other than a letter or digit into
    // `_`, so `X-Remote.User` becomes HTTP_X_REMOTE_USER, the gateway's own identity variable.
    const forged =
      'X-Remote.User: bob\r\nX.Remote.User: bob\r\nX-Remote~Groups: admins\r\n' +
      "X-Auth+Mechanism: Kerberos\r\nX-Forwarded'For: 10.6.6.6\r\nX!Custom!Trust: yes\r\n";

    for (const target of ['/public/h', '/public/ws']) {
      it(`never reach the upstream (${target === '/public/ws' ? 'upgrade' : 'request'})`, async () => {
        const from = upstream.heads.length;
        const upgrade =
          target === '/public/ws'
            ? 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n'
            : '';
        await rawExchange(port, `GET ${target} HTTP/1.1\r\nHost: gw\r\n${upgrade}${forged}\r\n`);
        const seen = upstream.heads.slice(from);
        assert.equal(seen.length, 1);
        for (const line of seen[0]!.split('\r\n').slice(1)) {
          const name = line.slice(0, line.indexOf(':'));
          assert.match(name, /^[A-Za-z0-9-]+$/, `${name} reached the upstream`);
        }
      });
    }
  });

  describe('path letters that case-fold to ASCII', () => {
    // Simple case mappings (UnicodeData.txt) of these four reach ASCII: ı→I, İ→i, ſ→S, K→k.
    // .NET's OrdinalIgnoreCase (ASP.NET Core routing), Java's equalsIgnoreCase and /iu regexes
    // use them, so for such an upstream /ſecret/x is /secret/x.
    const alice = `Authorization: Basic ${Buffer.from('alice:alicepw').toString('base64')}\r\n`;
    const spellings = [
      '/%C5%BFecret/x',
      '/%c5%bfecret/x',
      '/adm%C4%B1n/x',
      '/adm%C4%B0n/x',
      '/%E2%84%AAey/x',
    ];
    for (const target of spellings) {
      it(`${target} is refused, not forwarded without the rule's check`, async () => {
        const from = upstream.heads.length;
        const { statuses, text } = await rawExchange(
          port,
          `GET ${target} HTTP/1.1\r\nHost: gw\r\n${alice}\r\n`,
        );
        assert.deepEqual(statuses, [400]);
        assert.match(text, /ERR_HTTPAUTH_PATH_AMBIGUOUS/);
        assert.deepEqual(upstream.heads.slice(from), []);
      });
    }

    for (const target of ['/caf%C3%89/x', '/CAF%C3%89/x', '/Caf%C3%A9/x']) {
      it(`${target} is judged by the /café rule (letters outside ASCII fold too)`, async () => {
        // A case-insensitive upstream routes /CAFÉ/x to /café/x.
        const from = upstream.heads.length;
        const { statuses } = await rawExchange(
          port,
          `GET ${target} HTTP/1.1\r\nHost: gw\r\n${alice}\r\n`,
        );
        assert.deepEqual(statuses, [403]);
        assert.deepEqual(upstream.heads.slice(from), []);
      });
    }

    it('other letters outside ASCII still pass', async () => {
      const from = upstream.heads.length;
      const { statuses } = await rawExchange(
        port,
        `GET /na%C3%AFve/stra%C3%9Fe HTTP/1.1\r\nHost: gw\r\n${alice}\r\n`,
      );
      assert.deepEqual(statuses, [200]);
      assert.match(upstream.heads[from]!, /^GET \/na%C3%AFve\/stra%C3%9Fe HTTP\/1\.1\r\n/);
    });
  });

  it('auth_request without X-Original-URI is refused, not judged as the endpoint path', async () => {
    // nginx without `proxy_set_header X-Original-URI` would otherwise get 200 for /admin/x too.
    const alice = `Authorization: Basic ${Buffer.from('alice:alicepw').toString('base64')}\r\n`;
    const missing = await rawExchange(port, `GET /_auth HTTP/1.1\r\nHost: gw\r\n${alice}\r\n`);
    assert.deepEqual(missing.statuses, [400]);
    assert.match(missing.text, /ERR_HTTPAUTH_PATH_AMBIGUOUS/);
    assert.doesNotMatch(missing.text, /x-remote-user/i);
    const judged = await rawExchange(
      port,
      `GET /_auth HTTP/1.1\r\nHost: gw\r\nX-Original-URI: /admin/x\r\n${alice}\r\n`,
    );
    assert.deepEqual(judged.statuses, [403]);
    const allowed = await rawExchange(
      port,
      `GET /_auth HTTP/1.1\r\nHost: gw\r\nX-Original-URI: /private/x\r\n${alice}\r\n`,
    );
    assert.deepEqual(allowed.statuses, [200]);
    assert.match(allowed.text, /x-remote-user: alice/i);
  });
});
