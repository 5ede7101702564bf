/**
 * trustedProxies end to end: a gateway on loopback (IPv4 and IPv6) behind a "front proxy" that
 * is the test itself. Spoofed X-Forwarded-For/-Proto/-Host and Forwarded from a peer outside
 * trustedProxies change nothing (Basic stays refused over plain HTTP, the upstream sees the
 * socket); from a listed peer (address or CIDR) they are believed up to the last untrusted hop,
 * and what the client wrote before that hop never reaches the upstream.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { validateConfig } from '@httpauth/gateway';
import { createGateway } from '@httpauth/gateway';
import type { Gateway } from '@httpauth/gateway';

const dir = mkdtempSync(join(tmpdir(), 'httpauth-gateway-proxies-'));
const BASIC = `Basic ${Buffer.from('carol:carolpw').toString('base64')}`;
let upstream: Server;
const gateways: Gateway[] = [];

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: { headers?: Record<string, string>; error?: string };
}

function send(host: string, port: number, headers: Record<string, string>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/app', agent: false, headers }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: text === '' ? {} : (JSON.parse(text) as Reply['body']),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

async function gatewayOn(host: string, trustedProxies: string[]): Promise<number> {
  const gateway = createGateway(
    validateConfig(
      {
        listen: { host, port: 0 },
        upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
        auth: { realm: 'proxies', basic: { htpasswd: join(dir, 'htpasswd') } },
        sessions: { keys: [{ id: 'k', secretFile: join(dir, 'session.key') }] },
        trustedProxies,
        log: { level: 'silent' },
      },
      {},
      dir,
    ),
  );
  gateways.push(gateway);
  return (await gateway.listen()).port;
}

before(async () => {
  execFileSync('htpasswd', [
    '-c',
    '-b',
    '-B',
    '-C',
    '5',
    join(dir, 'htpasswd'),
    'carol',
    'carolpw',
  ]);
  writeFileSync(join(dir, 'session.key'), Buffer.alloc(32, 7));
  upstream = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ headers: req.headers }));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  await Promise.all(gateways.map((gateway) => gateway.close()));
  upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

const spoofed = {
  authorization: BASIC,
  'x-forwarded-for': '6.6.6.6',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'evil.example',
  forwarded: 'for=6.6.6.6;proto=https;host=evil.example',
};

describe('trustedProxies', () => {
  it('an untrusted peer claiming https gets no Basic over plain HTTP, and its claims are dropped', async () => {
    // Loopback is not in 10.0.0.0/8 or fd00::/8: the test is an untrusted client here.
    for (const host of ['127.0.0.1', '::1']) {
      const port = await gatewayOn(host, ['10.0.0.0/8', 'fd00::/8']);
      const refused = await send(host, port, spoofed);
      assert.equal(refused.status, 401, host);
      assert.equal(refused.body.error, 'ERR_HTTPAUTH_INSECURE_TRANSPORT');
    }
  });

  it('a trusted peer (IPv4 address, IPv6 CIDR): its https and client hop are believed', async () => {
    for (const [host, trusted] of [
      ['127.0.0.1', ['127.0.0.1']],
      ['::1', ['::/64']],
    ] as const) {
      const port = await gatewayOn(host, [...trusted]);
      const peer = host === '::1' ? '::1' : '127.0.0.1';
      const reply = await send(host, port, {
        authorization: BASIC,
        // The client wrote 6.6.6.6 itself; the front proxy appended the address it saw.
        'x-forwarded-for': '6.6.6.6, 198.51.100.7',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'app.example',
      });
      assert.equal(reply.status, 200, host);
      const seen = reply.body.headers ?? {};
      assert.equal(seen['x-forwarded-for'], `198.51.100.7, ${peer}`);
      assert.equal(seen['x-forwarded-proto'], 'https');
      assert.equal(seen['x-forwarded-host'], 'app.example');
      assert.equal(seen['forwarded'], 'for=198.51.100.7;proto=https;host="app.example"');
      assert.doesNotMatch(JSON.stringify(seen), /6\.6\.6\.6/);
      // https as the trusted proxy reported it: the session cookie is Secure with __Host-.
      assert.match(String(reply.headers['set-cookie']), /^__Host-httpauth_session=.*; Secure/);
    }
  });

  it('Forwarded from a trusted peer: the last hop not in the set, not the first', async () => {
    const port = await gatewayOn('127.0.0.1', ['127.0.0.1', '192.0.2.0/24']);
    const reply = await send('127.0.0.1', port, {
      authorization: BASIC,
      forwarded:
        'for=6.6.6.6;proto=https, for="[2001:db8::7]:5555";proto=https, for=192.0.2.9;proto=https',
    });
    assert.equal(reply.status, 200);
    assert.equal(reply.body.headers?.['x-forwarded-for'], '2001:db8::7, 192.0.2.9, 127.0.0.1');
    assert.match(reply.body.headers?.['forwarded'] ?? '', /^for="\[2001:db8::7\]";proto=https/);
  });
});
