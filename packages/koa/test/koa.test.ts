// @httpauth/koa through the adapter contract suites (test/support); Koa has nothing the
// contract does not cover but its error-handling middleware, which the driver installs.
import { createServer } from 'node:http';
import { createAuthenticator, HttpAuthError } from '@httpauth/core';
import Koa from 'koa';
import { httpAuth, type KoaAdapterOptions, type RefusalError } from '../src/index.js';
import * as contract from '../../../test/support/adapter-contract.js';

function seamOptions(seams: contract.SeamSpec): KoaAdapterOptions {
  const { onRefused } = seams;
  return {
    ...contract.commonSeams(seams, (ctx: Koa.Context) => ctx.path),
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

function appWith(source: contract.MountSource, options: contract.MountOptions = {}): Koa {
  const seams = options.seams ?? {};
  const app = new Koa();
  // Koa logs every error it handles; the throwing-predicate scenario makes one on purpose.
  app.silent = true;
  if (seams.errorHandler === true) app.use(refusalCatcher);
  if (seams.foreignAuth === true) {
    app.use(async (ctx, next) => {
      ctx.state.auth = contract.FOREIGN_AUTH;
      await next();
    });
  }
  app.use(httpAuth(source as never, { ...options.adapter, ...seamOptions(seams) }));
  app.use((ctx) => {
    const state = ctx.state as Record<string, unknown>;
    ctx.body = contract.routeEcho(
      seams,
      state,
      (state.rawBody as Buffer | undefined)?.length ?? null,
    );
  });
  return app;
}

const driver: contract.SeamDriver = {
  name: 'Koa',
  createAuthenticator,
  mount: (source, options = {}) =>
    contract.listening(createServer(appWith(source, options).callback()), options.keepAliveTimeout),
  register: async (source, adapter) => {
    httpAuth(source as never, adapter as KoaAdapterOptions);
  },
  registerSeams: async (packages, seams) => {
    httpAuth({ packages }, seams as KoaAdapterOptions);
  },
  // Koa answers an exposed error (status < 500) with its message as plain text.
  frameworkErrorBody: (refusal) => refusal.message,
};

contract.adapterContract(driver);
contract.seamsContract(driver);
