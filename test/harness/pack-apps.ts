/**
 * The throwaway consumer apps of test/pack-install.test.ts, as a user would write them against the
 * published packages: plain JavaScript (ESM and CommonJS) run by Node, and a TypeScript file
 * type-checked under each `moduleResolution`. Each server prints `{"port":N}` once it listens on
 * 127.0.0.1 and answers GET /whoami with the authenticated principal.
 */

export const USER = 'alice';
export const PASSWORD = 'alicepw';
export const REALM = 'pack@httpauth.test';

/** Digest with one user, built from the public API only (no files, no workspace paths). */
const DIGEST_PACKAGES = `[
  digest({
    realm: ${JSON.stringify(REALM)},
    credentials: digestCallback((user) =>
      user === ${JSON.stringify(USER)} ? { password: ${JSON.stringify(PASSWORD)} } : undefined,
    ),
  }),
]`;

const WHOAMI = (auth: string, app: string) =>
  `({ name: ${auth}.principal.name, mechanism: ${auth}.principal.mechanism, app: ${JSON.stringify(app)} })`;

export const APPS: Record<string, string> = {
  'express-esm.mjs': `
import express from 'express';
import { digest, digestCallback } from '@httpauth/core';
import { httpAuth } from '@httpauth/express';

const app = express();
app.use(httpAuth({ packages: ${DIGEST_PACKAGES} }));
app.get('/whoami', (req, res) => res.json(${WHOAMI('req.auth', 'express-esm')}));
const server = app.listen(0, '127.0.0.1', () =>
  console.log(JSON.stringify({ port: server.address().port })),
);
`,
  // CommonJS: Node >= 20.19 loads the ES modules of the packages from require().
  'express-cjs.cjs': `
const express = require('express');
const { digest, digestCallback } = require('@httpauth/core');
const { httpAuth } = require('@httpauth/express');

const app = express();
app.use(httpAuth({ packages: ${DIGEST_PACKAGES} }));
app.get('/whoami', (req, res) => res.json(${WHOAMI('req.auth', 'express-cjs')}));
const server = app.listen(0, '127.0.0.1', () =>
  console.log(JSON.stringify({ port: server.address().port })),
);
`,
  'fastify.mjs': `
import Fastify from 'fastify';
import { digest, digestCallback } from '@httpauth/core';
import { httpAuth } from '@httpauth/fastify';

const app = Fastify();
await app.register(httpAuth, { packages: ${DIGEST_PACKAGES} });
app.get('/whoami', async (request) => ${WHOAMI('request.auth', 'fastify')});
await app.listen({ port: 0, host: '127.0.0.1' });
console.log(JSON.stringify({ port: app.server.address().port }));
`,
  'koa.mjs': `
import Koa from 'koa';
import { digest, digestCallback } from '@httpauth/core';
import { httpAuth } from '@httpauth/koa';

const app = new Koa();
app.use(httpAuth({ packages: ${DIGEST_PACKAGES} }));
app.use((ctx) => {
  ctx.body = ${WHOAMI('ctx.state.auth', 'koa')};
});
const server = app.listen(0, '127.0.0.1', () =>
  console.log(JSON.stringify({ port: server.address().port })),
);
`,
  // Every entry point of every package, from both module systems: what each exports at run time.
  'exports.cjs': `
const names = {
  '@httpauth/core': ['createAuthenticator', 'digest', 'negotiate', 'ntlm', 'basic', 'HttpAuthError'],
  '@httpauth/core/node': ['createHandler'],
  '@httpauth/core/adapter': ['toAuthRequest', 'challengeResponse', 'resolveSeams'],
  '@httpauth/core/wire': ['decodeNegTokenInit', 'ntowfv1', 'parseCredentials'],
  '@httpauth/express': ['httpAuth'],
  '@httpauth/fastify': ['httpAuth'],
  '@httpauth/koa': ['httpAuth'],
  '@httpauth/redis': ['RedisStore'],
  '@httpauth/gateway': ['createGateway', 'loadConfig'],
  '@httpauth/passport': ['HttpAuthStrategy'],
};
const seen = {};
(async () => {
  for (const [specifier, exported] of Object.entries(names)) {
    const required = require(specifier);
    const imported = await import(specifier);
    for (const name of exported) {
      seen[specifier + ' ' + name] = [typeof required[name], typeof imported[name]];
    }
  }
  console.log(JSON.stringify(seen));
})();
`,
};

/**
 * The TypeScript consumer. Each `@ts-expect-error` fails the check if the types it guards are
 * missing or `any` (an unused directive is an error), so a resolution mode that silently loses
 * the types cannot pass.
 */
export const CONSUMER_TS = `
import { createAuthenticator, digest, digestCallback, type Authenticator } from '@httpauth/core';
import { createHandler } from '@httpauth/core/node';
import { toAuthRequest, type ResolvedAdapterOptions } from '@httpauth/core/adapter';
import { ntowfv1, type NegTokenInit } from '@httpauth/core/wire';
import { httpAuth as expressAuth } from '@httpauth/express';
import { httpAuth as fastifyAuth } from '@httpauth/fastify';
import { httpAuth as koaAuth, type HttpAuthState } from '@httpauth/koa';
import { RedisStore } from '@httpauth/redis';
import { createGateway, type GatewayConfig } from '@httpauth/gateway';
import { HttpAuthStrategy } from '@httpauth/passport';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';

export const authenticator: Authenticator = createAuthenticator({ packages: ${DIGEST_PACKAGES} });

const app = express();
app.use(expressAuth(authenticator));
app.get('/whoami', (req, res) => {
  const name: string | undefined = req.auth?.principal.name;
  // @ts-expect-error: the Express request augmentation is typed, not any
  const missing = req.auth?.principal.noSuchField;
  res.json({ name, missing });
});

const fastify = Fastify();
void fastify.register(fastifyAuth, { authenticator });
fastify.get('/whoami', async (request) => {
  // @ts-expect-error: the Fastify request decoration is typed
  const missing = request.auth?.principal.noSuchField;
  return { name: request.auth?.principal.name, missing };
});

const koa = new Koa<HttpAuthState>();
koa.use(koaAuth(authenticator));
koa.use((ctx) => {
  const name: string | undefined = ctx.state.auth?.principal.name;
  // @ts-expect-error: the Koa state is typed
  const missing = ctx.state.auth?.principal.noSuchField;
  ctx.body = { name, missing };
});

export const handler = createHandler(authenticator, (_req, res, auth) => res.end(auth.principal.name));
// @ts-expect-error: createHandler's callback is typed
export const wrong = createHandler(authenticator, (_req, _res, auth: number) => auth);
// The ./adapter and ./wire subpaths resolve, with their types, under every moduleResolution.
export const translate = (req: Parameters<typeof toAuthRequest>[0], options: ResolvedAdapterOptions) =>
  toAuthRequest(req, options).method;
// @ts-expect-error: ntowfv1 takes a password string
export const badHash = ntowfv1(42);
// @ts-expect-error: the wire message types are typed, not any
export const badToken = ({} as NegTokenInit).noSuchField;
export const store = (url: string) => new RedisStore({ url });
export const gateway = (config: GatewayConfig) => createGateway(config, { store: store('redis://x') });
// @ts-expect-error: createGateway's options are typed
export const badGateway = (config: GatewayConfig) => createGateway(config, { store: 42 });
// @ts-expect-error: RedisStore's options are typed
export const badStore = new RedisStore({ url: 6379 });
// With @types/passport loaded (it declares Express.AuthInfo), req.auth above keeps its type.
export const strategy = new HttpAuthStrategy(authenticator, (principal, done) =>
  done(null, { id: principal.name }),
);
// @ts-expect-error: the verify callback's principal is typed
export const badStrategy = new HttpAuthStrategy(authenticator, (principal) => principal.noSuchField);
`;

/**
 * A CommonJS TypeScript file (.cts): `import` compiles to `require()`, which TypeScript >= 5.8
 * allows for ES modules under `module: nodenext` (Node's require(esm)).
 */
export const CONSUMER_CTS = `
import { createAuthenticator, digest, digestCallback } from '@httpauth/core';
import { httpAuth } from '@httpauth/express';
import express = require('express');

const app = express();
app.use(httpAuth(createAuthenticator({ packages: ${DIGEST_PACKAGES} })));
app.get('/whoami', (req, res) => {
  // @ts-expect-error: typed from CommonJS too
  const missing = req.auth?.principal.noSuchField;
  res.json({ name: req.auth?.principal.name, missing });
});
export = app;
`;

/** One tsconfig per resolution mode the README promises. */
export const RESOLUTIONS: Record<string, { module: string; moduleResolution: string }> = {
  node16: { module: 'node16', moduleResolution: 'node16' },
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext' },
  bundler: { module: 'esnext', moduleResolution: 'bundler' },
  node10: { module: 'commonjs', moduleResolution: 'node10' },
};

export function tsconfigFor(mode: keyof typeof RESOLUTIONS): string {
  return JSON.stringify({
    compilerOptions: {
      ...RESOLUTIONS[mode],
      target: 'es2022',
      lib: ['es2023'],
      strict: true,
      noEmit: true,
      esModuleInterop: true,
      // As most apps run: with false, @types/koa 3.0.3 itself fails against the content-disposition
      // 2 that Express 5 hoists. A type lost to an unresolved import in our .d.ts files still fails
      // the check, through the consumer's @ts-expect-error lines.
      skipLibCheck: true,
      types: ['node'],
    },
    files: mode === 'nodenext' ? ['consumer.ts', 'consumer-cjs.cts'] : ['consumer.ts'],
  });
}
