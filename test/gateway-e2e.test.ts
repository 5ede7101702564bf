/**
 * The gateway end to end on loopback: real clients (curl) through @httpauth/gateway to an echo
 * upstream that reports the headers it received.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { WebSocket, WebSocketServer } from 'ws';
import { digestFileLine } from '@httpauth/core';
import { ntowfv1 } from '@httpauth/core/wire';
import { createGateway } from '@httpauth/gateway';
import type { Gateway } from '@httpauth/gateway';
import { validateConfig } from '@httpauth/gateway';
import { verifyIdentitySignature } from '@httpauth/gateway';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'httpauth-gateway-e2e-'));
const REALM = 'gateway-test';
const signatureSecret = Buffer.alloc(32, 0x5a);

function writeFiles(): void {
  writeFileSync(
    join(dir, 'users.digest'),
    [digestFileLine('alice', REALM, 'alicepw'), digestFileLine('bob', REALM, 'bobpw')].join('\n') +
      '\n',
  );
  const smb = (user: string, uid: number, password: string) =>
    `${user}:${uid}:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:${ntowfv1(password).toString('hex').toUpperCase()}:[U          ]:LCT-00000000:`;
  writeFileSync(
    join(dir, 'smbpasswd'),
    [smb('alice', 1001, 'alicepw'), smb('bob', 1002, 'bobpw')].join('\n') + '\n',
  );
  writeFileSync(join(dir, 'signature.key'), signatureSecret);
  writeFileSync(join(dir, 'session1.key'), Buffer.alloc(32, 1));
  writeFileSync(join(dir, 'session2.key'), Buffer.alloc(32, 2));
}

interface Upstream {
  server: Server;
  port: number;
  wss: WebSocketServer;
}

/** Echo upstream: JSON of method, url and headers; /upload counts bytes; /download streams N bytes. */
async function startUpstream(): Promise<Upstream> {
  const server = createServer((req, res) => {
    if (req.url?.endsWith('/upload') === true) {
      let size = 0;
      req.on('data', (chunk: Buffer) => (size += chunk.length));
      req.on('end', () => res.end(JSON.stringify({ size }) + '\n'));
      return;
    }
    const download = /\/download\/(\d+)$/.exec(req.url ?? '');
    if (download !== null) {
      let left = Number(download[1]);
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const pump = (): void => {
        while (left > 0) {
          const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
          left -= piece.length;
          if (!res.write(piece)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.setHeader('set-cookie', 'app=1');
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }) + '\n');
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket, req) => {
    socket.send(JSON.stringify({ user: req.headers['x-remote-user'] ?? null }));
    socket.on('message', (data) => socket.send(`echo:${String(data)}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, wss };
}

function gatewayConfig(upstreamPort: number, extra: Record<string, unknown> = {}) {
  return validateConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      upstream: `http://127.0.0.1:${upstreamPort}`,
      auth: {
        realm: REALM,
        mechanisms: ['digest', 'ntlm', 'basic'],
        digest: { file: join(dir, 'users.digest') },
        ntlm: { smbpasswd: join(dir, 'smbpasswd'), domain: 'EXAMPLE' },
        basic: { htpasswd: join(dir, 'htpasswd'), allowInsecure: true },
      },
      identity: { signature: { secretFile: join(dir, 'signature.key') } },
      rules: [
        { prefix: '/public', public: true },
        { prefix: '/bob-only', users: ['bob'] },
      ],
      log: { level: 'silent' },
      ...extra,
    },
    {},
    dir,
  );
}

async function curl(args: string[]): Promise<{ status: number; body: string; headers: string }> {
  const { stdout } = await run('curl', ['-sS', '-D', '-', '--max-time', '20', ...args], {
    maxBuffer: 16 * 1024 * 1024,
  });
  // -D - prints every response's headers; the last block is the final response.
  const blocks = stdout.split(/\r\n\r\n/);
  let headers = '';
  let body = '';
  for (let i = 0; i < blocks.length; i++) {
    if (/^HTTP\/1\.1 \d{3}/.test(blocks[i] ?? '')) {
      headers = blocks[i] ?? '';
      body = blocks.slice(i + 1).join('\r\n\r\n');
    }
  }
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1] ?? 0);
  return { status, body, headers };
}

function echoOf(body: string): { method: string; url: string; headers: Record<string, string> } {
  return JSON.parse(body.trim().split('\n').pop() ?? '{}');
}

describe('gateway end to end', () => {
  let upstream: Upstream;
  let gateway: Gateway;
  let base: string;

  before(async () => {
    writeFiles();
    writeFileSync(join(dir, 'htpasswd'), '');
    await run('htpasswd', ['-b', '-B', '-C', '5', join(dir, 'htpasswd'), 'carol', 'carolpw']);
    upstream = await startUpstream();
    gateway = createGateway(gatewayConfig(upstream.port));
    const { port } = await gateway.listen();
    base = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    await gateway?.close();
    upstream?.wss.close();
    upstream?.server.closeAllConnections();
    await new Promise((resolve) => upstream?.server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('challenges with every configured mechanism in order', async () => {
    const { status, headers } = await curl([`${base}/x`]);
    assert.equal(status, 401);
    const challenges = headers.split('\r\n').filter((l) => /^www-authenticate:/i.test(l));
    assert.match(challenges[0] ?? '', /Digest .*algorithm=SHA-256/);
    assert.ok(challenges.some((c) => /: NTLM$/.test(c)));
    assert.ok(challenges.some((c) => /: Basic /.test(c)));
  });

  it('forwards curl --digest with identity headers, spoofed copies removed, signature valid', async () => {
    const { status, body } = await curl([
      '--digest',
      '-u',
      'alice:alicepw',
      '-H',
      'X-Remote-User: mallory',
      '-H',
      'x-remote-groups: admins',
      '-H',
      'X-Auth-Mechanism: forged',
      '-H',
      'X-Forwarded-For: 10.9.9.9',
      `${base}/hello?q=1`,
    ]);
    assert.equal(status, 200, body);
    const echo = echoOf(body);
    assert.equal(echo.url, '/hello?q=1');
    assert.equal(echo.headers['x-remote-user'], 'alice');
    assert.equal(echo.headers['x-auth-mechanism'], 'Digest');
    assert.equal(echo.headers['x-remote-groups'], '');
    assert.equal(
      echo.headers['authorization'],
      undefined,
      'credentials must not reach the upstream',
    );
    assert.equal(echo.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(echo.headers['x-forwarded-proto'], 'http');
    assert.match(
      echo.headers['forwarded'] ?? '',
      /^for=127\.0\.0\.1;proto=http;host="127\.0\.0\.1:\d+"$/,
    );
    const identity = verifyIdentitySignature('GET', '/hello?q=1', echo.headers, signatureSecret);
    assert.deepEqual(identity, { user: 'alice', groups: [], mechanism: 'Digest' });
  });

  it('forwards curl --ntlm and curl -u (Basic) with the right identity', async () => {
    const ntlm = await curl(['--ntlm', '-u', 'bob:bobpw', `${base}/n`]);
    assert.equal(ntlm.status, 200, ntlm.body);
    assert.equal(echoOf(ntlm.body).headers['x-remote-user'], 'EXAMPLE\\bob');
    assert.equal(echoOf(ntlm.body).headers['x-auth-mechanism'], 'NTLM');
    const basicAuth = await curl(['--basic', '-u', 'carol:carolpw', `${base}/b`]);
    assert.equal(basicAuth.status, 200, basicAuth.body);
    assert.equal(echoOf(basicAuth.body).headers['x-remote-user'], 'carol');
  });

  it('never mixes NTLM users: two users interleaving on many keep-alive connections', async () => {
    const perConnection = 6;
    const clients = Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? 'alice' : 'bob'));
    const results = await Promise.all(
      clients.map(async (user, i) => {
        const urls = Array.from({ length: perConnection }, (_, n) => `${base}/mix/${i}/${n}`);
        // One curl process per client: it keeps one connection alive across its URLs.
        const { stdout } = await run(
          'curl',
          ['-sS', '--ntlm', '-u', `${user}:${user}pw`, ...urls],
          {
            maxBuffer: 4 * 1024 * 1024,
          },
        );
        return {
          user,
          echoes: stdout
            .trim()
            .split('\n')
            .map((line) => JSON.parse(line)),
        };
      }),
    );
    for (const { user, echoes } of results) {
      assert.equal(echoes.length, perConnection);
      for (const echo of echoes) assert.equal(echo.headers['x-remote-user'], `EXAMPLE\\${user}`);
    }
  });

  it('applies per-path rules: public paths skip authentication, others may require a user', async () => {
    const open = await curl([`${base}/public/page`]);
    assert.equal(open.status, 200);
    assert.equal(echoOf(open.body).headers['x-remote-user'], undefined);
    const denied = await curl(['--digest', '-u', 'alice:alicepw', `${base}/bob-only/x`]);
    assert.equal(denied.status, 403);
    assert.equal(JSON.parse(denied.body).error, 'ERR_HTTPAUTH_FORBIDDEN');
    const allowed = await curl(['--digest', '-u', 'bob:bobpw', `${base}/bob-only/x`]);
    assert.equal(allowed.status, 200);
  });

  it('streams large uploads and downloads without buffering them', async () => {
    const size = 128 * 1024 * 1024;
    const before = process.memoryUsage().rss;
    const chunk = Buffer.alloc(256 * 1024, 0x62);
    // Through a public path, so the test measures streaming only.
    const upload = await new Promise<string>((resolve, reject) => {
      const req = request(`${base}/public/upload`, {
        method: 'POST',
        headers: { 'content-length': size },
      });
      req.on('response', (res: IncomingMessage) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      let left = size;
      const pump = (): void => {
        while (left > 0) {
          left -= chunk.length;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
    assert.deepEqual(JSON.parse(upload), { size });
    const downloaded = await new Promise<number>((resolve, reject) => {
      request(`${base}/public/download/${size}`, (res) => {
        let total = 0;
        res.on('data', (d: Buffer) => (total += d.length));
        res.on('end', () => resolve(total));
      })
        .on('error', reject)
        .end();
    });
    assert.equal(downloaded, size);
    const growth = process.memoryUsage().rss - before;
    assert.ok(growth < 96 * 1024 * 1024, `RSS grew by ${Math.round(growth / 1048576)} MiB`);
  });

  it('answers 502 with a stable code when the upstream is down', async () => {
    const dead = createGateway(gatewayConfig(1));
    const { port } = await dead.listen();
    try {
      const result = await curl(['--digest', '-u', 'alice:alicepw', `http://127.0.0.1:${port}/x`]);
      assert.equal(result.status, 502);
      assert.equal(JSON.parse(result.body).error, 'ERR_HTTPAUTH_UPSTREAM_UNAVAILABLE');
      const metrics = await curl([`http://127.0.0.1:${port}/_httpauth/metrics`]);
      assert.match(metrics.body, /httpauth_gateway_upstream_errors_total\{kind="ECONNREFUSED"\} 1/);
    } finally {
      await dead.close();
    }
  });

  it('authenticates WebSocket upgrades before splicing them to the upstream', async () => {
    const wsUrl = base.replace('http:', 'ws:') + '/socket';
    const refused = await new Promise<number>((resolve) => {
      const socket = new WebSocket(wsUrl);
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.on('error', () => resolve(-1));
    });
    assert.equal(refused, 401);
    const basicToken = Buffer.from('carol:carolpw').toString('base64');
    const messages = await new Promise<string[]>((resolve, reject) => {
      const socket = new WebSocket(wsUrl, { headers: { authorization: `Basic ${basicToken}` } });
      const got: string[] = [];
      socket.on('message', (data) => {
        got.push(String(data));
        if (got.length === 1) socket.send('ping');
        if (got.length === 2) {
          socket.close();
          resolve(got);
        }
      });
      socket.on('error', reject);
    });
    assert.deepEqual(JSON.parse(messages[0] ?? '{}'), { user: 'carol' });
    assert.equal(messages[1], 'echo:ping');
  });

  it('serves health and Prometheus metrics', async () => {
    const health = await curl([`${base}/_httpauth/health`]);
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body), { status: 'ok' });
    const metrics = await curl([`${base}/_httpauth/metrics`]);
    assert.match(
      metrics.body,
      /httpauth_gateway_auth_total\{outcome="success",mechanism="Digest",reason="ok"\} \d+/,
    );
    assert.match(
      metrics.body,
      /httpauth_gateway_auth_total\{outcome="challenge",mechanism="none",reason="ERR_HTTPAUTH_CREDENTIALS_REQUIRED"\} \d+/,
    );
    assert.match(metrics.body, /httpauth_gateway_request_duration_seconds_count \d+/);
    assert.match(metrics.body, /httpauth_gateway_pending_handshakes 0/);
  });

  it('sessions: the cookie skips the handshake, tampering fails, rotated keys still open', async () => {
    const sessionGateway = (keys: string[]) =>
      createGateway(
        gatewayConfig(upstream.port, {
          sessions: { keys: keys.map((id) => ({ id, secretFile: join(dir, `${id}.key`) })) },
        }),
      );
    const first = sessionGateway(['session1']);
    const { port } = await first.listen();
    let cookie = '';
    try {
      const login = await curl(['--digest', '-u', 'alice:alicepw', `http://127.0.0.1:${port}/s`]);
      assert.equal(login.status, 200);
      const setCookies = login.headers.split('\r\n').filter((l) => /^set-cookie:/i.test(l));
      assert.ok(
        setCookies.some((l) => /app=1/.test(l)),
        'the upstream cookie is kept',
      );
      cookie =
        (setCookies.find((l) => /httpauth_session=/.test(l)) ?? '')
          .replace(/^set-cookie:\s*/i, '')
          .split(';')[0] ?? '';
      assert.match(cookie, /^httpauth_session=/);
      const reuse = await curl(['-H', `Cookie: ${cookie}; other=2`, `http://127.0.0.1:${port}/s2`]);
      assert.equal(reuse.status, 200);
      const echo = echoOf(reuse.body);
      assert.equal(echo.headers['x-remote-user'], 'alice');
      assert.equal(echo.headers['cookie'], 'other=2', 'the session cookie stays with the gateway');
      const tampered = cookie.slice(0, -2) + (cookie.endsWith('A') ? 'BB' : 'AA');
      const refused = await curl(['-H', `Cookie: ${tampered}`, `http://127.0.0.1:${port}/s3`]);
      assert.equal(refused.status, 401);
    } finally {
      await first.close();
    }
    const rotated = sessionGateway(['session2', 'session1']);
    const second = await rotated.listen();
    try {
      const reuse = await curl(['-H', `Cookie: ${cookie}`, `http://127.0.0.1:${second.port}/s4`]);
      assert.equal(reuse.status, 200);
    } finally {
      await rotated.close();
    }
    const retired = sessionGateway(['session2']);
    const third = await retired.listen();
    try {
      const refused = await curl(['-H', `Cookie: ${cookie}`, `http://127.0.0.1:${third.port}/s5`]);
      assert.equal(refused.status, 401);
    } finally {
      await retired.close();
    }
  });

  it('shuts down gracefully: an in-flight request finishes', async () => {
    let arrived: () => void = () => {};
    const inFlight = new Promise<void>((resolve) => (arrived = resolve));
    const slowUpstream = createServer((_req, res) => {
      arrived();
      setTimeout(() => res.end('done\n'), 300);
    });
    await new Promise<void>((resolve) => slowUpstream.listen(0, '127.0.0.1', resolve));
    const slow = createGateway(gatewayConfig((slowUpstream.address() as AddressInfo).port));
    const { port } = await slow.listen();
    try {
      const pending = curl([`http://127.0.0.1:${port}/public/slow`]);
      await inFlight;
      await slow.close();
      const result = await pending;
      assert.equal(result.status, 200);
      assert.equal(result.body.trim(), 'done');
    } finally {
      await new Promise((resolve) => slowUpstream.close(resolve));
    }
  });
});
