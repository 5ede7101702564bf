// @httpauth/express through the adapter contract suites (test/support), then what only Express
// has: body parsers mounted before the middleware, mounting on a path, the error-handler chain.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { describe, test } from 'node:test';
import { createAuthenticator, HttpAuthError } from '@httpauth/core';
import express, { type ErrorRequestHandler, type Express, type Request } from 'express';
import request from 'supertest';
import { httpAuth, type ExpressAdapterOptions } from '../src/index.js';
import { tokenPackage, type Seen } from '../../../test/support/adapter-fakes.js';
import * as contract from '../../../test/support/adapter-contract.js';

function seamOptions(seams: contract.SeamSpec): ExpressAdapterOptions {
  const { onRefused } = seams;
  return {
    ...contract.commonSeams(seams, (req: Request) => req.path),
    ...(onRefused !== undefined && {
      onRefused: (error, _req, res) => {
        onRefused(error.code, error.status);
        res.type('text/plain').send(`no: ${error.code}`);
      },
    }),
  };
}

// Four parameters: Express calls only such functions with errors.
const refusalHandler: ErrorRequestHandler = (
  error: HttpAuthError & { status: number },
  _req,
  res,
  _next,
) => {
  res.status(error.status).json({ mine: error.code, isHttpAuth: error instanceof HttpAuthError });
};

function appWith(source: contract.MountSource, options: contract.MountOptions = {}): Express {
  const seams = options.seams ?? {};
  const app = express();
  if (seams.foreignAuth === true) {
    app.use((req, _res, next) => {
      (req as unknown as Record<string, unknown>).auth = contract.FOREIGN_AUTH;
      next();
    });
  }
  app.use(httpAuth(source as never, { ...options.adapter, ...seamOptions(seams) }));
  app.all('/{*path}', (req, res) => {
    res.json(
      contract.routeEcho(
        seams,
        req as unknown as Record<string, unknown>,
        req.rawBody?.length ?? null,
      ),
    );
  });
  if (seams.errorHandler === true) app.use(refusalHandler);
  return app;
}

const driver: contract.SeamDriver = {
  name: 'Express',
  createAuthenticator,
  mount: (source, options = {}) =>
    contract.listening(createServer(appWith(source, options)), options.keepAliveTimeout),
  register: async (source, adapter) => {
    httpAuth(source as never, adapter as ExpressAdapterOptions);
  },
  registerSeams: async (packages, seams) => {
    httpAuth({ packages }, seams as ExpressAdapterOptions);
  },
};

contract.adapterContract(driver);
contract.seamsContract(driver);

describe('httpAuth for Express only', () => {
  test('a body parser mounted before the middleware leaves no body to hash: fail closed', async () => {
    const early = express();
    early.use(express.text());
    early.use(httpAuth({ packages: [tokenPackage()], integrityBody: true }));
    early.post('/x', (req, res) => res.json({ name: req.auth?.principal.name }));
    const body = 'parsed too early';
    const digest = createHash('sha256').update(body).digest('hex');
    const res = await request(early)
      .post('/x')
      .set('Authorization', `Token body-${digest}`)
      .set('Content-Type', 'text/plain')
      .send(body);
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'ERR_HTTPAUTH_BODY_UNREADABLE');
  });

  test('the target is the URL as received when mounted on a path', async () => {
    const mountedSeen: Seen = { requests: [] };
    const mounted = express();
    mounted.use('/api', httpAuth({ packages: [tokenPackage(mountedSeen)] }));
    mounted.get('/api/x', (req, res) => res.json({ name: req.auth?.principal.name }));
    const res = await request(mounted).get('/api/x?q=1').set('Authorization', 'Token good-m');
    assert.equal(res.status, 200);
    assert.equal(mountedSeen.requests[0]?.target, '/api/x?q=1');
  });

  test('an existing authenticator is passed with separate adapter options and exposed', () => {
    const authenticator = createAuthenticator({ packages: [tokenPackage()] });
    const middleware = httpAuth(authenticator, { trustProxy: true });
    assert.equal(middleware.authenticator, authenticator);
  });

  test('a throwing onRefused goes to the error handler', async () => {
    const app = express();
    app.use(
      httpAuth(
        { packages: [tokenPackage()] },
        {
          onRefused: () => {
            throw new Error('hook failed');
          },
        },
      ),
    );
    app.get('/', (_req, res) => res.send('reached'));
    const handler: ErrorRequestHandler = (error: Error, _req, res, _next) => {
      res.status(500).send(`handled: ${error.message}`);
    };
    app.use(handler);
    const res = await request(app).get('/');
    assert.equal(res.status, 500);
    assert.equal(res.text, 'handled: hook failed');
  });
});
