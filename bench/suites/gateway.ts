/**
 * Issue #7's benchmark: requests per second through @httpauth/gateway vs a plain Node reverse
 * proxy on the same route (no auth on a public path, a persisted NTLM connection, a session
 * cookie), and Negotiate per request through the gateway vs nginx + auth_request calling the
 * gateway's auth endpoint. Every proxy forwards to the same upstream process over keep-alive.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBenchRealm } from '../lib/realm.js';
import { startGatewaySetup, type AuthConfig } from '../lib/gateway-setup.js';
import { assertAnswered, runLoad, type LoadMode, type Server } from '../lib/load.js';
import { emit, quick, type Row } from '../lib/suite.js';

const rounds = quick ? 2 : 3;
const duration = quick ? 1 : 5;
const connections = quick ? 8 : 16;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startNginx(dir: string, upstreamPort: number, gatewayPort: number): Promise<Server> {
  const prefix = mkdtempSync(join(dir, 'nginx-'));
  mkdirSync(join(prefix, 'logs'));
  mkdirSync(join(prefix, 'tmp'));
  const port = await freePort();
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  large_client_header_buffers 4 64k;
  keepalive_requests 1000000;
  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 64; keepalive_requests 1000000; }
  upstream gw { server 127.0.0.1:${gatewayPort}; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port};
    location = /_httpauth/auth {
      internal;
      proxy_pass http://gw;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
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
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://app;
    }
  }
}
`,
  );
  const child = spawn('nginx', ['-p', prefix, '-c', conf, '-g', 'daemon off;'], {
    stdio: 'ignore',
  });
  for (let attempt = 0; ; attempt++) {
    const up = await fetch(`http://127.0.0.1:${port}/api`).then(
      (r) => r.status,
      () => 0,
    );
    if (up === 401) break;
    if (attempt > 100) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not answer 401 (got ${up})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    port,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGQUIT');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

const realm = await startBenchRealm('aes256-cts-hmac-sha1-96');
const dir = mkdtempSync(join(tmpdir(), 'httpauth-bench-gateway-'));
try {
  const tokens = realm.tokens(quick ? 2000 : 20000, 'spnego');
  const setup = await startGatewaySetup(dir, realm.kdc.keytabPath);
  const { upstream, ntlmAuth, negotiateAuth } = setup;
  const startGateway = (auth: AuthConfig, extra?: AuthConfig) => setup.startGateway(auth, extra);
  const samples = new Map<string, number[]>();
  const measure = async (key: string, server: Server, mode: LoadMode, own = true) => {
    try {
      // Negotiate runs are bounded by the token set (each token once per gateway process).
      const result = await runLoad({
        port: server.port,
        mode,
        connections,
        duration,
        tokens,
        ...(mode === 'negotiate' ? { amount: tokens.length } : {}),
      });
      assertAnswered(key, result, connections * 3);
      if (!samples.has(key)) samples.set(key, []);
      samples.get(key)!.push(result.rps);
    } finally {
      if (own) await server.stop();
    }
  };
  try {
    for (let round = 0; round < rounds; round++) {
      await measure('direct', upstream, 'none', false);
      await measure('proxy', await setup.startProxy(), 'none');
      // Floors (issue 16): the plain proxy plus only what the gateway must add per request.
      for (const kind of ['floor', 'floor-identity'] as const) {
        await measure(`proxy-${kind}`, await setup.startProxy(kind), 'none');
      }
      await measure(
        'gw-public',
        await startGateway(ntlmAuth, { rules: [{ prefix: '/', public: true }] }),
        'none',
      );
      await measure('gw-ntlm', await startGateway(ntlmAuth), 'ntlm');
      await measure(
        'gw-session',
        await startGateway(negotiateAuth, { sessions: setup.sessions }),
        'cookie',
      );
      await measure('gw-negotiate', await startGateway(negotiateAuth), 'negotiate');
      const authGateway = await startGateway(negotiateAuth, {
        authRequest: { path: '/_httpauth/auth' },
      });
      try {
        await measure('nginx', await startNginx(dir, upstream.port, authGateway.port), 'negotiate');
      } finally {
        await authGateway.stop();
      }
    }
  } finally {
    await upstream.stop();
  }
  const proxy = 'plain Node reverse proxy (node:http, keep-alive pool), no auth';
  const floorPublic =
    'floor: the plain proxy + forwarding headers (RFC 7239, X-Forwarded-*) and an upstream timeout';
  const floorIdentity = 'floor: the same + three identity headers (an authenticated request)';
  const nginx = 'nginx + auth_request → gateway auth endpoint, Negotiate per request';
  // Issue 16: the public path within 10% of the plain proxy, authenticated paths within 15%.
  const publicTarget = { min: 0.9, text: '≥ 0.9x' };
  const target = { min: 0.85, text: '≥ 0.85x' };
  const rows: Row[] = [
    {
      label: 'upstream direct, no proxy (reference)',
      unit: 'req/s',
      samples: samples.get('direct')!,
    },
    { label: proxy, unit: 'req/s', samples: samples.get('proxy')! },
    {
      label: floorPublic,
      unit: 'req/s',
      samples: samples.get('proxy-floor')!,
      ratioTo: proxy,
    },
    {
      label: floorIdentity,
      unit: 'req/s',
      samples: samples.get('proxy-floor-identity')!,
      ratioTo: proxy,
    },
    {
      label: 'gateway, public path (no auth)',
      unit: 'req/s',
      samples: samples.get('gw-public')!,
      ratioTo: proxy,
      target: publicTarget,
    },
    {
      label: 'gateway, public path vs the forwarding floor',
      unit: 'req/s',
      samples: samples.get('gw-public')!,
      ratioTo: floorPublic,
    },
    {
      label: 'gateway, NTLM-authenticated keep-alive connection',
      unit: 'req/s',
      samples: samples.get('gw-ntlm')!,
      ratioTo: proxy,
      target,
    },
    {
      label: 'gateway, NTLM-authenticated keep-alive connection vs the identity floor',
      unit: 'req/s',
      samples: samples.get('gw-ntlm')!,
      ratioTo: floorIdentity,
    },
    {
      label: 'gateway, session cookie (after one Negotiate)',
      unit: 'req/s',
      samples: samples.get('gw-session')!,
      ratioTo: proxy,
      target,
    },
    {
      label: 'gateway, session cookie vs the identity floor',
      unit: 'req/s',
      samples: samples.get('gw-session')!,
      ratioTo: floorIdentity,
    },
    {
      label: 'gateway, Negotiate per request',
      unit: 'req/s',
      samples: samples.get('gw-negotiate')!,
      ratioTo: nginx,
    },
    { label: nginx, unit: 'req/s', samples: samples.get('nginx')! },
  ];
  emit([
    {
      id: 'gateway',
      title: 'Gateway (issue #7): @httpauth/gateway vs a plain Node proxy and nginx + auth_request',
      note: `Same upstream process and route for all; autocannon ${connections} keep-alive connections, ${duration} s, ${rounds} rounds; nginx 1 worker, keep-alive to the upstream and to the gateway. Negotiate: one distinct SPNEGO token per request, the same ${tokens.length} tokens sent once to each setup. The floors (bench/servers/proxy.mjs) are the plain proxy doing only what the gateway must add to every forwarded request, without authentication.`,
      rows,
    },
  ]);
} finally {
  await realm.kdc.stop();
  rmSync(dir, { recursive: true, force: true });
}
