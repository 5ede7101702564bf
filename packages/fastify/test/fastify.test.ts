// @httpauth/fastify through the adapter contract suites (test/support), then what only Fastify
// has: per-route opt-out, the parsed body after auth-int, the authenticator closed with the app,
// HTTP/2, the decorate form's options, and random credentials through inject().
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { connect as http2Connect, constants as h2constants } from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { createAuthenticator, digest, digestCallback, HttpAuthError } from '@httpauth/core';
import fc from 'fast-check';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { httpAuth, type HttpAuthPluginOptions, type RefusalError } from '../src/index.js';
import { handshakePackage, tokenPackage } from '../../../test/support/adapter-fakes.js';
import * as contract from '../../../test/support/adapter-contract.js';
import { sendHttp2 } from '../../../test/support/http-client.js';

function seamOptions(seams: contract.SeamSpec): HttpAuthPluginOptions {
  const { onRefused } = seams;
  return {
    ...contract.commonSeams(seams, (request: FastifyRequest) => request.url),
    ...(onRefused !== undefined && {
      onRefused: async (error, _request, reply) => {
        onRefused(error.code, error.statusCode);
        await reply.type('text/plain').send(`no: ${error.code}`);
      },
    }),
  };
}

/** The plugin takes a ready authenticator under `authenticator`, or its options inline. */
function pluginSource(source: unknown): HttpAuthPluginOptions {
  const ready =
    typeof source === 'object' &&
    source !== null &&
    typeof (source as { authenticate?: unknown }).authenticate === 'function';
  return ready
    ? { authenticator: source as HttpAuthPluginOptions['authenticator'] }
    : (source as HttpAuthPluginOptions);
}

async function appWith(
  source: contract.MountSource,
  options: contract.MountOptions = {},
): Promise<FastifyInstance> {
  const seams = options.seams ?? {};
  const app = Fastify({
    ...(options.keepAliveTimeout !== undefined && { keepAliveTimeout: options.keepAliveTimeout }),
  });
  if (seams.foreignAuth === true) {
    app.addHook('onRequest', async (request) => {
      (request as unknown as Record<string, unknown>).auth = contract.FOREIGN_AUTH;
    });
  }
  if (seams.errorHandler === true) {
    app.setErrorHandler(async (error: RefusalError, _request, reply) => {
      const isHttpAuth = error instanceof HttpAuthError;
      return reply.code(error.statusCode).send({ mine: error.code, isHttpAuth });
    });
  }
  await app.register(httpAuth, {
    ...pluginSource(source),
    ...options.adapter,
    ...seamOptions(seams),
  });
  app.get('/opted-out', { config: { httpauth: false } }, async (request) => ({
    auth: request.auth,
  }));
  app.all('/*', async (request) => {
    const raw = typeof request.body === 'string' ? Buffer.byteLength(request.body) : null;
    return contract.routeEcho(seams, request as unknown as Record<string, unknown>, raw);
  });
  await app.ready();
  return app;
}

async function register(options: HttpAuthPluginOptions): Promise<void> {
  const app = Fastify();
  try {
    await app.register(httpAuth, options);
    await app.ready();
  } finally {
    await app.close().catch(() => undefined);
  }
}

const driver: contract.SeamDriver = {
  name: 'Fastify',
  createAuthenticator,
  mount: async (source, options = {}) => {
    const app = await appWith(source, options);
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    return {
      base,
      close: async () => {
        app.server.closeAllConnections();
        await app.close();
      },
    };
  },
  register: (source, adapter) => register({ ...pluginSource(source), ...adapter }),
  registerSeams: (packages, seams) => register({ packages, ...(seams as object) }),
};

contract.adapterContract(driver);
contract.seamsContract(driver);

describe('httpAuth for Fastify only', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await appWith({ packages: [tokenPackage(), handshakePackage()] });
  });
  after(() => app.close());

  test('per-route opt-out with config: { httpauth: false }', async () => {
    const res = await app.inject({ url: '/opted-out' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { auth: null });
  });

  test('integrityBody: after the package hashed it, the route still gets the parsed JSON', async () => {
    const integrity = await appWith(
      { packages: [tokenPackage()] },
      { adapter: { integrityBody: true } },
    );
    try {
      const payload = JSON.stringify({ amount: 42 });
      const hash = createHash('sha256').update(payload).digest('hex');
      const post = (authorization: string) =>
        integrity.inject({
          method: 'POST',
          url: '/pay',
          payload,
          headers: { authorization, 'content-type': 'application/json' },
        });
      const ok = await post(`Token body-${hash}`);
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.json().name, 'body');
      // The route echoes only string bodies' lengths: a parsed object means JSON was parsed.
      assert.equal(ok.json().raw, null);
      const echoed = await integrity.inject({
        method: 'POST',
        url: '/pay',
        payload,
        headers: { authorization: `Token body-${hash}`, 'content-type': 'text/plain' },
      });
      assert.equal(echoed.json().raw, payload.length);
    } finally {
      await integrity.close();
    }
  });

  test('options only the plugin form has are validated at registration', async () => {
    const valid = createAuthenticator({ packages: [tokenPackage()] });
    const cases: HttpAuthPluginOptions[] = [
      {},
      { authenticator: valid, packages: [tokenPackage()] },
      { packages: [tokenPackage()], decorate: 'yes' as never },
      { packages: [tokenPackage()], decorate: true, integrityBody: true },
      { packages: [tokenPackage()], decorate: true, onRefused: () => undefined },
      { packages: [tokenPackage()], decorate: true, unless: () => false },
    ];
    for (const options of cases) {
      await assert.rejects(
        () => register(options),
        (error: unknown) => (error as HttpAuthError).code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
        JSON.stringify(options),
      );
    }
  });

  test('an authenticator built from options is closed with the app', async () => {
    let closed = 0;
    const store = {
      add: async () => true,
      get: async () => undefined,
      compareAndSet: async () => true,
      advance: async () => true,
      delete: async () => {},
      close: async () => {
        closed++;
      },
    };
    const owned = await appWith({ packages: [tokenPackage()], store });
    await owned.close();
    assert.equal(closed, 1);
  });

  test('an onRefused that sends nothing still gets the default JSON refusal', async () => {
    const quiet = await appWith({ packages: [tokenPackage()], onRefused: () => undefined });
    try {
      const res = await quiet.inject({ url: '/' });
      assert.equal(res.statusCode, 401);
      assert.equal(res.json().error, 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
    } finally {
      await quiet.close();
    }
  });
});

describe("httpAuth for Fastify logs to Fastify's own logger by default", () => {
  test('request.log gets the refusal (warn) and the success (info), with the reqId; logger: false is quiet', async () => {
    for (const [pluginLogger, expected] of [
      [undefined, ['warn', 'info']],
      [false, []],
    ] as const) {
      const lines: Record<string, unknown>[] = [];
      const stream = { write: (line: string) => lines.push(JSON.parse(line)) };
      const app = Fastify({ logger: { level: 'info', stream } });
      await app.register(httpAuth, {
        packages: [tokenPackage()],
        ...(pluginLogger === undefined ? {} : { logger: pluginLogger }),
      });
      app.get('/', async () => 'ok');
      try {
        await app.inject({ url: '/', headers: { authorization: 'Token bad' } });
        await app.inject({ url: '/', headers: { authorization: 'Token good-alice' } });
      } finally {
        await app.close();
      }
      const ours = lines.filter((l) => String(l.msg).startsWith('httpauth:'));
      // pino levels: 30 info, 40 warn.
      assert.deepEqual(
        ours.map((l) => (l.level === 40 ? 'warn' : l.level === 30 ? 'info' : l.level)),
        expected,
      );
      if (ours.length > 0) {
        assert.equal(ours[0]!.code, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
        assert.equal(ours[0]!.scheme, 'Token');
        assert.ok(ours[0]!.reqId !== undefined, "a child of the request's logger");
        assert.equal(ours[1]!.name, 'alice');
      }
    }
  });
});

describe('httpAuth for Fastify over HTTP/2', () => {
  test('connection-bound schemes offered; their credentials reset with HTTP_1_1_REQUIRED', async () => {
    const h2app = Fastify({ http2: true });
    await h2app.register(httpAuth, { packages: [tokenPackage(), handshakePackage()] });
    h2app.get('/', async (request) => ({ name: request.auth?.principal.name }));
    const session = http2Connect(await h2app.listen({ port: 0, host: '127.0.0.1' }));
    try {
      const challenged = await sendHttp2(session, {});
      assert.equal(challenged.status, 401);
      assert.equal(challenged.challenge, 'Token realm="one", Token realm="two", Hand');
      // RFC 9113 §8.2.3: no response, the stream is reset and the client retries on HTTP/1.1.
      const refused = await sendHttp2(session, { authorization: 'Hand one' });
      assert.equal(refused.status, 0);
      assert.equal(refused.rstCode, h2constants.NGHTTP2_HTTP_1_1_REQUIRED);
      const ok = await sendHttp2(session, { authorization: 'Token good-h2' });
      assert.equal(ok.status, 200);
      assert.equal(JSON.parse(ok.body).name, 'h2');
    } finally {
      session.close();
      await h2app.close();
    }
  });
});

describe('httpAuth for Fastify with random credentials', () => {
  test('random and mutated Authorization headers get 400 or 401 with a code, never a 500', async () => {
    const app = await appWith({
      packages: [
        digest({
          realm: 'prop',
          credentials: digestCallback((user) =>
            user === 'alice' ? { password: 'pw' } : undefined,
          ),
          qop: ['auth', 'auth-int'],
        }),
        tokenPackage(),
      ],
      integrityBody: { maxBytes: 1024 },
    });
    // Header values Node accepts: visible ASCII, spaces and tabs.
    const headerText = fc.stringMatching(/^[\x20-\x7e\t]{0,300}$/);
    const digestParams = fc
      .array(
        fc.tuple(
          fc.constantFrom(
            'username',
            'realm',
            'nonce',
            'uri',
            'response',
            'qop',
            'nc',
            'cnonce',
            'algorithm',
            'opaque',
            'userhash',
            'username*',
            'charset',
            'x',
          ),
          fc.oneof(
            headerText.map((v) => `"${v.replace(/["\\]/g, '')}"`),
            fc.stringMatching(/^[A-Za-z0-9=*'%-]{0,40}$/),
          ),
        ),
        { maxLength: 14 },
      )
      .map((pairs) => 'Digest ' + pairs.map(([k, v]) => `${k}=${v}`).join(', '));
    const header = fc.oneof(
      headerText,
      digestParams,
      headerText.map((v) => `Token ${v}`),
    );
    try {
      await fc.assert(
        fc.asyncProperty(header, fc.constantFrom('GET', 'POST'), async (authorization, method) => {
          const res = await app.inject({
            method,
            url: '/p',
            headers: { authorization },
            ...(method === 'POST'
              ? { payload: 'body', headers: { authorization, 'content-type': 'text/plain' } }
              : {}),
          });
          if (res.statusCode === 200) return; // "Token good-..." can legitimately pass
          assert.ok([400, 401].includes(res.statusCode), `status ${res.statusCode}`);
          const code = res.json().error as string;
          assert.match(code, /^ERR_HTTPAUTH_[A-Z0-9_]+$/);
          assert.notEqual(code, 'ERR_HTTPAUTH_INTERNAL');
        }),
        { numRuns: 400 },
      );
    } finally {
      await app.close();
    }
  });
});
