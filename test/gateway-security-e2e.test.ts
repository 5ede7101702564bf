/**
 * The gateway against hand-written attacks (issue 12): request smuggling through body framing,
 * path-rule bypasses through non-canonical targets, and identity headers spelled with `_`.
 * A raw-socket client sends exact bytes; a raw TCP upstream parses every request it receives, so
 * a smuggled request shows up in its log the way a real server would have run it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createGateway } from '@httpauth/gateway';
import type { Gateway } from '@httpauth/gateway';
import { validateConfig } from '@httpauth/gateway';
import { chunked, rawExchange, startRawUpstream } from './harness/raw-http.js';
import type { ParsedRequest, RawUpstream } from './harness/raw-http.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'httpauth-gateway-sec-'));
const alice = `Authorization: Basic ${Buffer.from('alice:alicepw').toString('base64')}\r\n`;
const bob = `Authorization: Basic ${Buffer.from('bob:bobpw').toString('base64')}\r\n`;

/** A request the attacker wants the upstream to run as someone else. */
const SMUGGLED =
  'GET /admin/smuggled HTTP/1.1\r\nHost: upstream\r\nX-Remote-User: bob\r\nContent-Length: 0\r\n\r\n';

describe('gateway security (raw sockets)', () => {
  let upstream: RawUpstream;
  let gateway: Gateway;
  let port: number;

  before(async () => {
    writeFileSync(join(dir, 'htpasswd'), '');
    for (const [user, password] of [
      ['alice', 'alicepw'],
      ['bob', 'bobpw'],
    ] as const)
      await run('htpasswd', ['-b', '-B', '-C', '5', join(dir, 'htpasswd'), user, password]);
    upstream = await startRawUpstream();
    gateway = createGateway(
      validateConfig(
        {
          listen: { host: '127.0.0.1', port: 0 },
          // One pooled upstream socket: every request follows the previous one on it.
          upstream: { url: `http://127.0.0.1:${upstream.port}`, maxSockets: 1 },
          auth: { basic: { htpasswd: join(dir, 'htpasswd'), allowInsecure: true } },
          rules: [
            { prefix: '/public', public: true },
            { prefix: '/admin', users: ['bob'] },
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

  /** Requests the upstream ran since `from`, and a check that none of them was forged. */
  function since(from: number): ParsedRequest[] {
    const seen = upstream.requests.slice(from);
    for (const request of seen) {
      assert.ok(
        !request.target.toLowerCase().includes('admin') ||
          upstream.header(request, 'x-remote-user') === 'bob',
        `the upstream ran ${request.method} ${request.target} as ${upstream.header(request, 'x-remote-user')}`,
      );
      assert.ok(
        !/x-remote-user/i.test(request.body) || request.body.includes('/admin/smuggled'),
        'another request was captured as a body',
      );
    }
    assert.deepEqual(upstream.garbage, [], 'the upstream saw bytes it could not parse');
    return seen;
  }

  describe('request smuggling through body framing', () => {
    for (const method of ['GET', 'HEAD', 'DELETE', 'OPTIONS', 'POST']) {
      it(`a chunked ${method} body reaches the upstream framed, never as a request`, async () => {
        const from = upstream.requests.length;
        const { statuses } = await rawExchange(
          port,
          `${method} /public/a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(SMUGGLED)}`,
        );
        assert.deepEqual(statuses, [200]);
        const seen = since(from);
        assert.equal(seen.length, 1);
        assert.equal(seen[0]?.method, method);
        assert.equal(seen[0]?.body, SMUGGLED, 'the body arrives whole, as a body');
      });
    }

    it('a Content-Length body on GET stays a body, even if Connection lists content-length', async () => {
      const from = upstream.requests.length;
      for (const connection of ['keep-alive', 'content-length']) {
        const { statuses } = await rawExchange(
          port,
          `GET /public/a HTTP/1.1\r\nHost: gw\r\nConnection: ${connection}\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
        );
        assert.deepEqual(statuses, [200]);
      }
      const seen = since(from);
      assert.equal(seen.length, 2);
      for (const request of seen) assert.equal(request.body, SMUGGLED);
    });

    it('refuses Content-Length with Transfer-Encoding, and transfer codings other than chunked', async () => {
      const from = upstream.requests.length;
      const both = await rawExchange(
        port,
        `POST /public/a HTTP/1.1\r\nHost: gw\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(SMUGGLED)}`,
      );
      assert.equal(both.statuses[0], 400);
      assert.match(both.text, /ERR_HTTPAUTH_BODY_FRAMING/);
      const gzip = await rawExchange(
        port,
        `POST /public/a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: gzip, chunked\r\n\r\n${chunked(SMUGGLED)}`,
      );
      assert.equal(gzip.statuses[0], 400);
      assert.match(gzip.text, /ERR_HTTPAUTH_BODY_FRAMING/);
      const badChunk = await rawExchange(
        port,
        `POST /public/a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`,
      );
      assert.equal(badChunk.statuses[0], 400);
      assert.equal(since(from).length, 0);
    });

    it('pipelined requests map one to one onto upstream requests', async () => {
      const from = upstream.requests.length;
      const { statuses } = await rawExchange(
        port,
        `GET /public/p1 HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(SMUGGLED)}` +
          `DELETE /public/p2 HTTP/1.1\r\nHost: gw\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}` +
          `GET /public/p3 HTTP/1.1\r\nHost: gw\r\n\r\n`,
        { expectResponses: 3 },
      );
      assert.deepEqual(statuses, [200, 200, 200]);
      const seen = since(from);
      assert.deepEqual(
        seen.map((r) => r.target),
        ['/public/p1', '/public/p2', '/public/p3'],
      );
    });

    it("never captures the next user's request as a body", async () => {
      const from = upstream.requests.length;
      // A request that would swallow what follows it on the upstream socket.
      const capture =
        'POST /public/capture HTTP/1.1\r\nHost: upstream\r\nContent-Length: 400\r\n\r\n';
      await rawExchange(
        port,
        `GET /public/a HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(capture)}`,
      );
      const victim = await rawExchange(
        port,
        `GET /private/mail HTTP/1.1\r\nHost: gw\r\n${alice}\r\n`,
        {
          idleMs: 1500,
        },
      );
      assert.deepEqual(victim.statuses, [200], "the victim's request ran as its own");
      const seen = since(from);
      assert.deepEqual(
        seen.map((r) => r.target),
        ['/public/a', '/private/mail'],
      );
      assert.ok(!seen.some((r) => /x-remote-user/i.test(r.body)));
      assert.equal(upstream.header(seen[1]!, 'x-remote-user'), 'alice');
    });

    it('never reuses an upstream socket whose answer came before the whole body', async () => {
      const from = upstream.requests.length;
      const socket = connect(port, '127.0.0.1');
      let received = '';
      socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(
        'POST /public/early HTTP/1.1\r\nHost: gw\r\nContent-Length: 20\r\n\r\n0123456789',
      );
      for (let i = 0; i < 100 && !received.includes('\r\n\r\n'); i++)
        await new Promise((resolve) => setTimeout(resolve, 20));
      assert.match(
        received,
        /^HTTP\/1\.1 200/,
        'the upstream answered before the body was complete',
      );
      socket.end('abcdefghij');
      await new Promise((resolve) => setTimeout(resolve, 200));
      socket.destroy();
      const next = await rawExchange(port, `GET /public/after-early HTTP/1.1\r\nHost: gw\r\n\r\n`);
      assert.deepEqual(next.statuses, [200]);
      const seen = since(from);
      const early = upstream.early.at(-1);
      assert.equal(early?.target, '/public/early');
      const after = seen.find((r) => r.target === '/public/after-early');
      assert.ok(after !== undefined);
      assert.notEqual(
        after.connection,
        early?.connection,
        'the next request went over a fresh upstream connection',
      );
      // Whatever reached the upstream of the early request arrived as its body, never as a request.
      assert.ok(
        seen.every((r) => r.target !== '/public/early' || r.body === '0123456789abcdefghij'),
      );
    });

    it('closes the upstream socket when a client body ends early', async () => {
      const from = upstream.requests.length;
      await rawExchange(
        port,
        `POST /public/cut HTTP/1.1\r\nHost: gw\r\nContent-Length: 100\r\n\r\n` + 'x'.repeat(10),
        { endAfterWrite: true, idleMs: 200 },
      );
      const next = await rawExchange(port, `GET /public/after HTTP/1.1\r\nHost: gw\r\n\r\n`);
      assert.deepEqual(next.statuses, [200]);
      const seen = since(from);
      assert.deepEqual(
        seen.map((r) => r.target),
        ['/public/after'],
        'the truncated request never completed upstream',
      );
    });
  });

  describe('path rules on canonical paths', () => {
    const bypasses = [
      '/ADMIN/x',
      '/Admin/x',
      'http://gw/admin/x',
      '//admin/x',
      '/./admin/x',
      '/public/../admin/x',
      '/public/%2e%2e/admin/x',
      '/public/%2E%2E/admin/x',
      '/public/.%2e/admin/x',
      '/%61dmin/x',
      '/%41DMIN/x',
      '/admin%2fx',
      '/public%2f..%2fadmin/x',
      '/public/..%2fadmin/x',
      '/public/..%5cadmin/x',
      '/admin;x=1/x',
      '/public/..;/admin/x',
      '/public;/../admin/x',
      '/public/%00/../../admin/x',
      '/admin./x',
      '/admin%20/x',
      '/public/%c0%ae%c0%ae/admin/x',
    ];
    for (const target of bypasses) {
      it(`${target}: not forwarded without the admin rule's check`, async () => {
        const from = upstream.requests.length;
        const anonymous = await rawExchange(port, `GET ${target} HTTP/1.1\r\nHost: gw\r\n\r\n`);
        assert.ok([400, 401].includes(anonymous.statuses[0] ?? 0), anonymous.text);
        const authenticated = await rawExchange(
          port,
          `GET ${target} HTTP/1.1\r\nHost: gw\r\n${alice}\r\n`,
        );
        assert.ok([400, 403].includes(authenticated.statuses[0] ?? 0), authenticated.text);
        if (authenticated.statuses[0] === 400)
          assert.match(authenticated.text, /ERR_HTTPAUTH_PATH_AMBIGUOUS/);
        assert.equal(since(from).length, 0);
      });
    }

    it('forwards the canonical target, the one the rules judged', async () => {
      const from = upstream.requests.length;
      const cases: [string, string][] = [
        ['/public/./a/../b%7e?q=%2e%2e/x', '/public/b~?q=%2e%2e/x'],
        ['http://gw/public//x', '/public/x'],
        ['/%70ublic/%c3%a9', '/public/%C3%A9'],
      ];
      for (const [sent] of cases) {
        const { statuses } = await rawExchange(port, `GET ${sent} HTTP/1.1\r\nHost: gw\r\n\r\n`);
        assert.deepEqual(statuses, [200], sent);
      }
      assert.deepEqual(
        since(from).map((r) => r.target),
        cases.map(([, expected]) => expected),
      );
      const ok = await rawExchange(port, `GET /ADMIN/x HTTP/1.1\r\nHost: gw\r\n${bob}\r\n`);
      assert.deepEqual(ok.statuses, [200], 'bob may use /ADMIN/x: the rule matched');
    });

    it('a public prefix does not widen by case: /Public/x needs authentication', async () => {
      const from = upstream.requests.length;
      const { statuses } = await rawExchange(port, `GET /Public/x HTTP/1.1\r\nHost: gw\r\n\r\n`);
      assert.deepEqual(statuses, [401]);
      assert.equal(since(from).length, 0);
    });

    it('auth_request judges the canonical X-Original-URI', async () => {
      for (const [uri, status] of [
        ['/public/../admin/x', 403],
        ['/ADMIN/x', 403],
        ['/admin%2fx', 400],
        ['/private/x', 200],
      ] as const) {
        const { statuses } = await rawExchange(
          port,
          `GET /_auth HTTP/1.1\r\nHost: gw\r\nX-Original-URI: ${uri}\r\n${alice}\r\n`,
        );
        assert.deepEqual(statuses, [status], uri);
      }
    });

    it('WebSocket upgrades are judged on the canonical path', async () => {
      const from = upstream.requests.length;
      const upgrade = (target: string, auth = '') =>
        rawExchange(
          port,
          `GET ${target} HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${auth}\r\n`,
        );
      assert.equal((await upgrade('/public/../admin/x')).statuses[0], 401);
      assert.equal((await upgrade('/public/%2e%2e/admin/x')).statuses[0], 400);
      assert.equal((await upgrade('/Admin/x', alice)).statuses[0], 403);
      // An upgrade request declaring a body: its bytes would reach the tunnel unframed.
      const withBody = await rawExchange(
        port,
        `GET /public/ws HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Content-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
      );
      assert.equal(withBody.statuses[0], 400);
      assert.match(withBody.text, /ERR_HTTPAUTH_BODY_FRAMING/);
      assert.equal(since(from).length, 0);
    });

    it('a refused upgrade gets the same challenge response as a refused request', async () => {
      const from = upstream.requests.length;
      const ws =
        'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';
      /** Status, challenge lines and body: what core's challenge response decides. */
      const shape = (text: string) => {
        const [head = '', body = ''] = text.split('\r\n\r\n');
        return {
          status: /^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1],
          challenges: head
            .split('\r\n')
            .filter((line) => /^www-authenticate:/i.test(line))
            .map((line) => line.replace(/^[^:]*:\s*/, '')),
          contentType: /\r\ncontent-type: *([^\r]*)/i.exec(head)?.[1],
          body,
        };
      };
      for (const credentials of [
        '',
        'Authorization: Basic Ym9iOndyb25n\r\n',
        'Authorization: Basic !!\r\n',
      ]) {
        const plain = await rawExchange(
          port,
          `GET /admin/x HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n${credentials}\r\n`,
        );
        const upgrade = await rawExchange(
          port,
          `GET /admin/x HTTP/1.1\r\nHost: gw\r\n${ws}${credentials}\r\n`,
        );
        const expected = shape(plain.text);
        assert.notEqual(expected.status, '200', credentials);
        assert.deepEqual(shape(upgrade.text), expected, credentials);
        assert.match(upgrade.text, /\r\nconnection: close\r\n/i);
      }
      assert.equal(since(from).length, 0);
    });
  });

  describe('identity headers spelled with underscores', () => {
    const forged =
      'X_Remote_User: bob\r\nX_Remote_Groups: admins\r\nX-Remote_User: bob\r\n' +
      'X_Auth_Mechanism: Kerberos\r\nX_Forwarded_For: 10.6.6.6\r\nX_HttpAuth_Signature: t=1, v1=x\r\n' +
      'X-Forwarded_Proto: https\r\nX_Custom_Trust: yes\r\n' +
      'X-Original-URL: /admin/x\r\nX-Rewrite-URL: /admin/x\r\n';

    function noUnderscores(request: ParsedRequest): void {
      for (const [name] of request.headers)
        assert.ok(!name.includes('_'), `${name} reached the upstream`);
    }

    it('never reach the upstream, on public and authenticated paths', async () => {
      const from = upstream.requests.length;
      await rawExchange(port, `GET /public/h HTTP/1.1\r\nHost: gw\r\n${forged}\r\n`);
      await rawExchange(port, `GET /private/h HTTP/1.1\r\nHost: gw\r\n${alice}${forged}\r\n`);
      const seen = since(from);
      assert.equal(seen.length, 2);
      for (const request of seen) {
        noUnderscores(request);
        // URL overrides (IIS URL Rewrite, Symfony) would route around the rule.
        assert.equal(upstream.header(request, 'x-original-url'), undefined);
        assert.equal(upstream.header(request, 'x-rewrite-url'), undefined);
      }
      assert.equal(upstream.header(seen[1]!, 'x-remote-user'), 'alice');
      assert.equal(upstream.header(seen[1]!, 'x-forwarded-for'), '127.0.0.1');
    });

    it('never reach the upstream on an upgrade', async () => {
      const from = upstream.requests.length;
      await rawExchange(
        port,
        `GET /public/ws HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${forged}\r\n`,
      );
      const seen = since(from);
      assert.equal(seen.length, 1);
      noUnderscores(seen[0]!);
    });

    it('are not echoed by the auth_request endpoint', async () => {
      const { text, statuses } = await rawExchange(
        port,
        `GET /_auth HTTP/1.1\r\nHost: gw\r\nX-Original-URI: /private/x\r\n${alice}${forged}\r\n`,
      );
      assert.deepEqual(statuses, [200]);
      assert.match(text, /x-remote-user: alice/i);
      assert.doesNotMatch(text, /\r\n[^:\r\n]*_[^:\r\n]*:/);
    });
  });

  it('labels metrics only with configured schemes', async () => {
    for (const scheme of ['Evil1', 'Evil2', 'Negotiate'])
      await rawExchange(
        port,
        `GET /private/m HTTP/1.1\r\nHost: gw\r\nAuthorization: ${scheme} abc\r\n\r\n`,
      );
    const { text } = await rawExchange(port, `GET /_httpauth/metrics HTTP/1.1\r\nHost: gw\r\n\r\n`);
    assert.doesNotMatch(text, /evil/i);
    assert.doesNotMatch(text, /mechanism="negotiate"/, 'negotiate is not configured here');
    assert.match(text, /httpauth_gateway_auth_total\{outcome="[a-z]+",mechanism="other",/);
  });
});
