/**
 * `fastify.httpAuth` under @fastify/auth, next to a second (JWT-like bearer) strategy, driven by
 * real curl: `--ntlm` (a connection-bound, multi-leg handshake whose challenge leg must reach the
 * client although another strategy ran after it) and `--digest` (whose first 401 must carry the
 * Digest challenge), in `or` and `and` relations.
 */
import * as assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fastifyAuth from '@fastify/auth';
import { digest, digestCallback, ntlm, smbpasswdFile } from '@httpauth/core';
import { ntowfv1 } from '@httpauth/core/wire';
import { httpAuth } from '@httpauth/fastify';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { curl } from './harness/http-clients.js';
import { scratchDir } from './harness/ntlm-clients.js';

const PASSWORD = 'Wonderland-1';
const REALM = 'fastify-auth@httpauth.test';

/** A trivial JWT stand-in: one accepted bearer token, read from `header`. */
function bearer(header: string, token: string) {
  return async (request: FastifyRequest): Promise<void> => {
    if (request.headers[header] !== `Bearer ${token}`) {
      throw Object.assign(new Error('invalid token'), { statusCode: 401 });
    }
    (request as FastifyRequest & { jwtUser?: string }).jwtUser = 'jwt-user';
  };
}

function who(request: FastifyRequest) {
  return {
    name: request.auth?.principal.name ?? null,
    jwt: (request as FastifyRequest & { jwtUser?: string }).jwtUser ?? null,
  };
}

describe('@fastify/auth with fastify.httpAuth (real curl)', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let app: FastifyInstance;
  let base: string;

  before(async () => {
    dir = await scratchDir('fastify-auth-e2e-');
    const smbpasswd = join(dir.path, 'smbpasswd');
    const hash = ntowfv1(PASSWORD).toString('hex').toUpperCase();
    await writeFile(
      smbpasswd,
      `alice:1000:${'X'.repeat(32)}:${hash}:[U          ]:LCT-66000000:\n`,
    );
    app = Fastify();
    await app.register(fastifyAuth);
    await app.register(httpAuth, {
      packages: [
        ntlm({ domain: 'EXAMPLE', credentials: smbpasswdFile(smbpasswd) }),
        digest({
          realm: REALM,
          credentials: digestCallback((user) =>
            user === 'alice' ? { password: PASSWORD } : undefined,
          ),
        }),
      ],
      decorate: true,
    });
    const jwt = bearer('authorization', 'good-jwt');
    const apiToken = bearer('x-api-token', 'good-key');
    app.get('/or', { preHandler: app.auth([app.httpAuth, jwt]) }, async (r) => who(r));
    app.get('/or-jwt-first', { preHandler: app.auth([jwt, app.httpAuth]) }, async (r) => who(r));
    app.get(
      '/and',
      { preHandler: app.auth([app.httpAuth, apiToken], { relation: 'and' }) },
      async (r) => who(r),
    );
    app.get('/public', async (r) => who(r));
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });

  after(async () => {
    app.server.closeAllConnections();
    await app.close();
    await dir?.cleanup();
  });

  test('no hook: routes without app.auth are not authenticated', async () => {
    const res = await curl([`${base}/public`]);
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { name: null, jwt: null });
  });

  test('or, nothing sent: 401 offering NTLM and Digest although the bearer check ran last', async () => {
    const res = await curl([`${base}/or`]);
    assert.equal(res.status, 401);
    const offers = res.headers.get('www-authenticate') ?? [];
    assert.ok(offers.includes('NTLM'), offers.join(' | '));
    assert.ok(
      offers.some((offer) => offer.startsWith('Digest ')),
      offers.join(' | '),
    );
  });

  for (const path of ['/or', '/or-jwt-first']) {
    test(`${path}: curl --ntlm completes its three legs`, async () => {
      const res = await curl(['--ntlm', '-u', `alice:${PASSWORD}`, `${base}${path}`]);
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(JSON.parse(res.body), { name: 'EXAMPLE\\alice', jwt: null });
    });

    test(`${path}: curl --digest answers the challenge`, async () => {
      const res = await curl(['--digest', '-u', `alice:${PASSWORD}`, `${base}${path}`]);
      assert.equal(res.status, 200, res.body);
      assert.equal(JSON.parse(res.body).name, 'alice');
    });

    test(`${path}: the bearer strategy alone lets the request through, without a challenge`, async () => {
      const res = await curl(['-H', 'Authorization: Bearer good-jwt', `${base}${path}`]);
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(JSON.parse(res.body), { name: null, jwt: 'jwt-user' });
      assert.equal(res.headers.get('www-authenticate'), undefined);
    });
  }

  test('or: a wrong NTLM password and a wrong bearer token are both refused', async () => {
    const ntlmWrong = await curl(['--ntlm', '-u', 'alice:nope', `${base}/or`]);
    assert.equal(ntlmWrong.status, 401);
    const jwtWrong = await curl(['-H', 'Authorization: Bearer forged', `${base}/or`]);
    assert.equal(jwtWrong.status, 401);
  });

  for (const [flag, name] of [
    ['--ntlm', 'EXAMPLE\\alice'],
    ['--digest', 'alice'],
  ] as const) {
    test(`and: curl ${flag} plus the API token gets through with both identities`, async () => {
      const res = await curl([
        flag,
        '-u',
        `alice:${PASSWORD}`,
        '-H',
        'X-Api-Token: Bearer good-key',
        `${base}/and`,
      ]);
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(JSON.parse(res.body), { name, jwt: 'jwt-user' });
    });
  }

  test('and: a completed NTLM handshake without the API token is refused', async () => {
    const res = await curl(['--ntlm', '-u', `alice:${PASSWORD}`, `${base}/and`]);
    assert.equal(res.status, 401);
    assert.match(res.body, /invalid token/);
  });

  test('and: the API token without Windows credentials gets the challenge', async () => {
    const res = await curl(['-H', 'X-Api-Token: Bearer good-key', `${base}/and`]);
    assert.equal(res.status, 401);
    assert.ok((res.headers.get('www-authenticate') ?? []).includes('NTLM'));
    assert.equal(JSON.parse(res.body).code, 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
  });
});
