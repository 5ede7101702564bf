/**
 * Servers for test/ad-ntlm-e2e.test.ts: one /whoami app per framework (Fastify, Koa, node:http
 * createHandler), an echo upstream for the gateway, and the demo started from source.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createHandler } from '@httpauth/core/node';
import type { AuthInfo, SecurityPackage } from '@httpauth/core';
import { httpAuth as fastifyAuth } from '@httpauth/fastify';
import { httpAuth as koaAuth } from '@httpauth/koa';
import Fastify from 'fastify';
import Koa from 'koa';
import { listen } from './listen.js';

export type Framework = 'fastify' | 'koa' | 'node:http';

export interface App {
  readonly base: string;
  close(): Promise<void>;
}

/** What every app answers: the principal's name, SIDs and mechanism. */
export function whoami(auth: AuthInfo | undefined): Record<string, unknown> {
  const p = auth?.principal;
  return {
    name: p?.name,
    mechanism: p?.mechanism,
    userSid: p?.userSid,
    groupSids: p?.groupSids,
    mic: (auth?.context as { micVerified?: boolean } | undefined)?.micVerified === true,
  };
}

async function listenHttp(server: Server): Promise<App> {
  const { url, close } = await listen(server);
  return { base: url, close };
}

export async function startApp(framework: Framework, packages: SecurityPackage[]): Promise<App> {
  if (framework === 'fastify') {
    const app = Fastify();
    await app.register(fastifyAuth, { packages });
    app.get('/whoami', async (request) => whoami(request.auth ?? undefined));
    await app.listen({ port: 0, host: '127.0.0.1' });
    return {
      base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
      close: () => app.close(),
    };
  }
  if (framework === 'koa') {
    const app = new Koa();
    app.use(koaAuth({ packages }));
    app.use((ctx) => {
      ctx.body = whoami(ctx.state.auth);
    });
    return listenHttp(createServer(app.callback()));
  }
  return listenHttp(
    createServer(
      createHandler({ packages }, (_req, res, auth) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(whoami(auth)));
      }),
    ),
  );
}

/** Upstream for the gateway: answers with the headers it received. */
export function startEcho(): Promise<App & { port: number }> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ headers: req.headers }));
  });
  return listenHttp(server).then((app) => ({ ...app, port: Number(new URL(app.base).port) }));
}
