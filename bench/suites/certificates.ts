/**
 * Issue 17's benchmark: client certificates.
 *
 *   - Per request on a kept-alive connection, each adapter (node:http, Express, Fastify, Koa):
 *     HTTPS with a client certificate mapped by clientCertificate() (SID extension, CRLs) vs the
 *     same route over HTTPS asking for the same client certificate without httpauth (the target:
 *     the mapping, cached per TLS connection, adds under 5%), and vs HTTPS without client
 *     authentication (for reference: what TLS client authentication itself costs).
 *   - TLS handshakes per second with client certificates (a new connection, a full handshake
 *     without resumption, for every request): node:http + clientCertificate() vs nginx with
 *     `ssl_verify_client on` and the same CA, CRLs and certificate, each one process.
 *
 * The certificates come from the tests' openssl-made PKI (packages/core/test/certificate-pki.ts).
 * autocannon runs in this process, every server in its own.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createTestPki } from '../../packages/core/test/certificate-pki.js';
import { processCpuMicros, startChild, type Server } from '../lib/load.js';
import { emit, quick, type Row, type Section } from '../lib/suite.js';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');

const rounds = quick ? 2 : 3;
const duration = quick ? 1 : 5;
const connections = quick ? 8 : 16;
const frameworks = ['node', 'express', 'fastify', 'koa'] as const;
const NAMES = { node: 'node:http', express: 'Express', fastify: 'Fastify', koa: 'Koa' } as const;
const WARM_UP_REQUESTS = 2000;
const serverScript = new URL('../servers/tls-app.mjs', import.meta.url).pathname;

const pki = createTestPki();
const client = pki.certs.sid;
const tlsClient = {
  cert: readFileSync(client.fullChain),
  key: readFileSync(client.key),
};
const files = {
  key: pki.server.key,
  cert: pki.server.cert,
  ca: join(pki.dir, 'root', 'ca.pem'),
  crlFiles: [pki.rootCrl, pki.intermediateCrl],
};

interface Load {
  readonly rps: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
}

/** HTTPS load over kept-alive connections (autocannon), for `duration` or `amount` requests. */
function load(port: number, withCertificate: boolean, amount?: number): Promise<Load> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `https://127.0.0.1:${port}/api`,
        connections,
        pipelining: 1,
        ...(amount === undefined ? { duration } : { amount }),
        timeout: 10,
        ...(withCertificate ? { tlsOptions: tlsClient } : {}),
      },
      (error: Error | null, result: Record<string, number>) => {
        if (error) return reject(error);
        const ok = result['2xx'] as number;
        resolve({
          rps: ok / (result.duration as number),
          ok,
          non2xx: result.non2xx as number,
          errors: result.errors as number,
        });
      },
    );
  });
}

/**
 * A new connection, with a full handshake, for every request: `connections` loops of node:https
 * requests without an agent (no keep-alive, no session reuse) for `duration` seconds. (autocannon's
 * reconnectRate drops the response it reconnects after from its counts.)
 */
async function handshakes(port: number): Promise<Load> {
  const until = performance.now() + duration * 1000;
  const counts = { ok: 0, non2xx: 0, errors: 0 };
  const one = () =>
    new Promise<void>((resolve) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/api',
          agent: false,
          rejectUnauthorized: false,
          ...tlsClient,
        },
        (res) => {
          if (res.statusCode === 200) counts.ok++;
          else counts.non2xx++;
          res.resume().on('end', resolve);
        },
      );
      req.on('error', () => {
        counts.errors++;
        resolve();
      });
      req.end();
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < until) await one();
    }),
  );
  return { ...counts, rps: counts.ok / ((performance.now() - started) / 1000) };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** nginx, one worker, verifying client certificates against the same CA and CRLs. */
async function startNginx(): Promise<Server> {
  const prefix = mkdtempSync(join(pki.dir, 'nginx-'));
  mkdirSync(join(prefix, 'logs'));
  mkdirSync(join(prefix, 'tmp'));
  // ssl_crl takes one file: both CAs' CRLs, as nginx checks every level (CRL_CHECK_ALL).
  const crl = join(prefix, 'crls.pem');
  writeFileSync(crl, files.crlFiles.map((file) => readFileSync(file, 'utf8')).join(''));
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
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${files.cert};
    ssl_certificate_key ${files.key};
    ssl_client_certificate ${files.ca};
    ssl_crl ${crl};
    ssl_verify_client on;
    ssl_verify_depth 2;
    ssl_session_cache off;
    ssl_session_tickets off;
    location / {
      default_type application/json;
      return 200 '{"hello":"world","user":"$ssl_client_s_dn"}';
    }
  }
}
`,
  );
  const child = spawn('nginx', ['-p', prefix, '-c', conf, '-g', 'daemon off;'], {
    stdio: 'ignore',
  });
  for (let attempt = 0; ; attempt++) {
    const probe = await load(port, true).catch(() => undefined);
    if (probe !== undefined && probe.ok > 0) break;
    if (attempt > 50) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not answer: ${readFileSync(join(prefix, 'logs', 'error.log'))}`);
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

const samples = new Map<string, number[]>();
const record = (key: string, value: number) => {
  if (!samples.has(key)) samples.set(key, []);
  samples.get(key)!.push(value);
};

/**
 * One measurement; every request must succeed (a refused certificate would be a 403). A
 * kept-alive measurement also records the server's CPU per request under `${key}/cpu`.
 */
async function measure(
  key: string,
  start: () => Promise<Server>,
  withCertificate: boolean,
  newConnectionEach: boolean,
): Promise<void> {
  const server = await start();
  try {
    // Warm-up, not measured: the JIT compiles the request path (far more code with httpauth
    // than without), and the package validates the certificate once.
    await load(server.port, withCertificate, WARM_UP_REQUESTS);
    const cpuBefore = newConnectionEach ? undefined : processCpuMicros(server.child.pid);
    const result = newConnectionEach
      ? await handshakes(server.port)
      : await load(server.port, withCertificate);
    const cpuAfter = cpuBefore === undefined ? undefined : processCpuMicros(server.child.pid);
    if (result.errors > 0 || result.non2xx > 0 || result.ok === 0) {
      throw new Error(`${key}: ${result.ok} ok, ${result.non2xx} non-2xx, ${result.errors} errors`);
    }
    record(key, result.rps);
    if (cpuBefore !== undefined && cpuAfter !== undefined) {
      // Every request the load sent, answered or not in the window: autocannon's total.
      record(`${key}/cpu`, (cpuAfter - cpuBefore) / (result.ok + result.non2xx + result.errors));
    }
  } finally {
    await server.stop();
  }
}

/**
 * The certificate phase alone, in this process: µs per `authenticate()` of a request on a
 * kept-alive connection (the chain function and connection as the Node glue passes them), the
 * part of a request the package adds once its result is cached for the connection.
 */
async function inProcessMicros(): Promise<number> {
  const { clientCertificate, createAuthenticator } = await import('@httpauth/core');
  const { authenticateNow } = await import('@httpauth/core/adapter');
  const authenticator = createAuthenticator({
    packages: [],
    certificate: clientCertificate({
      ca: readFileSync(files.ca, 'utf8'),
      revocation: { crlFiles: files.crlFiles },
      mapping: [{ type: 'sid' }],
    }),
  });
  const chain = pki.chain(client);
  const connection = {};
  const handshake = {};
  const request = () => ({
    method: 'GET',
    target: '/api',
    headers: {},
    httpVersionMajor: 1,
    secure: true,
    peerCertificateChain: () => chain,
    tlsConnection: connection,
    tlsHandshake: handshake,
  });
  const iterations = quick ? 5000 : 50_000;
  // As the adapters ask (authenticateNow): a kept connection's decision comes without a promise.
  for (let i = 0; i < 2000; i++) await authenticateNow(authenticator, request());
  const started = performance.now();
  for (let i = 0; i < iterations; i++) {
    const decision = await authenticateNow(authenticator, request());
    if (decision.type !== 'authenticated') throw new Error(`in process: ${decision.type}`);
  }
  const micros = ((performance.now() - started) * 1000) / iterations;
  await authenticator.close();
  return micros;
}

type AppAuth = 'none' | 'request' | 'certificate' | (typeof PARTS)[number];
/** The node:http certificate row taken apart (servers/tls-app.mjs says what each one runs). */
const PARTS = ['translate', 'engine', 'engine-twice', 'minimal'] as const;

const app = (framework: string, auth: AppAuth) => () =>
  startChild(process.execPath, [serverScript, JSON.stringify({ framework, auth, ...files })]);

/** Round by round, a minus b. */
const minus = (a: readonly number[], b: readonly number[]) =>
  a.map((value, round) => value - (b[round] as number));

try {
  for (let round = 0; round < rounds; round++) {
    for (const framework of frameworks) {
      await measure(`${framework}/tls`, app(framework, 'none'), false, false);
      await measure(`${framework}/request`, app(framework, 'request'), true, false);
      await measure(`${framework}/certificate`, app(framework, 'certificate'), true, false);
    }
    for (const part of PARTS) await measure(`node/${part}`, app('node', part), true, false);
    record('in-process', await inProcessMicros());
    await measure('handshake/httpauth', app('node', 'certificate'), true, true);
    await measure('handshake/nginx', startNginx, true, true);
  }

  const sections: Section[] = frameworks.map((framework) => {
    const name = NAMES[framework];
    const plain = `${name}, HTTPS without client authentication`;
    const base = `${name}, HTTPS with a client certificate, no httpauth`;
    const rows: Row[] = [
      { label: plain, unit: 'req/s', samples: samples.get(`${framework}/tls`)! },
      {
        label: base,
        unit: 'req/s',
        samples: samples.get(`${framework}/request`)!,
        ratioTo: plain,
      },
      {
        label: `${name}, client certificate mapped (SID extension, CRLs)`,
        unit: 'req/s',
        samples: samples.get(`${framework}/certificate`)!,
        ratioTo: base,
        target: { min: 0.95, text: 'mapping adds < 5%' },
      },
    ];
    const cpu = (key: string) => samples.get(`${framework}/${key}/cpu`);
    if (
      cpu('tls') !== undefined &&
      cpu('request') !== undefined &&
      cpu('certificate') !== undefined
    ) {
      const cpuBase = `${name}: server CPU per request, client certificate, no httpauth`;
      rows.push(
        {
          label: `${name}: server CPU per request, no client authentication`,
          unit: 'µs',
          samples: cpu('tls')!,
        },
        { label: cpuBase, unit: 'µs', samples: cpu('request')! },
        {
          label: `${name}: server CPU per request, client certificate mapped`,
          unit: 'µs',
          samples: cpu('certificate')!,
          ratioTo: cpuBase,
          target: { max: 1.05, text: 'mapping adds < 5%' },
        },
      );
    }
    return {
      id: `certificates-${framework}`,
      title: `#17. Client certificates on a kept-alive connection, ${name}`,
      note:
        framework === 'node'
          ? `Small JSON route over HTTPS (TLS 1.3, P-256 keys), autocannon ${connections} keep-alive connections, ${duration} s per measurement after ${WARM_UP_REQUESTS} warm-up requests, ${rounds} rounds, server in its own process. The certificate rows authenticate every request with clientCertificate() alone (packages: []): chain to the test root through its intermediate, CRLs of both CAs, SID mapping, cached per TLS connection.`
          : undefined,
      rows,
    };
  });
  // The phase's time as a share of a request's time without httpauth, round by round: steadier
  // than a throughput ratio on a shared machine, where two runs seconds apart differ by 2x.
  const share = samples.get('in-process')!.map((micros, round) => {
    const rps = samples.get('node/request')![round] as number;
    return micros / (1e6 / rps);
  });
  sections.push({
    id: 'certificates-in-process',
    title: '#17. The certificate phase in process, per kept-alive request',
    note: 'authenticateNow() with clientCertificate() alone for a request whose TLS handshake already completed a certificate logon (what the Node glue passes: the chain as a function, the socket and the handshake as keys; the kept logon answers synchronously), in the benchmark process; the share divides it by the time of one node:http request over HTTPS with a client certificate and no httpauth, measured in the same round.',
    rows: [
      {
        label: 'authenticateNow(), certificate logon kept for the connection',
        unit: 'µs',
        samples: samples.get('in-process')!,
      },
      {
        label: 'its share of a node:http HTTPS request',
        unit: '',
        samples: share,
        target: { max: 0.05, text: '< 5%' },
      },
    ],
  });
  const part = (key: string) => samples.get(`node/${key}/cpu`);
  if (part('request') !== undefined && PARTS.every((key) => part(key) !== undefined)) {
    const base = 'client certificate, no httpauth';
    const translate = 'toAuthRequest() only';
    const engine = 'toAuthRequest() + authenticateNow(), no createHandler';
    sections.push({
      id: 'certificates-parts',
      title: '#17. The node:http certificate row taken apart: server CPU per kept-alive request',
      note: `The same HTTPS route, load and client certificate as the node:http rows, in the same rounds; each server adds one part of the certificate row to the no-httpauth server (bench/servers/tls-app.mjs). The engine's second call on the same request runs with its code and data already in the CPU's caches: the difference between its cost and the first call's is what bringing them back costs on every request. The hand-written check (a WeakMap lookup per socket, an expiry, the identity objects per request) is what the smallest such check costs in place. CPU is the server process's user + system time from /proc over the measured load.`,
      rows: [
        { label: base, unit: 'µs', samples: part('request')! },
        {
          label: translate,
          unit: 'µs',
          samples: part('translate')!,
          ratioTo: base,
          better: 'lower',
        },
        { label: engine, unit: 'µs', samples: part('engine')!, ratioTo: base, better: 'lower' },
        {
          label: 'the same, authenticateNow() twice per request',
          unit: 'µs',
          samples: part('engine-twice')!,
          ratioTo: base,
          better: 'lower',
        },
        {
          label: 'createHandler() + clientCertificate() (the certificate row)',
          unit: 'µs',
          samples: samples.get('node/certificate/cpu')!,
          ratioTo: base,
          better: 'lower',
        },
        {
          label: 'a hand-written kept-connection check, no httpauth',
          unit: 'µs',
          samples: part('minimal')!,
          ratioTo: base,
          better: 'lower',
        },
        {
          label: "authenticateNow()'s first call on a request (engine − toAuthRequest only)",
          unit: 'µs',
          samples: minus(part('engine')!, part('translate')!),
        },
        {
          label: 'its second call on the same request (twice − once)',
          unit: 'µs',
          samples: minus(part('engine-twice')!, part('engine')!),
        },
      ],
    });
  }
  sections.push({
    id: 'certificates-handshakes',
    title: '#17. TLS handshakes with client certificates: httpauth vs nginx ssl_verify_client',
    note: `A new connection with a full handshake (no resumption) for every request, ${connections} clients, ${duration} s, the same CA, CRLs and client certificate; each server one process (nginx: one worker, ssl_session_cache off).`,
    rows: [
      {
        label: 'nginx, ssl_verify_client on',
        unit: 'handshakes/s',
        samples: samples.get('handshake/nginx')!,
      },
      {
        label: 'node:http + clientCertificate()',
        unit: 'handshakes/s',
        samples: samples.get('handshake/httpauth')!,
        ratioTo: 'nginx, ssl_verify_client on',
      },
    ],
  });
  emit(sections);
} finally {
  pki.remove();
}
