// A benchmark target for client certificates (issue 17): the small JSON route of app.mjs over
// HTTPS, behind node:http's handler, Express, Fastify or Koa. Configuration is one JSON argument:
//   { framework: 'node'|'express'|'fastify'|'koa', auth: 'none'|'request'|'certificate',
//     key, cert, ca, crlFiles }   (file paths)
// 'none' is TLS without client authentication (no CertificateRequest); 'request' asks for a
// client certificate in the handshake but runs no httpauth (what TLS client authentication costs
// by itself); 'certificate' asks for one and authenticates with clientCertificate() alone
// (packages: []), mapping by the SID extension. Prints `{"port":N}` on stdout when it listens.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

const config = JSON.parse(process.argv[2]);
const body = (user) => ({ hello: 'world', user: user ?? null });

function tlsOptions() {
  const base = { key: readFileSync(config.key), cert: readFileSync(config.cert) };
  if (config.auth === 'none') return base;
  // The package decides (rejectUnauthorized: false), as docs/certificates.md sets it up.
  return { ...base, ca: readFileSync(config.ca), requestCert: true, rejectUnauthorized: false };
}

async function authenticatorOptions() {
  if (config.auth !== 'certificate') return undefined;
  const { clientCertificate } = await import('@httpauth/core');
  return {
    packages: [],
    certificate: clientCertificate({
      ca: readFileSync(config.ca, 'utf8'),
      revocation: { crlFiles: config.crlFiles },
      mapping: [{ type: 'sid' }],
    }),
  };
}

async function start() {
  const { framework } = config;
  const auth = await authenticatorOptions();
  const tls = tlsOptions();
  if (framework === 'node') {
    const send = (res, user) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body(user)));
    };
    if (auth === undefined) return createServer(tls, (req, res) => send(res));
    const { createHandler } = await import('@httpauth/core/node');
    return createServer(
      tls,
      createHandler(auth, (req, res, info) => send(res, info.principal.name)),
    );
  }
  if (framework === 'express') {
    const express = (await import('express')).default;
    const app = express();
    if (auth !== undefined) {
      const { httpAuth } = await import('@httpauth/express');
      app.use(httpAuth(auth));
    }
    app.get('/api', (req, res) => res.json(body(req.auth?.principal.name)));
    return createServer(tls, app);
  }
  if (framework === 'fastify') {
    const Fastify = (await import('fastify')).default;
    let server;
    const app = Fastify({
      serverFactory: (handler) => {
        server = createServer(tls, handler);
        return server;
      },
    });
    if (auth !== undefined) {
      const { httpAuth } = await import('@httpauth/fastify');
      await app.register(httpAuth, auth);
    }
    app.get('/api', async (request) => body(request.auth?.principal.name));
    await app.ready();
    return server;
  }
  if (framework === 'koa') {
    const Koa = (await import('koa')).default;
    const app = new Koa();
    if (auth !== undefined) {
      const { httpAuth } = await import('@httpauth/koa');
      app.use(httpAuth(auth));
    }
    app.use((ctx) => {
      ctx.body = body(ctx.state.auth?.principal.name);
    });
    return createServer(tls, app.callback());
  }
  throw new Error(`unknown framework ${framework}`);
}

const server = await start();
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
process.on('SIGTERM', () => process.exit(0));
