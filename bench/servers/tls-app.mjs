// A benchmark target for client certificates (issue 17): the small JSON route of app.mjs over
// HTTPS, behind node:http's handler, Express, Fastify or Koa. Configuration is one JSON argument:
//   { framework: 'node'|'express'|'fastify'|'koa', auth: 'none'|'request'|'certificate'|...,
//     key, cert, ca, crlFiles }   (file paths)
// 'none' is TLS without client authentication (no CertificateRequest); 'request' asks for a
// client certificate in the handshake but runs no httpauth (what TLS client authentication costs
// by itself); 'certificate' asks for one and authenticates with clientCertificate() alone
// (packages: []), mapping by the SID extension. node:http only, the parts of the certificate row,
// each over 'request': 'translate' builds the engine's request (toAuthRequest) and nothing more;
// 'engine' also asks the authenticator (authenticateNow) without createHandler; 'engine-twice'
// asks it twice per request, so the second, warm call's cost shows beside the first's;
// 'minimal' is a hand-written kept-connection check (one WeakMap lookup per socket, the expiry,
// the identity objects made per request), what the smallest such check costs in place.
// Prints `{"port":N}` on stdout when it listens.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { serveForBench } from './serve.mjs';

const config = JSON.parse(process.argv[2]);
const body = (user) => ({ hello: 'world', user: user ?? null });

function tlsOptions() {
  const base = { key: readFileSync(config.key), cert: readFileSync(config.cert) };
  if (config.auth === 'none') return base;
  // The package decides (rejectUnauthorized: false), as docs/certificates.md sets it up.
  return { ...base, ca: readFileSync(config.ca), requestCert: true, rejectUnauthorized: false };
}

async function authenticatorOptions(always = false) {
  if (config.auth !== 'certificate' && !always) return undefined;
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

const SID_NAME = 'S-1-5-21-1-2-3-1104';

/** The decomposition's request listeners (node:http only), by `auth`. */
const PARTS = {
  async translate(send) {
    const { translateStep } = await import('./engine-step.mjs');
    const translate = translateStep();
    return (req, res) => {
      if (translate(req).tlsConnection === undefined) throw new Error('no TLS');
      send(res, SID_NAME);
    };
  },
  engine: (send) => engineListener(send, 1),
  'engine-twice': (send) => engineListener(send, 2),
  minimal(send) {
    const kept = new WeakMap();
    const noop = () => {};
    return (req, res) => {
      const socket = req.socket;
      let logon = kept.get(socket);
      if (logon === undefined) {
        const principal = { name: SID_NAME, userSid: SID_NAME, groupSids: [] };
        logon = { principal, validUntil: Date.now() + 3_600_000 };
        kept.set(socket, logon);
      }
      if (Date.now() >= logon.validUntil) throw new Error('expired');
      const { principal } = logon;
      const impersonation = {
        level: 'identify',
        principal,
        userSid: principal.userSid,
        groupSids: principal.groupSids,
        delegated: false,
        reason: 'disabled',
        needsDispose: false,
        spawn: noop,
        execFile: noop,
        access: noop,
        credentialCache: noop,
        dispose: noop,
        toJSON: noop,
      };
      const auth = { principal, impersonation, context: undefined };
      const decision = {
        type: 'authenticated',
        scheme: 'Certificate',
        reused: true,
        auth,
        headers: [],
      };
      req.auth = decision.auth;
      send(res, decision.auth.principal.name);
    };
  },
};

/** authenticateNow `times` times per request (the first logon of a connection waits once). */
async function engineListener(send, times) {
  const { engineStep } = await import('./engine-step.mjs');
  const step = engineStep(await authenticatorOptions(true), times);
  return (req, res) => {
    const decision = step(req);
    const answer = (made) => {
      if (made.type !== 'authenticated') throw new Error(made.type);
      req.auth = made.auth;
      send(res, made.auth.principal.name);
    };
    if (typeof decision.then === 'function') decision.then(answer);
    else answer(decision);
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
    if (config.auth in PARTS) return createServer(tls, await PARTS[config.auth](send));
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

serveForBench(await start());
