// core's createHandler (node:http) through the adapter contract suite (test/support), then what
// only the bare handler has: application errors, TLS certificate data, HTTP/2, a client that
// leaves mid-response, and the adapter-support functions on random request metadata.
import { strict as assert } from 'node:assert';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import {
  connect as http2Connect,
  constants as h2constants,
  createServer as createHttp2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { HttpAuthError } from '../src/errors.js';
import { createAuthenticator } from '../src/loop/authenticator.js';
import {
  createHandler,
  type AuthenticatedHandler,
  type MaybeAuthenticatedHandler,
  type NodeHandlerOptions,
} from '../src/node/index.js';
import {
  challengeResponse,
  resolveAdapterOptions,
  toAuthRequest,
  type NodeRequest,
} from '../src/adapter.js';
import fc from 'fast-check';
import {
  countingImpersonation,
  handshakePackage,
  tokenPackage,
  type Seen,
} from '../../../test/support/adapter-fakes.js';
import * as contract from '../../../test/support/adapter-contract.js';
import { send, sendHttp2 } from '../../../test/support/http-client.js';
import { selfSignedCertificate } from '../../../test/support/tls.js';

const echoRoute: AuthenticatedHandler = (req, res, auth) => {
  assert.equal(req.auth, auth);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ name: auth.principal.name, raw: req.rawBody?.length ?? null }));
};

const driver: contract.AdapterDriver = {
  name: 'node:http createHandler',
  createAuthenticator,
  mount: (source, options = {}) =>
    contract.listening(
      createServer(createHandler(source as never, echoRoute, options.adapter)),
      options.keepAliveTimeout,
    ),
  register: async (source, adapter) => {
    createHandler(source as never, () => {}, adapter);
  },
};

/** The contract's seams in createHandler's form: `unless` on the path, `onRefused` answering text. */
function seamOptions(seams: contract.SeamSpec): NodeHandlerOptions {
  const { onRefused } = seams;
  return {
    ...contract.commonSeams(
      seams,
      (req: IncomingMessage) => new URL(req.url ?? '/', 'http://x').pathname,
    ),
    ...(onRefused !== undefined && {
      onRefused: (error, _req, res) => {
        onRefused(error.code, error.status);
        res.setHeader('content-type', 'text/plain; charset=utf-8');
        res.end(`no: ${error.code}`);
      },
    }),
  };
}

const seamDriver: contract.SeamDriver = {
  ...driver,
  mount: (source, options = {}) => {
    const seams = options.seams ?? {};
    const route: MaybeAuthenticatedHandler = (req, res, auth) => {
      assert.equal(req.auth, auth);
      res.setHeader('content-type', 'application/json');
      const fields = { auth } as Record<string, unknown>;
      res.end(JSON.stringify(contract.routeEcho(seams, fields, req.rawBody?.length ?? null)));
    };
    const handler = createHandler(source as never, route, {
      ...options.adapter,
      ...seamOptions(seams),
    });
    return contract.listening(createServer(handler), options.keepAliveTimeout);
  },
  registerSeams: async (packages, seams) => {
    createHandler({ packages }, () => {}, seams as NodeHandlerOptions);
  },
  lacks: ['passErrors', 'property'],
};

contract.adapterContract(driver);
contract.seamsContract(seamDriver);

function close(server: { close(cb: () => void): unknown; closeAllConnections?: () => void }) {
  return new Promise<void>((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

describe('createHandler only', () => {
  test('a throwing onRefused becomes a bare 500 reported to onError, never the route', async () => {
    const errors: unknown[] = [];
    const handler = createHandler(
      { packages: [tokenPackage()] },
      () => assert.fail('the route must not run for a refusal'),
      {
        onRefused: () => {
          throw new Error('hook failure');
        },
        onError: (error) => errors.push(error),
      },
    );
    await contract.withMounted(contract.listening(createServer(handler)), async (base) => {
      const res = await send(`${base}/`);
      assert.equal(res.status, 500);
      assert.doesNotMatch(res.body, /hook failure/);
      assert.equal((errors[0] as Error).message, 'hook failure');
    });
  });

  test('an application error becomes a bare 500', async () => {
    const failing = createHandler({ packages: [tokenPackage()] }, () => {
      throw new Error('application failure');
    });
    await contract.withMounted(contract.listening(createServer(failing)), async (base) => {
      const res = await send(`${base}/throw`, { headers: { authorization: 'Token good-alice' } });
      assert.equal(res.status, 500);
      assert.doesNotMatch(res.body, /application failure/);
    });
  });

  test('a handler that is not a function is refused at creation', () => {
    const valid = createAuthenticator({ packages: [tokenPackage()] });
    assert.throws(
      () => (createHandler as (...a: unknown[]) => unknown)(valid, 'not a function'),
      (error: unknown) =>
        error instanceof HttpAuthError && error.code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
    );
  });

  test('TLS: secure is set and the server certificate DER is passed on', async () => {
    const { key, cert, der } = selfSignedCertificate();
    const seen: Seen = { requests: [] };
    const server = createHttpsServer(
      { key, cert },
      createHandler({ packages: [tokenPackage(seen)] }, (_req, res) => res.end('ok')),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port,
            path: '/',
            rejectUnauthorized: false,
            headers: { authorization: 'Token good-tls' },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 200);
      const seenRequest = seen.requests[0];
      assert.equal(seenRequest?.secure, true);
      assert.deepEqual(seenRequest?.localCertificate, der);
    } finally {
      await close(server);
    }
  });

  for (const withHook of [false, true]) {
    test(`HTTP/2: connection-bound schemes offered, their credentials reset with HTTP_1_1_REQUIRED${withHook ? ' (also with onRefused)' : ''}`, async () => {
      const refusals: string[] = [];
      const onRefused: NodeHandlerOptions<Http2ServerRequest, Http2ServerResponse>['onRefused'] = (
        error,
        _req,
        res,
      ) => {
        refusals.push(error.code);
        res.end(`no: ${error.code}`);
      };
      const server = createHttp2Server(
        createHandler<Http2ServerRequest, Http2ServerResponse>(
          { packages: [tokenPackage(), handshakePackage()] },
          (_req, res, auth) => res.end(auth.principal.name),
          withHook ? { onRefused } : {},
        ),
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const session = http2Connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      try {
        const challenged = await sendHttp2(session, {});
        assert.equal(challenged.status, 401);
        // The client joins repeated fields with ", "; split on the scheme names.
        assert.deepEqual(challenged.challenge.split(/, (?=Token|Hand)/), [
          'Token realm="one"',
          'Token realm="two"',
          'Hand',
        ]);
        // RFC 9113 §8.2.3: no response, the stream is reset and the client retries on HTTP/1.1.
        const refused = await sendHttp2(session, { authorization: 'Hand one' });
        assert.equal(refused.status, 0);
        assert.equal(refused.rstCode, h2constants.NGHTTP2_HTTP_1_1_REQUIRED);
        const ok = await sendHttp2(session, { authorization: 'Token good-h2' });
        assert.equal(ok.status, 200);
        assert.equal(ok.body, 'h2');
        // The reset is no refusal for the hook: only the first, challenged request reached it.
        assert.deepEqual(refusals, withHook ? ['ERR_HTTPAUTH_CREDENTIALS_REQUIRED'] : []);
      } finally {
        session.close();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  }

  test('dispose runs when the client goes away before the response ends', async () => {
    const impersonation = countingImpersonation();
    let release: () => void = () => {};
    const server = createServer(
      createHandler(
        { packages: [tokenPackage()], impersonation: impersonation.factory },
        (_req, res) => {
          res.write('partial');
          release();
        },
      ),
    );
    const base = await listen(server);
    try {
      const started = new Promise<void>((resolve) => (release = resolve));
      const req = httpRequest(`${base}/`, { headers: { authorization: 'Token good-z' } });
      req.on('error', () => {});
      req.end();
      await started;
      assert.equal(impersonation.state.disposed, 0);
      req.destroy();
      await contract.waitFor(() => impersonation.state.disposed === 1);
      assert.equal(impersonation.state.created, 1);
    } finally {
      await close(server);
    }
  });
});

describe('adapter support on random request metadata', () => {
  test('toAuthRequest and challengeResponse never throw on any header values', () => {
    const options = resolveAdapterOptions({ trustProxy: true });
    const text = fc.string({ maxLength: 40 });
    const maybe = fc.option(fc.oneof(text, fc.array(text, { maxLength: 3 })), { nil: undefined });
    fc.assert(
      fc.property(
        fc.record({
          'content-length': fc.option(fc.oneof(text, fc.nat().map(String)), { nil: undefined }),
          'transfer-encoding': fc.option(text, { nil: undefined }),
          'x-forwarded-proto': maybe,
          authorization: fc.option(text, { nil: undefined }),
        }),
        fc.constantFrom(1, 2),
        fc.boolean(),
        (headers, httpVersionMajor, complete) => {
          const fake = {
            method: 'POST',
            url: '/x',
            headers,
            headersDistinct: {},
            httpVersionMajor,
            complete,
            socket: { once: () => {} },
          } as unknown as NodeRequest;
          const request = toAuthRequest(fake, options);
          assert.equal(typeof request.secure, 'boolean');
          const response = challengeResponse(
            fake,
            {
              type: 'respond',
              scheme: undefined,
              status: 401,
              headers: [['www-authenticate', 'Token']],
              error: new HttpAuthError('ERR_HTTPAUTH_CREDENTIALS_REQUIRED'),
            },
            options,
          );
          assert.equal(response.status, 401);
          // HTTP/2 forbids the Connection header; it is only ever set on HTTP/1.x.
          if (httpVersionMajor === 2) assert.equal(response.closeConnection, false);
        },
      ),
      { numRuns: 500 },
    );
  });
});
