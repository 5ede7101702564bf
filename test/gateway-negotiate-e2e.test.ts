/**
 * The gateway with Kerberos: curl --negotiate straight to the gateway, a WebSocket upgrade
 * authenticated with a Negotiate token from MIT's GSS-API (python3-gssapi), and Debian's nginx
 * with auth_request in front of the gateway's auth endpoint. A throwaway MIT realm on loopback.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { WebSocket, WebSocketServer } from 'ws';
import { digestFileLine } from '@httpauth/core';
import { tlsServerEndPoint } from '@httpauth/core/wire';
import { validateConfig } from '@httpauth/gateway';
import { createGateway } from '@httpauth/gateway';
import type { Gateway } from '@httpauth/gateway';
import { startMitKdc } from './harness/mit-kdc.js';
import type { MitKdc } from './harness/mit-kdc.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'httpauth-gateway-krb-'));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A Negotiate (SPNEGO) token for HTTP@localhost from MIT's initiator, via python3-gssapi, with
 * optional channel-binding application data (hex).
 */
async function spnegoToken(env: NodeJS.ProcessEnv, bindingHex?: string): Promise<string> {
  const script = [
    'import base64, sys, gssapi',
    "name = gssapi.Name('HTTP@localhost', gssapi.NameType.hostbased_service)",
    'cb = None',
    'if len(sys.argv) > 1: cb = gssapi.raw.ChannelBindings(application_data=bytes.fromhex(sys.argv[1]))',
    "ctx = gssapi.SecurityContext(name=name, usage='initiate', mech=gssapi.Mechanism.from_sasl_name('SPNEGO'), channel_bindings=cb)",
    'print(base64.b64encode(ctx.step()).decode())',
  ].join('\n');
  const args = ['-c', script, ...(bindingHex === undefined ? [] : [bindingHex])];
  const { stdout } = await run('/usr/bin/python3', args, { env });
  return stdout.trim();
}

async function curl(args: string[], env: NodeJS.ProcessEnv) {
  const { stdout } = await run(
    'curl',
    ['-sS', '--max-time', '20', '-w', '\n%{http_code}', ...args],
    { env },
  );
  const lines = stdout.split('\n');
  const status = Number(lines.pop());
  return { status, body: lines.join('\n') };
}

describe('gateway with Kerberos, WebSockets and nginx auth_request', () => {
  let kdc: MitKdc;
  let clientEnv: NodeJS.ProcessEnv;
  let upstream: Server;
  let wss: WebSocketServer;
  let upstreamPort: number;
  let gateway: Gateway;
  let gatewayPort: number;
  let nginx: ChildProcess | undefined;

  before(async () => {
    kdc = await startMitKdc({
      principals: [{ name: 'alice', password: 'alicepw' }, { name: 'HTTP/localhost' }],
    });
    clientEnv = kdc.kinit('alice', 'alicepw').env;
    writeFileSync(join(dir, 'users.digest'), digestFileLine('bob', 'gw', 'bobpw') + '\n');

    upstream = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ url: req.url, headers: req.headers }));
    });
    wss = new WebSocketServer({ server: upstream });
    wss.on('connection', (socket, req) => socket.send(String(req.headers['x-remote-user'])));
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    upstreamPort = (upstream.address() as AddressInfo).port;

    gateway = createGateway(
      validateConfig(
        {
          listen: { host: '127.0.0.1', port: 0 },
          upstream: `http://127.0.0.1:${upstreamPort}`,
          auth: {
            realm: 'gw',
            mechanisms: ['negotiate', 'digest'],
            negotiate: { keytab: kdc.keytabPath },
            digest: { file: join(dir, 'users.digest') },
          },
          authRequest: { path: '/_httpauth/auth' },
          log: { level: 'silent' },
        },
        {},
        dir,
      ),
    );
    gatewayPort = (await gateway.listen()).port;
  });

  after(async () => {
    if (nginx !== undefined && nginx.exitCode === null) {
      nginx.kill('SIGTERM');
      await new Promise((resolve) => nginx?.once('exit', resolve));
    }
    await gateway?.close();
    wss?.close();
    upstream?.closeAllConnections();
    await new Promise((resolve) => upstream?.close(resolve));
    await kdc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('forwards curl --negotiate with the Kerberos identity and the mutual-auth token', async () => {
    const { stdout } = await run(
      'curl',
      [
        '-sS',
        '-D',
        '-',
        '--negotiate',
        '-u',
        ':',
        '-H',
        'X-Remote-User: root',
        `http://localhost:${gatewayPort}/k`,
      ],
      { env: clientEnv },
    );
    const final =
      stdout
        .split(/\r\n\r\n/)
        .filter((block) => /^HTTP\/1\.1 /.test(block))
        .pop() ?? '';
    assert.match(final, /^HTTP\/1\.1 200/);
    assert.match(final, /www-authenticate: Negotiate [A-Za-z0-9+/=]+/i);
    const echo = JSON.parse(stdout.slice(stdout.lastIndexOf('\r\n\r\n') + 4));
    assert.equal(echo.headers['x-remote-user'], 'alice@EXAMPLE.TEST');
    assert.equal(echo.headers['x-auth-mechanism'], 'Kerberos');
    assert.equal(echo.headers['authorization'], undefined);
  });

  it('authenticates a WebSocket upgrade with a Negotiate token', async () => {
    const token = await spnegoToken(clientEnv);
    const user = await new Promise<string>((resolve, reject) => {
      const socket = new WebSocket(`ws://localhost:${gatewayPort}/ws`, {
        headers: { authorization: `Negotiate ${token}` },
      });
      socket.on('message', (data) => {
        socket.close();
        resolve(String(data));
      });
      socket.on('unexpected-response', (_req, res) =>
        reject(new Error(`status ${res.statusCode}`)),
      );
      socket.on('error', reject);
    });
    assert.equal(user, 'alice@EXAMPLE.TEST');
    // The same token again is a replay.
    const replay = await new Promise<number>((resolve) => {
      const socket = new WebSocket(`ws://localhost:${gatewayPort}/ws`, {
        headers: { authorization: `Negotiate ${token}` },
      });
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.on('open', () => resolve(101));
      socket.on('error', () => resolve(-1));
    });
    assert.equal(replay, 401);
  });

  it('terminates TLS and requires channel bindings from its own certificate', async () => {
    await run('openssl', [
      'req',
      '-x509',
      '-nodes',
      '-newkey',
      'rsa:2048',
      '-sha256',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-keyout',
      join(dir, 'tls.key'),
      '-out',
      join(dir, 'tls.crt'),
    ]);
    const tlsGateway = createGateway(
      validateConfig(
        {
          listen: { host: '127.0.0.1', port: 0, tls: { cert: 'tls.crt', key: 'tls.key' } },
          upstream: `http://127.0.0.1:${upstreamPort}`,
          auth: { realm: 'gw', channelBinding: 'require', negotiate: { keytab: kdc.keytabPath } },
          log: { level: 'silent' },
        },
        {},
        dir,
      ),
    );
    const { port } = await tlsGateway.listen();
    try {
      const binding = tlsServerEndPoint(readFileSync(join(dir, 'tls.crt'), 'utf8'));
      const send = (token: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = httpsRequest(
            {
              host: '127.0.0.1',
              port,
              path: '/tls',
              servername: 'localhost',
              rejectUnauthorized: false,
              headers: { host: `localhost:${port}`, authorization: `Negotiate ${token}` },
            },
            (res) => {
              let body = '';
              res.on('data', (d: Buffer) => (body += d));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
            },
          );
          req.on('error', reject);
          req.end();
        });
      const bound = await send(await spnegoToken(clientEnv, binding.toString('hex')));
      assert.equal(bound.status, 200, bound.body);
      assert.equal(JSON.parse(bound.body).headers['x-forwarded-proto'], 'https');
      const otherChannel = Buffer.concat([
        Buffer.from('tls-server-end-point:'),
        Buffer.alloc(32, 7),
      ]);
      const wrong = await send(await spnegoToken(clientEnv, otherChannel.toString('hex')));
      assert.equal(wrong.status, 401);
      assert.equal(JSON.parse(wrong.body).error, 'ERR_HTTPAUTH_CHANNEL_BINDING_MISMATCH');
      const unbound = await send(await spnegoToken(clientEnv));
      assert.equal(unbound.status, 401);
      assert.equal(JSON.parse(unbound.body).error, 'ERR_HTTPAUTH_CHANNEL_BINDING_MISSING');
    } finally {
      await tlsGateway.close();
    }
  });

  it('answers nginx auth_request: curl --negotiate through nginx reaches the upstream with identity', async () => {
    const nginxPort = await freePort();
    const prefix = join(dir, 'nginx');
    mkdirSync(join(prefix, 'logs'), { recursive: true });
    mkdirSync(join(prefix, 'tmp'), { recursive: true });
    const conf = join(prefix, 'nginx.conf');
    writeFileSync(
      conf,
      `
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 128; }
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  large_client_header_buffers 4 64k;
  server {
    listen 127.0.0.1:${nginxPort};
    location = /_httpauth/auth {
      internal;
      proxy_pass http://127.0.0.1:${gatewayPort};
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
    }
    location / {
      auth_request /_httpauth/auth;
      auth_request_set $remote_user_hdr $upstream_http_x_remote_user;
      auth_request_set $auth_challenge $upstream_http_www_authenticate;
      add_header WWW-Authenticate $auth_challenge always;
      proxy_set_header X-Remote-User $remote_user_hdr;
      proxy_pass http://127.0.0.1:${upstreamPort};
    }
  }
}
`,
    );
    nginx = spawn('nginx', ['-p', prefix, '-c', conf, '-g', 'daemon off;'], { stdio: 'ignore' });
    // Ready when it answers (the 401 challenge comes from the gateway through nginx).
    let challenge = { status: 0, body: '' };
    for (let attempt = 0; attempt < 100 && challenge.status !== 401; attempt++) {
      challenge = await curl(
        ['-o', '/dev/null', `http://localhost:${nginxPort}/app`],
        clientEnv,
      ).catch(() => ({ status: 0, body: '' }));
      if (challenge.status !== 401) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(challenge.status, 401, readFileSync(join(prefix, 'logs', 'error.log'), 'utf8'));
    const through = await curl(
      ['--negotiate', '-u', ':', `http://localhost:${nginxPort}/app?x=1`],
      clientEnv,
    );
    assert.equal(through.status, 200, through.body);
    const echo = JSON.parse(through.body);
    assert.equal(echo.url, '/app?x=1');
    assert.equal(echo.headers['x-remote-user'], 'alice@EXAMPLE.TEST');
  });
});
