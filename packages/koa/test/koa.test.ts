// @httpauth/koa through the adapter contract suites (test/support); Koa has nothing the
// contract does not cover but its error-handling middleware, which the driver installs.
import { createServer } from 'node:http';
import { createAuthenticator, HttpAuthError } from '@httpauth/core';
import Koa from 'koa';
import { httpAuth, type KoaAdapterOptions, type RefusalError } from '../src/index.js';
import { adapterContract } from '../../../test/support/adapter-contract.js';
import { seamsContract } from '../../../test/support/adapter-seams-contract.js';
import {
  commonSeams,
  FOREIGN_AUTH,
  listening,
  routeEcho,
  type MountOptions,
  type MountSource,
  type SeamDriver,
  type SeamSpec,
} from '../../../test/support/adapter-driver.js';

function seamOptions(seams: SeamSpec): KoaAdapterOptions {
  const { onRefused } = seams;
  return {
    ...commonSeams(seams, (ctx: Koa.Context) => ctx.path),
    ...(onRefused !== undefined && {
      onRefused: (error, ctx) => {
        onRefused(error.code, error.status);
        ctx.body = `no: ${error.code}`;
      },
    }),
  };
}

/** Error-handling middleware: Koa's form of an error handler, mounted before the adapter. */
const refusalCatcher: Koa.Middleware = async (ctx, next) => {
  try {
    await next();
  } catch (error) {
    const refusal = error as RefusalError;
    const challenges = refusal.headers['www-authenticate'];
    ctx.status = refusal.status;
    ctx.set(
      'www-authenticate',
      typeof challenges === 'string' ? challenges : [...(challenges ?? [])],
    );
    ctx.body = { mine: refusal.code, isHttpAuth: error instanceof HttpAuthError };
  }
};

function appWith(source: MountSource, options: MountOptions = {}): Koa {
  const seams = options.seams ?? {};
  const app = new Koa();
  // Koa logs every error it handles; the throwing-predicate scenario makes one on purpose.
  app.silent = true;
  if (seams.errorHandler === true) app.use(refusalCatcher);
  if (seams.foreignAuth === true) {
    app.use(async (ctx, next) => {
      ctx.state.auth = FOREIGN_AUTH;
      await next();
    });
  }
  app.use(httpAuth(source as never, { ...options.adapter, ...seamOptions(seams) }));
  app.use((ctx) => {
    const state = ctx.state as Record<string, unknown>;
    ctx.body = routeEcho(seams, state, (state.rawBody as Buffer | undefined)?.length ?? null);
  });
  return app;
}

const driver: SeamDriver = {
  name: 'Koa',
  createAuthenticator,
  mount: (source, options = {}) =>
    listening(createServer(appWith(source, options).callback()), options.keepAliveTimeout),
  register: async (source, adapter) => {
    httpAuth(source as never, adapter as KoaAdapterOptions);
  },
  registerSeams: async (packages, seams) => {
    httpAuth({ packages }, seams as KoaAdapterOptions);
  },
  // Koa answers an exposed error (status < 500) with its message as plain text.
  frameworkErrorBody: (refusal) => refusal.message,
};

adapterContract(driver);
seamsContract(driver);
