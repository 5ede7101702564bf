// A benchmark target: one small JSON route behind a framework and an auth setup, on 127.0.0.1.
// Runs in its own process (or a node:cluster of them) so the load generator never shares its
// event loop. Configuration is one JSON argument:
//   { framework: 'node'|'express'|'fastify'|'koa', auth: 'none'|'negotiate'|'ntlm'|'digest'|'http-auth'|
//     'basic-kerberos'|'noop'|'digest-floor', workers: 1, keytab, port: 0, staticBody?: string,
//     redisUrl?: string, realm, kdcs (basic-kerberos) }
// 'noop' and 'digest-floor' are floors, not authentication (bench/servers/floors.mjs): the
// framework's cost of one middleware, and the work RFC 7616 forces on any Digest server.
// staticBody: answer every authenticated request with exactly these bytes (application/json), as
// Apache serves its static file, instead of the per-user JSON. redisUrl: every worker keeps its
// replay cache (and other shared state) in that Redis through @httpauth/redis, as
// docs/several-nodes.md recommends for several processes, so a token accepted by one worker is
// refused by every other. A request with `x-bench-whoami: 1` gets its worker's pid in
// `x-bench-worker` (only the start-up replay check sends it; the load never does).
// Prints `{"port":N}` on stdout when every worker listens.
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLOOR_AUTH, floorStep } from './floors.mjs';

const config = JSON.parse(process.argv[2]);
export const BENCH_USER = 'alice';
export const BENCH_PASSWORD = 'Wonderland1';
export const DIGEST_REALM = 'bench@httpauth';

async function packagesFor(auth) {
  const core = await import('@httpauth/core');
  if (auth === 'ntlm') {
    const { ntowfv1 } = await import('@httpauth/core/wire');
    const hash = ntowfv1(BENCH_PASSWORD);
    return [
      core.ntlm({
        domain: 'EXAMPLE',
        credentials: (user) => (user.toLowerCase() === BENCH_USER ? hash : undefined),
      }),
    ];
  }
  if (auth === 'digest') {
    const sha256Ha1 = createHash('sha256')
      .update(`${BENCH_USER}:${DIGEST_REALM}:${BENCH_PASSWORD}`)
      .digest('hex');
    return [
      core.digest({
        realm: DIGEST_REALM,
        algorithms: ['SHA-256'],
        // A stored H(A1), as an htdigest-style file holds it (http-auth gets the MD5 one).
        credentials: (user) => (user === BENCH_USER ? { ha1: sha256Ha1 } : undefined),
      }),
    ];
  }
  if (auth === 'negotiate') {
    // Tokens are made long before the load runs; the wide skew keeps them valid, as for Apache.
    return [
      core.negotiate({
        kerberos: { keytab: config.keytab, clockSkewMs: 3_600_000 },
        kerberosOnly: true,
      }),
    ];
  }
  if (auth === 'basic-kerberos') {
    // Every request a full logon: AS and TGS exchanges with the KDC, the ticket checked with the
    // keytab (bench/suites/basic-kerberos.ts). Plain HTTP on loopback, as Apache's side.
    return [
      core.basic({
        realm: 'bench',
        kerberos: { realm: config.realm, keytab: config.keytab, kdcs: config.kdcs },
        allowInsecure: true,
      }),
    ];
  }
  throw new Error(`unknown auth ${auth}`);
}

function httpAuthDigest() {
  // http-auth reads user:realm:HA1 lines (MD5 only).
  const dir = mkdtempSync(join(tmpdir(), 'httpauth-bench-htdigest-'));
  const file = join(dir, 'users.htdigest');
  const ha1 = createHash('md5')
    .update(`${BENCH_USER}:${DIGEST_REALM}:${BENCH_PASSWORD}`)
    .digest('hex');
  writeFileSync(file, `${BENCH_USER}:${DIGEST_REALM}:${ha1}\n`);
  return import('http-auth').then((mod) =>
    (mod.default ?? mod).digest({ realm: DIGEST_REALM, file }),
  );
}

let authenticator;
const body = (user) => ({ hello: 'world', user: user ?? null });
/** The fixed bytes of `staticBody`, else the per-user JSON as an object for the framework. */
const staticBody = config.staticBody;

/** The worker's pid for the replay check, on request only (a cluster only). */
const whoami =
  (config.workers ?? 1) > 1
    ? (headers, setHeader) => {
        if (headers['x-bench-whoami'] === '1') setHeader('x-bench-worker', String(process.pid));
      }
    : () => {};

/** The shared store when a Redis URL is configured, else undefined (each process its own). */
async function sharedStore() {
  if (config.redisUrl === undefined) return {};
  const { RedisStore } = await import('@httpauth/redis');
  const store = new RedisStore({ url: config.redisUrl });
  await store.ready();
  return { store };
}

async function start() {
  const { framework, auth } = config;
  const packages =
    auth === 'none' || auth === 'http-auth' || FLOOR_AUTH.has(auth)
      ? undefined
      : await packagesFor(auth);
  // A floor: one synchronous step in the framework's own middleware form (floors.mjs).
  const floor = FLOOR_AUTH.has(auth) ? floorStep(auth) : undefined;
  const shared = packages === undefined ? {} : await sharedStore();
  let server;
  if (framework === 'node') {
    const send = (res, user) => {
      whoami(res.req.headers, (name, value) => res.setHeader(name, value));
      res.setHeader('content-type', 'application/json');
      res.end(staticBody ?? JSON.stringify(body(user)));
    };
    if (floor !== undefined) {
      server = createServer((req, res) => {
        const auth = floor(req.headers.authorization, (name, value) => res.setHeader(name, value));
        if (auth === undefined) {
          res.statusCode = 401;
          res.end();
        } else send(res, auth.principal.name);
      });
    } else if (packages === undefined) {
      server = createServer((req, res) => send(res));
    } else {
      const { createHandler } = await import('@httpauth/core/node');
      const handler = createHandler(
        {
          packages,
          ...shared,
          ...(config.connections ? { connections: config.connections } : {}),
        },
        (req, res, info) => send(res, info.principal.name),
      );
      authenticator = handler.authenticator;
      server = createServer(handler);
    }
  } else if (framework === 'express') {
    const express = (await import('express')).default;
    const app = express();
    if (auth === 'http-auth') {
      const digestAuth = await httpAuthDigest();
      // http-auth's own checker, then on to the route, as its Express integration does.
      app.use((req, res, next) => digestAuth.check(() => next())(req, res));
    } else if (floor !== undefined) {
      app.use((req, res, next) => {
        const auth = floor(req.headers.authorization, (name, value) => res.setHeader(name, value));
        if (auth === undefined) {
          res.statusCode = 401;
          res.end();
          return;
        }
        req.auth = auth;
        next();
      });
    } else if (packages !== undefined) {
      const { httpAuth } = await import('@httpauth/express');
      app.use(httpAuth({ packages, ...shared }));
    }
    app.get('/api', (req, res) => {
      whoami(req.headers, (name, value) => res.set(name, value));
      if (staticBody !== undefined) res.type('application/json').send(staticBody);
      else res.json(body(req.auth?.principal.name ?? req.user));
    });
    server = createServer(app);
  } else if (framework === 'fastify') {
    const Fastify = (await import('fastify')).default;
    let fastifyServer;
    const app = Fastify({
      serverFactory: (handler) => {
        fastifyServer = createServer(handler);
        return fastifyServer;
      },
    });
    if (floor !== undefined) {
      // The adapter's form: an async onRequest hook and a request decoration.
      app.decorateRequest('auth', null);
      app.addHook('onRequest', async (request, reply) => {
        const auth = floor(request.headers.authorization, (name, value) =>
          reply.header(name, value),
        );
        if (auth === undefined) return reply.code(401).send();
        request.auth = auth;
      });
    } else if (packages !== undefined) {
      const { httpAuth } = await import('@httpauth/fastify');
      await app.register(httpAuth, { packages, ...shared });
    }
    app.get('/api', async (request, reply) => {
      whoami(request.headers, (name, value) => reply.header(name, value));
      if (staticBody !== undefined) return reply.type('application/json').send(staticBody);
      return body(request.auth?.principal.name);
    });
    await app.ready();
    server = fastifyServer;
  } else if (framework === 'koa') {
    const Koa = (await import('koa')).default;
    const app = new Koa();
    if (floor !== undefined) {
      // The adapter's form: an async middleware that awaits next().
      app.use(async (ctx, next) => {
        const auth = floor(ctx.req.headers.authorization, (name, value) => ctx.set(name, value));
        if (auth === undefined) {
          ctx.status = 401;
          return;
        }
        ctx.state.auth = auth;
        await next();
      });
    } else if (packages !== undefined) {
      const { httpAuth } = await import('@httpauth/koa');
      app.use(httpAuth({ packages, ...shared }));
    }
    app.use((ctx) => {
      whoami(ctx.headers, (name, value) => ctx.set(name, value));
      if (staticBody !== undefined) {
        ctx.type = 'application/json';
        ctx.body = staticBody;
      } else {
        ctx.body = body(ctx.state.auth?.principal.name);
      }
    });
    server = createServer(app.callback());
  } else {
    throw new Error(`unknown framework ${framework}`);
  }
  // Parked NTLM handshakes and long keep-alive runs must not be cut by Node's 5 s default.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
  server.maxHeadersCount = 0;
  return server;
}

const workers = config.workers ?? 1;
if (workers > 1 && cluster.isPrimary) {
  let port = config.port ?? 0;
  if (port === 0) {
    // Workers must share one port: pick it here first.
    const probe = createServer();
    await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
    port = probe.address().port;
    await new Promise((resolve) => probe.close(resolve));
  }
  let listening = 0;
  for (let i = 0; i < workers; i++) {
    const worker = cluster.fork({ BENCH_PORT: String(port) });
    worker.on('message', (message) => {
      if (message === 'listening' && ++listening === workers) console.log(JSON.stringify({ port }));
    });
  }
  cluster.on('exit', (worker, code) => {
    if (code !== 0 && code !== null) process.exit(1);
  });
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers)) worker.process.kill('SIGTERM');
    process.exit(0);
  });
} else {
  const server = await start();
  const port = Number(process.env.BENCH_PORT ?? config.port ?? 0);
  server.listen(port, '127.0.0.1', () => {
    if (cluster.isWorker) process.send('listening');
    else console.log(JSON.stringify({ port: server.address().port }));
  });
  process.on('SIGTERM', () => process.exit(0));
  // The memory benchmark asks for heap figures over IPC.
  process.on('message', (message) => {
    if (message === 'memory') {
      globalThis.gc?.();
      globalThis.gc?.();
      const usage = process.memoryUsage();
      process.send({
        pendingHandshakes: authenticator?.pendingHandshakes,
        heapUsed: usage.heapUsed,
        rss: usage.rss,
        external: usage.external,
        arrayBuffers: usage.arrayBuffers,
      });
    }
  });
}
