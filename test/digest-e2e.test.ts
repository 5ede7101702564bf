/**
 * Digest end to end: real clients (Debian's curl, Python requests' HTTPDigestAuth, a small
 * hashlib client for auth-int) against real listening Express, Fastify and Koa servers on
 * 127.0.0.1, and the demo app itself.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import {
  createAuthenticator,
  digest,
  digestCallback,
  ntlm,
  smbpasswdFile,
  type Authenticator,
  type DigestAlgorithm,
  type DigestQop,
} from '@httpauth/core';
import { httpAuth as expressAuth } from '@httpauth/express';
import { httpAuth as fastifyAuth } from '@httpauth/fastify';
import { httpAuth as koaAuth } from '@httpauth/koa';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { demoRefusal, startDemo, stopDemo, type Demo } from './harness/demo.js';
import { chromiumDump, jsonFromDom } from './harness/chromium.js';
import { selfSignedCertificate } from './support/tls.js';
import {
  curl,
  digestParam,
  pythonAuthIntPost,
  pythonDigest,
  startPythonDigestSession,
} from './harness/http-clients.js';

const REALM = 'e2e@httpauth.test';
/** The demo app, found from this file so the test runs from any working directory. */
const DEMO_DIR = fileURLToPath(new URL('../examples/intranet-api/', import.meta.url));
const USERS: Record<string, string> = { alice: 'alicepw', bob: 'bobpw' };
const NONCE_LIFETIME_MS = 60_000;

/** What the server saw: every request's Authorization header and the status it got. */
interface Exchange {
  method: string;
  url: string;
  authorization: string | undefined;
  status: number;
}

interface Running {
  base: string;
  exchanges: Exchange[];
  /** Move the server's clock forward (nonce expiry without waiting). */
  advance(ms: number): void;
  close(): Promise<void>;
}

interface ServerConfig {
  algorithms?: DigestAlgorithm[];
  qop?: DigestQop[];
}

function authenticatorFor(config: ServerConfig, clock: { offset: number }): Authenticator {
  return createAuthenticator({
    packages: [
      digest({
        realm: REALM,
        algorithms: config.algorithms ?? ['SHA-256', 'MD5'],
        qop: config.qop ?? ['auth'],
        nonceLifetimeMs: NONCE_LIFETIME_MS,
        credentials: digestCallback((user) => {
          const password = USERS[user];
          return password === undefined ? undefined : { password };
        }),
      }),
    ],
    now: () => Date.now() + clock.offset,
  });
}

type Framework = 'express' | 'fastify' | 'koa';

/** What every app answers once authenticated: the principal and the body it received. */
function whoami(
  auth: { principal: { name: string; mechanism: string } } | undefined | null,
  body: unknown,
) {
  return { name: auth?.principal.name, mechanism: auth?.principal.mechanism, body };
}

async function startApp(framework: Framework, config: ServerConfig): Promise<Running> {
  const clock = { offset: 0 };
  const authenticator = authenticatorFor(config, clock);
  const integrityBody = config.qop?.includes('auth-int') === true;
  let server: Server;
  let stop: () => Promise<void>;
  if (framework === 'express') {
    const app = express();
    app.use(expressAuth(authenticator, { integrityBody }));
    app.all('/{*path}', (req, res) => {
      res.json(whoami(req.auth, req.rawBody?.toString('utf8') ?? null));
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    stop = () => closeServer(server);
  } else if (framework === 'fastify') {
    const app = Fastify();
    await app.register(fastifyAuth, { authenticator, integrityBody });
    app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    app.all('/*', async (request) => whoami(request.auth, request.body ?? null));
    await app.listen({ port: 0, host: '127.0.0.1' });
    server = app.server;
    stop = () => app.close();
  } else {
    const app = new Koa();
    app.use(koaAuth(authenticator, { integrityBody }));
    app.use((ctx) => {
      ctx.body = whoami(ctx.state.auth, ctx.state.rawBody?.toString('utf8') ?? null);
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    stop = () => closeServer(server);
  }
  const exchanges: Exchange[] = [];
  server.on('request', (req: IncomingMessage, res) => {
    res.once('finish', () => {
      exchanges.push({
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        status: res.statusCode,
      });
    });
  });
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exchanges,
    advance: (ms) => {
      clock.offset += ms;
    },
    close: async () => {
      await stop();
      await authenticator.close();
    },
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** The Authorization header of the last successful request the server saw. */
function lastAccepted(running: Running): string {
  const exchange = running.exchanges.filter((e) => e.status === 200).at(-1);
  const authorization = exchange?.authorization;
  if (authorization === undefined) assert.fail('no request with credentials was accepted');
  assert.match(authorization, /^Digest /);
  return authorization;
}

function errorCode(body: string): string {
  return (JSON.parse(body) as { error: string }).error;
}

for (const framework of ['express', 'fastify', 'koa'] as const) {
  describe(`Digest through ${framework} with real clients`, () => {
    let both: Running;
    let sha256: Running;
    let md5: Running;
    let authInt: Running;

    before(async () => {
      both = await startApp(framework, {});
      sha256 = await startApp(framework, { algorithms: ['SHA-256'] });
      md5 = await startApp(framework, { algorithms: ['MD5'] });
      authInt = await startApp(framework, { algorithms: ['SHA-256', 'MD5'], qop: ['auth-int'] });
    });
    after(async () => {
      await Promise.all([both, sha256, md5, authInt].map((r) => r?.close()));
    });

    test('the 401 offers SHA-256 then MD5, one WWW-Authenticate line each', async () => {
      const res = await curl([`${both.base}/whoami`]);
      assert.equal(res.status, 401);
      const challenges = res.headers.get('www-authenticate') ?? [];
      assert.equal(challenges.length, 2);
      assert.equal(digestParam(challenges[0] as string, 'algorithm'), 'SHA-256');
      assert.equal(digestParam(challenges[1] as string, 'algorithm'), 'MD5');
      assert.equal(digestParam(challenges[0] as string, 'realm'), REALM);
      assert.equal(errorCode(res.body), 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
    });

    test('curl --digest answers the SHA-256 challenge offered first', async () => {
      const res = await curl(['--digest', '-u', 'alice:alicepw', `${both.base}/whoami?x=1`]);
      assert.equal(res.status, 200);
      assert.deepEqual(JSON.parse(res.body), { name: 'alice', mechanism: 'Digest', body: null });
      assert.equal(digestParam(lastAccepted(both), 'algorithm'), 'SHA-256');
      const info = res.headers.get('authentication-info')?.[0] ?? '';
      assert.match(digestParam(info, 'rspauth') ?? '', /^[0-9a-f]{64}$/);
    });

    for (const [name, getServer, length] of [
      ['SHA-256', () => sha256, 64],
      ['MD5', () => md5, 32],
    ] as const) {
      test(`curl --digest with a server offering only ${name}`, async () => {
        const server = getServer();
        const res = await curl(['--digest', '-u', 'bob:bobpw', `${server.base}/whoami`]);
        assert.equal(res.status, 200);
        assert.equal(JSON.parse(res.body).name, 'bob');
        const accepted = lastAccepted(server);
        assert.equal(digestParam(accepted, 'algorithm'), name);
        assert.equal(digestParam(accepted, 'response')?.length, length);
      });

      test(`Python requests HTTPDigestAuth with a server offering only ${name}`, async () => {
        const server = getServer();
        const res = await pythonDigest(`${server.base}/whoami`, 'alice', 'alicepw');
        assert.equal(res.status, 200);
        assert.equal(JSON.parse(res.body).name, 'alice');
        assert.equal(digestParam(lastAccepted(server), 'algorithm'), name);
      });
    }

    test('Python requests HTTPDigestAuth against the two-challenge 401', async () => {
      const res = await pythonDigest(`${both.base}/data?q=a%20b`, 'bob', 'bobpw');
      assert.equal(res.status, 200);
      assert.equal(JSON.parse(res.body).name, 'bob');
    });

    test('Python requests HTTPDigestAuth POST with qop=auth', async () => {
      const res = await pythonDigest(`${both.base}/submit`, 'alice', 'alicepw', {
        method: 'POST',
        body: 'x=1',
      });
      assert.equal(res.status, 200);
      assert.equal(JSON.parse(res.body).name, 'alice');
    });

    test('wrong password and unknown user: the same 401, fresh challenges', async () => {
      const wrong = await curl(['--digest', '-u', 'alice:nope', `${both.base}/whoami`]);
      const unknown = await curl(['--digest', '-u', 'mallory:alicepw', `${both.base}/whoami`]);
      for (const res of [wrong, unknown]) {
        assert.equal(res.status, 401);
        assert.equal(errorCode(res.body), 'ERR_HTTPAUTH_BAD_CREDENTIALS');
        assert.equal(res.headers.get('www-authenticate')?.length, 2);
      }
      const python = await pythonDigest(`${both.base}/whoami`, 'alice', 'wrong');
      assert.equal(python.status, 401);
    });

    test('a replayed Authorization header (same nc) is refused', async () => {
      const ok = await curl(['--digest', '-u', 'alice:alicepw', `${both.base}/replay`]);
      assert.equal(ok.status, 200);
      const captured = lastAccepted(both);
      const replay = await curl(['-H', `Authorization: ${captured}`, `${both.base}/replay`]);
      assert.equal(replay.status, 401);
      assert.equal(errorCode(replay.body), 'ERR_HTTPAUTH_DIGEST_NC_REPLAY');
    });

    test('credentials for another uri get 400', async () => {
      const ok = await curl(['--digest', '-u', 'alice:alicepw', `${both.base}/one`]);
      assert.equal(ok.status, 200);
      const captured = lastAccepted(both);
      const moved = await curl(['-H', `Authorization: ${captured}`, `${both.base}/two`]);
      assert.equal(moved.status, 400);
      assert.equal(errorCode(moved.body), 'ERR_HTTPAUTH_DIGEST_URI_MISMATCH');
    });

    test('an expired nonce gets 401 with stale=true, and requests recovers from it', async () => {
      const session = startPythonDigestSession(`${sha256.base}/stale`, 'bob', 'bobpw');
      try {
        const first = await session.step();
        assert.equal(first.status, 200);
        const captured = lastAccepted(sha256);
        sha256.advance(NONCE_LIFETIME_MS + 1000);

        const replayed = await curl(['-H', `Authorization: ${captured}`, `${sha256.base}/stale`]);
        assert.equal(replayed.status, 401);
        assert.equal(errorCode(replayed.body), 'ERR_HTTPAUTH_DIGEST_NONCE_STALE');
        const challenge = replayed.headers.get('www-authenticate')?.[0] ?? '';
        assert.equal(digestParam(challenge, 'stale')?.toLowerCase(), 'true');

        // requests reuses its nonce with nc=2, sees stale=true and answers the new nonce.
        const seen = sha256.exchanges.length;
        const second = await session.step();
        assert.equal(second.status, 200);
        const statuses = sha256.exchanges.slice(seen).map((e) => e.status);
        assert.deepEqual(statuses, [401, 200]);
      } finally {
        await session.close();
      }
    });

    test('auth-int: curl hashes an empty body, so its GET passes and its POST fails', async () => {
      const get = await curl(['--digest', '-u', 'alice:alicepw', `${authInt.base}/int`]);
      assert.equal(get.status, 200);
      assert.equal(digestParam(lastAccepted(authInt), 'qop'), 'auth-int');
      // curl's digest code hashes "" as the entity body whatever it sends (lib/vauth/digest.c),
      // so a body that is really checked cannot match.
      const post = await curl([
        '--digest',
        '-u',
        'alice:alicepw',
        '-d',
        'amount=10',
        `${authInt.base}/int`,
      ]);
      assert.equal(post.status, 401);
      assert.equal(errorCode(post.body), 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    });

    test('auth-int: a POST whose body hash is right passes and the app still gets the body', async () => {
      const body = '{"amount":10}';
      const res = await pythonAuthIntPost(`${authInt.base}/pay?id=7`, 'bob', 'bobpw', body);
      assert.equal(res.status, 200);
      assert.deepEqual(JSON.parse(res.body), { name: 'bob', mechanism: 'Digest', body });
      assert.equal(digestParam(lastAccepted(authInt), 'qop'), 'auth-int');
    });
  });
}

// --- HTTP/2 ----------------------------------------------------------------------------------

describe('Digest over HTTP/2 through Fastify (curl, TLS with ALPN h2)', () => {
  let app: { close(): Promise<unknown> } | undefined;
  let base = '';
  before(async () => {
    // TLS rather than h2c: curl 7.88 cannot reuse an h2c prior-knowledge connection for the
    // second leg of an auth exchange (curl/curl#10634, fixed in 8.0).
    const tls = selfSignedCertificate();
    const http2App = Fastify({
      http2: true,
      https: { key: tls.key, cert: tls.cert },
    });
    await http2App.register(fastifyAuth, {
      packages: [
        // NTLM authenticates a connection: offered over HTTP/2 too (as IIS does), its
        // credentials there get HTTP_1_1_REQUIRED (ntlm-http2-e2e); Digest is unaffected.
        ntlm({
          domain: 'DEMO',
          credentials: smbpasswdFile(join(DEMO_DIR, 'demo-users.smbpasswd')),
        }),
        digest({
          realm: REALM,
          credentials: digestCallback((user) => {
            const password = USERS[user];
            return password === undefined ? undefined : { password };
          }),
        }),
      ],
    });
    http2App.get('/whoami', async (request) => ({
      name: request.auth?.principal.name,
      httpVersion: request.raw.httpVersion,
    }));
    base = await http2App.listen({ port: 0, host: '127.0.0.1' });
    app = http2App;
  });
  after(async () => {
    await app?.close();
  });

  test('the 401 over HTTP/2 carries the Digest challenges, and NTLM', async () => {
    const res = await curl(['--http2', '-k', `${base}/whoami`]);
    assert.equal(res.status, 401);
    const challenges = res.headers.get('www-authenticate') ?? [];
    assert.deepEqual(
      challenges.filter((challenge) => !/^Digest /.test(challenge)),
      ['NTLM'],
    );
    assert.ok(challenges.filter((challenge) => /^Digest /.test(challenge)).length >= 2);
  });

  test('curl --digest authenticates over HTTP/2', async () => {
    const res = await curl(['--http2', '-k', '--digest', '-u', 'alice:alicepw', `${base}/whoami`]);
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { name: 'alice', httpVersion: '2.0' });
  });
});

// --- The demo app ---------------------------------------------------------------------------

/** The algorithms of the Digest challenges in a 401, in order (other schemes left out). */
function digestAlgorithms(res: { headers: Map<string, string[]> }): (string | undefined)[] {
  return (res.headers.get('www-authenticate') ?? [])
    .filter((challenge) => /^Digest /i.test(challenge))
    .map((challenge) => digestParam(challenge, 'algorithm'));
}

describe('the demo (examples/intranet-api)', () => {
  let demo: Demo | undefined;
  let htdigestDemo: Demo | undefined;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'httpauth-demo-'));
    const realm = 'htdigest realm';
    const ha1 = createHash('md5').update(`carol:${realm}:carolpw`).digest('hex');
    const file = join(dir, 'users.htdigest');
    await writeFile(file, `carol:${realm}:${ha1}\n`);
    demo = await startDemo({});
    htdigestDemo = await startDemo({ HTTPAUTH_REALM: realm, HTTPAUTH_DIGEST_FILE: file });
  });
  after(async () => {
    await Promise.all([stopDemo(demo), stopDemo(htdigestDemo)]);
    await rm(dir, { recursive: true, force: true });
  });

  test("the README's command: curl --digest -u alice:alicepw .../whoami", async () => {
    const res = await curl(['--digest', '-u', 'alice:alicepw', `${demo?.base}/whoami`]);
    assert.equal(res.status, 200);
    const body = JSON.parse(res.body);
    assert.equal(body.name, 'alice');
    assert.equal(body.user, 'alice');
    assert.equal(body.realm, 'httpauth-demo');
    assert.equal(body.mechanism, 'Digest');
    assert.equal(body.impersonation.level, 'identify');
  });

  test('the demo offers SHA-256 first and lists what to try at /', async () => {
    const challenged = await curl([`${demo?.base}/whoami`]);
    assert.equal(challenged.status, 401);
    const algorithms = digestAlgorithms(challenged);
    assert.equal(algorithms[0], 'SHA-256');
    const home = await curl([`${demo?.base}/`]);
    assert.equal(home.status, 200);
    assert.match(home.body, /curl --digest -u alice:alicepw/);
    const bob = await pythonDigest(`${demo?.base}/whoami`, 'bob', 'bobpw');
    assert.equal(JSON.parse(bob.body).name, 'bob');
  });

  test('a bad configuration stops the demo with a plain message and exit code 2', async () => {
    for (const [env, message] of [
      [{ PORT: 'eighty' }, /PORT must be a number/],
      [{ HTTPAUTH_REALM: 'elsewhere' }, /HTTPAUTH_DIGEST_FILE/],
      [
        { HTTPAUTH_NTLM_DC: 'winbind', HTTPAUTH_NTLM_MACHINE: 'WEB1$' },
        /leave HTTPAUTH_NTLM_MACHINE/,
      ],
      [{ HTTPAUTH_LDAP_URL: 'ldaps://dc1.example.test' }, /HTTPAUTH_LDAP_BIND_DN/],
    ] as const) {
      const { code, stderr } = await demoRefusal(env);
      assert.equal(code, 2);
      assert.match(stderr, message);
    }
  });

  test('with HTTPAUTH_DIGEST_FILE (htdigest) the demo offers MD5 only', async () => {
    const challenged = await curl([`${htdigestDemo?.base}/whoami`]);
    assert.equal(challenged.status, 401);
    const algorithms = digestAlgorithms(challenged);
    assert.deepEqual(algorithms, ['MD5']);
    const res = await curl(['--digest', '-u', 'carol:carolpw', `${htdigestDemo?.base}/whoami`]);
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).name, 'carol');
    const alice = await curl(['--digest', '-u', 'alice:alicepw', `${htdigestDemo?.base}/whoami`]);
    assert.equal(alice.status, 401);
  });

  test('HTTPAUTH_NTLM_DC=winbind offers NTLM through winbind, and nothing for the demo users', async () => {
    const winbindDemo = await startDemo({
      HTTPAUTH_NTLM_DC: 'winbind',
      HTTPAUTH_NTLM_DOMAIN: 'SAMDOM',
    });
    try {
      const home = await curl([`${winbindDemo.base}/`]);
      assert.match(home.body, /NTLM \(domain SAMDOM\) checked by this host's winbind/);
      assert.match(home.body, /Digest: no HTTPAUTH_DIGEST_FILE/);
      const challenged = await curl([`${winbindDemo.base}/whoami`]);
      const schemes = (challenged.headers.get('www-authenticate') ?? []).map(
        (c) => c.split(' ')[0],
      );
      assert.deepEqual(schemes, ['NTLM']);
    } finally {
      await stopDemo(winbindDemo);
    }
  });

  test('with a user file of its own the demo users stop for every mechanism', async () => {
    // A real Digest file must not leave alice/alicepw open through NTLM (the committed smbpasswd).
    const challenged = await curl([`${htdigestDemo?.base}/whoami`]);
    const schemes = (challenged.headers.get('www-authenticate') ?? []).map((c) => c.split(' ')[0]);
    assert.deepEqual(schemes, ['Digest']);
    const ntlmAlice = await curl(['--ntlm', '-u', 'alice:alicepw', `${htdigestDemo?.base}/whoami`]);
    assert.equal(ntlmAlice.status, 401);
    const home = await curl([`${htdigestDemo?.base}/`]);
    assert.match(home.body, /Not offered:\n {2}- Negotiate: no KRB5_KTNAME/);
    assert.match(home.body, /NTLM: no HTTPAUTH_NTLM_FILE \(the demo users are off/);
    // Chromium prefers NTLM to Digest: with NTLM off it logs on as the file's user with Digest.
    const chromeDir = await mkdtemp(join(tmpdir(), 'httpauth-chromium-'));
    try {
      const target = htdigestDemo!.base.replace('http://', 'http://carol:carolpw@');
      const who = jsonFromDom(await chromiumDump(chromeDir, `${target}/whoami`)) as {
        name: string;
        mechanism: string;
      };
      assert.equal(who.name, 'carol');
      assert.equal(who.mechanism, 'Digest');
    } finally {
      await rm(chromeDir, { recursive: true, force: true });
    }
  });
});
