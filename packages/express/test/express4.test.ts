// The same middleware on Express 4 (installed as the `express4` alias).
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import express4 from 'express4';
import request from 'supertest';
import { httpAuth } from '../src/index.js';
import {
  countingImpersonation,
  tokenPackage,
  type Seen,
} from '../../../test/support/adapter-fakes.js';

describe('httpAuth on Express 4', () => {
  test('challenge, success with req.auth, mounted target, proxy mode', async () => {
    const seen: Seen = { requests: [] };
    const impersonation = countingImpersonation();
    const app = express4();
    app.use(
      '/api',
      httpAuth({ packages: [tokenPackage(seen)], impersonation: impersonation.factory }),
    );
    app.get('/api/me', (req, res) => {
      res.json({ name: req.auth?.principal.name });
    });

    const challenged = await request(app).get('/api/me');
    assert.equal(challenged.status, 401);
    assert.equal(challenged.body.error, 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
    const raw = (challenged as unknown as { res: { rawHeaders: string[] } }).res.rawHeaders;
    assert.equal(raw.filter((name) => name.toLowerCase() === 'www-authenticate').length, 2);

    const ok = await request(app).get('/api/me?x=1').set('Authorization', 'Token good-e4');
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { name: 'e4' });
    assert.equal(ok.headers['authentication-info'], 'user=e4');
    assert.equal(seen.requests.at(-1)?.target, '/api/me?x=1');
    assert.equal(impersonation.state.created, 1);

    const malformed = await request(app).get('/api/me').set('Authorization', 'Token "x');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error, 'ERR_HTTPAUTH_HEADER_MALFORMED');

    const proxy = express4();
    proxy.use(httpAuth({ packages: [tokenPackage()], proxy: true }));
    proxy.get('/', (req, res) => {
      res.send(req.auth?.principal.name);
    });
    assert.equal((await request(proxy).get('/')).status, 407);
    const viaProxy = await request(proxy).get('/').set('Proxy-Authorization', 'Token good-p4');
    assert.equal(viaProxy.status, 200);
    assert.equal(viaProxy.text, 'p4');
  });
});
