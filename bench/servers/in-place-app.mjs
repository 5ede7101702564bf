// A benchmark target for the in-place suite (issue 16): the small JSON route behind node:http,
// Express or Fastify, with an NTLM-authenticated keep-alive connection, in four forms.
// Configuration is one JSON argument: { framework: 'node'|'express'|'fastify', variant }.
//   'noop'     the framework's one-middleware floor: sets a frozen auth object, nothing else
//   'adapter'  httpauth's own adapter (createHandler, @httpauth/express, @httpauth/fastify)
//   'once'     the same middleware form calling toAuthRequest() and authenticateNow() itself
//   'ten'      as 'once', with authenticateNow() asked ten times per request: the nine further
//              calls find the engine's code and data in the CPU's caches, the first does not
// Prints `{"port":N}` on stdout when it listens.
import { createServer } from 'node:http';
import { engineStep } from './engine-step.mjs';
import { serveForBench } from './serve.mjs';

const config = JSON.parse(process.argv[2]);
const USER = 'alice';
const PASSWORD = 'Wonderland1';
const FLOOR = Object.freeze({ principal: Object.freeze({ name: USER }) });
const body = (user) => ({ hello: 'world', user: user ?? null });

const core = await import('@httpauth/core');
const { ntowfv1 } = await import('@httpauth/core/wire');
const hash = ntowfv1(PASSWORD);
const options = {
  packages: [
    core.ntlm({
      domain: 'EXAMPLE',
      credentials: (user) => (user.toLowerCase() === USER ? hash : undefined),
    }),
  ],
};

/** A handshake leg's answer (401 and its challenge), in any framework: the raw response. */
function refuse(res, decision) {
  res.statusCode = decision.status;
  for (const [name, value] of decision.headers) res.appendHeader(name, value);
  res.end();
}

/** Call `go(decision)` now, or when the engine's promise settles. */
const settle = (decision, go) =>
  typeof decision.then === 'function' ? decision.then(go) : go(decision);

async function start() {
  const { framework, variant } = config;
  const times = variant === 'ten' ? 10 : 1;
  const step = variant === 'once' || variant === 'ten' ? engineStep(options, times) : undefined;
  if (framework === 'node') {
    const send = (res, user) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body(user)));
    };
    if (variant === 'adapter') {
      const { createHandler } = await import('@httpauth/core/node');
      return createServer(
        createHandler(options, (req, res, auth) => send(res, auth.principal.name)),
      );
    }
    return createServer((req, res) => {
      if (step === undefined) {
        req.auth = FLOOR;
        return send(res, req.auth.principal.name);
      }
      settle(step(req), (decision) => {
        if (decision.type !== 'authenticated') return refuse(res, decision);
        req.auth = decision.auth;
        send(res, decision.auth.principal.name);
      });
    });
  }
  if (framework === 'express') {
    const express = (await import('express')).default;
    const app = express();
    if (variant === 'adapter') {
      const { httpAuth } = await import('@httpauth/express');
      app.use(httpAuth(options));
    } else if (step === undefined) {
      app.use((req, res, next) => {
        req.auth = FLOOR;
        next();
      });
    } else {
      app.use((req, res, next) => {
        settle(step(req, req.originalUrl), (decision) => {
          if (decision.type !== 'authenticated') return refuse(res, decision);
          req.auth = decision.auth;
          next();
        });
      });
    }
    app.get('/api', (req, res) => res.json(body(req.auth?.principal.name)));
    return createServer(app);
  }
  if (framework === 'fastify') {
    const Fastify = (await import('fastify')).default;
    let server;
    const app = Fastify({
      serverFactory: (handler) => {
        server = createServer(handler);
        return server;
      },
    });
    if (variant === 'adapter') {
      const { httpAuth } = await import('@httpauth/fastify');
      await app.register(httpAuth, options);
    } else {
      // The adapter's form: an onRequest hook with a callback, and a request decoration.
      app.decorateRequest('auth', null);
      app.addHook('onRequest', (request, reply, done) => {
        if (step === undefined) {
          request.auth = FLOOR;
          return done();
        }
        settle(step(request.raw, request.url), (decision) => {
          if (decision.type !== 'authenticated') {
            for (const [name, value] of decision.headers) reply.header(name, value);
            return reply.code(decision.status).send();
          }
          request.auth = decision.auth;
          done();
        });
      });
    }
    app.get('/api', async (request) => body(request.auth?.principal.name));
    await app.ready();
    return server;
  }
  throw new Error(`unknown framework ${framework}`);
}

serveForBench(await start());
