/**
 * Impersonation end to end (run as root, as CI does):
 *
 *  1. Through Express, Fastify and Koa with Digest (curl as the client): real local users made
 *     with useradd (unique prefix, removed in `after`), files with different owners and modes;
 *     the child's `id`, permitted and denied reads, access checks agreeing with the OS (asked
 *     independently through runuser), uid 0 refused, unlisted and unmapped principals refused,
 *     and the authorize() middleware answering 403.
 *  2. Delegation with a throwaway MIT realm: python3-gssapi forwards a TGT in its AP-REQ; the
 *     server's ccache is listed by `klist -c` and `kvno` gets a ticket for another service as the
 *     user, from a child running as the user; the file is gone after the response.
 *     python3-gssapi with the krb5 mech sends a raw krb5 GSS token, which the Negotiate package
 *     accepts as well as SPNEGO.
 *  3. The delegation example (examples/delegation) with curl --negotiate --delegation always: the
 *     front service calls a downstream service as the client.
 */
import { strict as assert } from 'node:assert';
import { execFile, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  constants,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import {
  MemoryStore,
  actingContext,
  createImpersonation,
  digest,
  digestCallback,
  isHttpAuthError,
  negotiate,
  requireUser,
  statusForKind,
  type AuthInfo,
  type ImpersonationFactoryWithResources,
  type SecurityPackage,
} from '@httpauth/core';
import { decodeCcache, encodeCcache } from '@httpauth/core/wire';
import { authorize as expressAuthorize, httpAuth as expressAuth } from '@httpauth/express';
import {
  authorize as fastifyAuthorize,
  httpAuth as fastifyAuth,
  httpAuthAuthorization,
} from '@httpauth/fastify';
import { authorize as koaAuthorize, httpAuth as koaAuth } from '@httpauth/koa';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { curl, PYTHON } from './harness/http-clients.js';
import { startMitKdc, type MitKdc } from './harness/mit-kdc.js';

const prefix = `hi${process.pid.toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
const ALICE = `${prefix}a`; // allowlisted, in the shared group
const BOB = `${prefix}b`; // allowlisted
const CAROL = `${prefix}c`; // exists locally, not allowlisted
const SHARED = `${prefix}g`;
const PASSWORDS: Record<string, string> = {
  [ALICE]: 'alice-pw',
  [BOB]: 'bob-pw',
  [CAROL]: 'carol-pw',
  rootalias: 'root-pw', // mapped to root: refused whatever the list says
  [`${prefix}nobody`]: 'x-pw', // maps to no local user
};
const REALM = 'impersonation@httpauth.test';
const dir = mkdtempSync(join(tmpdir(), 'httpauth-impersonation-e2e-'));
const created = { users: [] as string[], groups: [] as string[] };

/**
 * Run a system command; useradd/groupadd/userdel fail while another process (a concurrent test
 * file) holds the /etc/passwd lock, so those failures are retried for a while.
 */
function run(command: string, args: string[]): string {
  for (let attempt = 0; ; attempt++) {
    const result = spawnSync(command, args, { encoding: 'utf8' });
    if (result.status === 0) return result.stdout;
    if (attempt < 200 && /lock/i.test(result.stderr ?? '')) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      continue;
    }
    throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
  }
}
const uidOf = (user: string): number => Number(run('id', ['-u', user]).trim());
const gidOf = (group: string): number => Number(run('getent', ['group', group]).split(':')[2]);
const osAllows = (user: string, flag: string, path: string): boolean =>
  spawnSync('runuser', ['-u', user, '--', 'test', flag, path]).status === 0;

before(() => {
  assert.equal(process.getuid?.(), 0, 'impersonation tests create users: run as root (CI does)');
  run('groupadd', [SHARED]);
  created.groups.push(SHARED);
  run('useradd', ['-M', '-U', '-s', '/bin/sh', '-G', SHARED, ALICE]);
  created.users.push(ALICE);
  for (const user of [BOB, CAROL]) {
    run('useradd', ['-M', '-U', '-s', '/bin/sh', user]);
    created.users.push(user);
  }
  chmodSync(dir, 0o755);
  const files: Array<[string, string, string, number]> = [
    ['alice-private', ALICE, ALICE, 0o600],
    ['shared-group', 'root', SHARED, 0o640],
    ['public', 'root', 'root', 0o644],
    ['root-only', 'root', 'root', 0o600],
  ];
  for (const [name, owner, group, mode] of files) {
    const path = join(dir, name);
    writeFileSync(path, `${name}\n`);
    chownSync(path, uidOf(owner), gidOf(group));
    chmodSync(path, mode);
  }
});

function attempt(action: () => unknown): void {
  try {
    action();
  } catch {
    // Cleanup goes on with the next item.
  }
}

after(() => {
  for (const user of created.users) attempt(() => run('userdel', [user]));
  for (const group of created.groups) attempt(() => run('groupdel', [group]));
  rmSync(dir, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------------------------
// The application: the same routes on every framework.

interface Reply {
  status: number;
  body: unknown;
}

/** The route logic, framework-free: acting as the user through the impersonation context. */
async function route(path: string, query: URLSearchParams, auth: AuthInfo): Promise<Reply> {
  const context = auth.impersonation;
  try {
    switch (path) {
      case '/whoami':
        return {
          status: 200,
          body: { name: auth.principal.name, impersonation: context.toJSON() },
        };
      case '/id': {
        const { stdout } = await actingContext(context).execFile('id');
        return { status: 200, body: { id: stdout.trim() } };
      }
      case '/read': {
        const file = join(dir, query.get('file') ?? '');
        try {
          const { stdout } = await actingContext(context).execFile('cat', ['--', file]);
          return { status: 200, body: { content: stdout } };
        } catch (error) {
          if (isHttpAuthError(error)) throw error;
          return { status: 403, body: { error: 'EACCES' } };
        }
      }
      case '/access': {
        const modes: Record<string, number> = {
          r: constants.R_OK,
          w: constants.W_OK,
          x: constants.X_OK,
        };
        const file = join(dir, query.get('file') ?? '');
        const allowed = await actingContext(context).access(file, modes[query.get('mode') ?? 'r']);
        return { status: 200, body: { allowed } };
      }
      case '/admin':
      case '/admin-config':
        return { status: 200, body: { admin: auth.principal.name } };
      default:
        return { status: 404, body: {} };
    }
  } catch (error) {
    if (!isHttpAuthError(error)) throw error;
    return { status: statusForKind(error.kind), body: { error: error.code } };
  }
}

function packages(): SecurityPackage[] {
  return [
    digest({
      realm: REALM,
      credentials: digestCallback((user) => {
        const password = PASSWORDS[user];
        return password === undefined ? undefined : { password };
      }),
    }),
  ];
}

function policy(): ImpersonationFactoryWithResources {
  return createImpersonation({
    allow: { principals: [ALICE, BOB, 'rootalias'] },
    mapping: { map: { rootalias: 'root' } },
  });
}

const adminOnly = requireUser(ALICE);

interface Running {
  name: string;
  base: string;
  close(): Promise<void>;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

async function startExpress(): Promise<Running> {
  const app = express();
  app.use(expressAuth({ packages: packages(), impersonation: policy() }));
  app.get('/admin', expressAuthorize(adminOnly));
  app.use((req, res, next) => {
    const url = new URL(req.originalUrl, 'http://x');
    route(url.pathname, url.searchParams, req.auth as AuthInfo).then(
      (reply) => res.status(reply.status).json(reply.body),
      next,
    );
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    name: 'express',
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => closeServer(server),
  };
}

async function startFastify(): Promise<Running> {
  const app = Fastify();
  await app.register(fastifyAuth, { packages: packages(), impersonation: policy() });
  await app.register(httpAuthAuthorization);
  const handler = async (
    request: { url: string; auth: AuthInfo | null },
    reply: { code(n: number): { send(b: unknown): unknown } },
  ) => {
    const url = new URL(request.url, 'http://x');
    const answer = await route(url.pathname, url.searchParams, request.auth as AuthInfo);
    return reply.code(answer.status).send(answer.body);
  };
  // One route through the preHandler, one through the config route option.
  app.get('/admin', { preHandler: fastifyAuthorize(adminOnly) }, handler);
  app.get('/admin-config', { config: { authorize: adminOnly } }, handler);
  app.get('/*', handler);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  return { name: 'fastify', base: `http://127.0.0.1:${port}`, close: () => app.close() };
}

async function startKoa(): Promise<Running> {
  const app = new Koa();
  app.use(koaAuth({ packages: packages(), impersonation: policy() }));
  const guard = koaAuthorize(adminOnly);
  app.use(async (ctx, next) => {
    if (ctx.path === '/admin') await guard(ctx, next);
    else await next();
  });
  app.use(async (ctx) => {
    if (ctx.status === 403) return;
    const answer = await route(
      ctx.path,
      new URLSearchParams(ctx.querystring),
      ctx.state.auth as AuthInfo,
    );
    ctx.status = answer.status;
    ctx.body = answer.body;
  });
  const server = app.listen(0, '127.0.0.1');
  const base = await new Promise<string>((resolve) =>
    server.once('listening', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
  return { name: 'koa', base, close: () => closeServer(server) };
}

async function get(
  base: string,
  path: string,
  user: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const result = await curl(['--digest', '-u', `${user}:${PASSWORDS[user]}`, `${base}${path}`]);
  return {
    status: result.status,
    body: result.body === '' ? {} : (JSON.parse(result.body) as Record<string, unknown>),
  };
}

for (const start of [startExpress, startFastify, startKoa]) {
  describe(`impersonation through ${start.name.replace('start', '')}`, () => {
    let server: Running;
    before(async () => {
      server = await start();
    });
    after(async () => server.close());

    test("the child's id shows the user's uid, gid and groups", async () => {
      const answer = await get(server.base, '/id', ALICE);
      assert.equal(answer.status, 200);
      assert.equal(answer.body.id, run('id', [ALICE]).trim());
      const whoami = await get(server.base, '/whoami', ALICE);
      const impersonation = whoami.body.impersonation as Record<string, unknown>;
      assert.equal(impersonation.level, 'impersonate');
      assert.equal(impersonation.uid, uidOf(ALICE));
      assert.equal(impersonation.gid, gidOf(ALICE));
      assert.deepEqual(
        [...(impersonation.groups as number[])].sort(),
        run('id', ['-G', ALICE]).trim().split(' ').map(Number).sort(),
      );
      assert.equal(impersonation.delegated, false);
    });

    test('permitted and denied reads are the OS decision', async () => {
      assert.deepEqual(await get(server.base, '/read?file=alice-private', ALICE), {
        status: 200,
        body: { content: 'alice-private\n' },
      });
      assert.equal((await get(server.base, '/read?file=alice-private', BOB)).status, 403);
      assert.equal((await get(server.base, '/read?file=shared-group', ALICE)).status, 200);
      assert.equal((await get(server.base, '/read?file=shared-group', BOB)).status, 403);
      assert.equal((await get(server.base, '/read?file=root-only', ALICE)).status, 403);
      assert.equal((await get(server.base, '/read?file=public', BOB)).status, 200);
    });

    test('the access check agrees with the OS', async () => {
      for (const user of [ALICE, BOB]) {
        for (const file of ['alice-private', 'shared-group', 'public', 'root-only']) {
          for (const mode of ['r', 'w', 'x']) {
            const answer = await get(server.base, `/access?file=${file}&mode=${mode}`, user);
            assert.equal(answer.status, 200);
            assert.equal(
              answer.body.allowed,
              osAllows(user, `-${mode}`, join(dir, file)),
              `${user} ${mode} ${file}`,
            );
          }
        }
      }
    });

    test('uid 0 is refused even when listed', async () => {
      const answer = await get(server.base, '/id', 'rootalias');
      assert.deepEqual(answer, {
        status: 403,
        body: { error: 'ERR_HTTPAUTH_IMPERSONATION_DENIED' },
      });
      const whoami = await get(server.base, '/whoami', 'rootalias');
      assert.deepEqual(whoami.body.impersonation, { level: 'identify', reason: 'system-account' });
    });

    test('an unlisted principal is refused, an unmapped one says so, identify still works', async () => {
      const unlisted = await get(server.base, '/id', CAROL);
      assert.deepEqual(unlisted, {
        status: 403,
        body: { error: 'ERR_HTTPAUTH_IMPERSONATION_DENIED' },
      });
      const unmapped = await get(server.base, '/id', `${prefix}nobody`);
      assert.deepEqual(unmapped, {
        status: 403,
        body: { error: 'ERR_HTTPAUTH_IMPERSONATION_UNMAPPED' },
      });
      const whoami = await get(server.base, '/whoami', CAROL);
      assert.equal(whoami.status, 200);
      assert.equal(whoami.body.name, CAROL);
    });

    test('authorize() answers 403 FORBIDDEN without a new challenge', async () => {
      const paths = server.name === 'fastify' ? ['/admin', '/admin-config'] : ['/admin'];
      for (const path of paths) {
        assert.deepEqual(await get(server.base, path, ALICE), {
          status: 200,
          body: { admin: ALICE },
        });
        const denied = await curl([
          '--digest',
          '-u',
          `${BOB}:${PASSWORDS[BOB]}`,
          `${server.base}${path}`,
        ]);
        assert.equal(denied.status, 403, path);
        assert.equal(JSON.parse(denied.body).error, 'ERR_HTTPAUTH_FORBIDDEN');
        assert.equal(denied.headers.get('www-authenticate'), undefined, 'no new challenge');
        // The same client without credentials does get a challenge: the check above can fail.
        const anonymous = await curl([`${server.base}${path}`]);
        assert.equal(anonymous.status, 401);
        assert.ok((anonymous.headers.get('www-authenticate') ?? []).length > 0);
      }
    });
  });
}

// ------------------------------------------------------------------------------------------------
// Delegation with a real MIT realm.

const PYTHON_DELEGATING_CLIENT = `
import base64, json, sys, urllib.request, urllib.error
import gssapi
url = sys.argv[1]
name = gssapi.Name('HTTP@localhost', gssapi.NameType.hostbased_service)
flags = gssapi.RequirementFlag.delegate_to_peer | gssapi.RequirementFlag.mutual_authentication
ctx = gssapi.SecurityContext(name=name, mech=gssapi.MechType.kerberos, flags=flags, usage='initiate')
token = ctx.step()
request = urllib.request.Request(url, headers={'Authorization': 'Negotiate ' + base64.b64encode(token).decode()})
try:
    with urllib.request.urlopen(request, timeout=30) as response:
        print(json.dumps({'status': response.status, 'body': response.read().decode()}))
except urllib.error.HTTPError as error:
    print(json.dumps({'status': error.code, 'body': error.read().decode()}))
`;

function python(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, ['-c', script, ...args], { env, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`python client failed: ${stderr}`));
      else resolve(JSON.parse(stdout) as { status: number; body: string });
    });
  });
}

describe('delegation with an MIT realm', () => {
  let kdc: MitKdc;
  let server: Server;
  let backend: Server;
  let base: string;
  let factory: ImpersonationFactoryWithResources;
  const krbUser = `${prefix}k`;
  const confDir = mkdtempSync(join(tmpdir(), 'httpauth-impersonation-krb5-'));
  const seen: { ccache?: string; existedDuringRequest?: boolean } = {};

  before(async () => {
    run('useradd', ['-M', '-U', '-s', '/bin/sh', krbUser]);
    created.users.push(krbUser);
    kdc = await startMitKdc({
      principals: [
        { name: krbUser, password: 'krb-pw' },
        { name: 'HTTP/localhost' },
        { name: 'HTTP/downstream.test', keytab: false },
      ],
    });
    // The children run as the user, who cannot read the realm's private directory: give them a
    // readable copy of the client configuration.
    chmodSync(confDir, 0o755);
    const krb5Conf = join(confDir, 'krb5.conf');
    writeFileSync(krb5Conf, run('cat', [kdc.krb5Conf]));
    chmodSync(krb5Conf, 0o644);
    factory = createImpersonation({
      maxLevel: 'delegate',
      allow: { principals: [`${krbUser}@${kdc.realm}`] },
      ccacheDirectory: join(confDir, 'ccaches'),
    });
    const app = express();
    app.use(
      expressAuth({
        packages: [negotiate({ kerberos: { keytab: kdc.keytabPath }, kerberosOnly: true })],
        impersonation: factory,
        store: new MemoryStore(),
      }),
    );
    app.get('/delegate', (req, res, next) => {
      const context = actingContext((req.auth as AuthInfo).impersonation);
      const env = { KRB5_CONFIG: krb5Conf };
      (async () => {
        const ccache = context.credentialCache();
        seen.ccache = ccache;
        seen.existedDuringRequest = existsSync(ccache);
        const klist = await context.execFile('klist', ['-f'], { env });
        const kvno = await context.execFile('kvno', [`HTTP/downstream.test@${kdc.realm}`], { env });
        const after = await context.execFile('klist', [], { env });
        const id = await context.execFile('id', ['-un'], { env });
        res.json({
          impersonation: context.toJSON(),
          klist: klist.stdout,
          kvno: kvno.stdout,
          after: after.stdout,
          id: id.stdout.trim(),
        });
      })().catch(next);
    });
    // context.fetch() with the forwarded TGT: a TGS exchange at the user's realm (its KDC from
    // KRB5_CONFIG), then Negotiate to a backend that httpauth protects with HTTP/localhost's key.
    process.env.KRB5_CONFIG = krb5Conf;
    const backendApp = express();
    backendApp.use(
      expressAuth({
        packages: [negotiate({ kerberos: { keytab: kdc.keytabPath }, kerberosOnly: true })],
        store: new MemoryStore(),
      }),
    );
    backendApp.get('/who', (req, res) => {
      res.json({ backendSaw: (req.auth as AuthInfo).principal.name });
    });
    backend = backendApp.listen(0, '127.0.0.1');
    await new Promise((resolve) => backend.once('listening', resolve));
    const backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}/who`;
    app.get('/downstream', (req, res, next) => {
      const context = (req.auth as AuthInfo).impersonation;
      (async () => {
        const answer = await context.fetch!(backendUrl, { service: 'HTTP/localhost' });
        const elsewhere = await context.fetch!(backendUrl, {
          service: 'HTTP/localhost@OTHER.TEST',
        }).then(
          () => 'fetched',
          (error: { code?: string }) => error.code,
        );
        const ccache = await context.credentialCacheFor!('HTTP/downstream.test');
        res.json({
          status: answer.status,
          body: await answer.json(),
          elsewhere,
          klist: run('klist', ['-c', `FILE:${ccache}`]),
        });
      })().catch(next);
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    delete process.env.KRB5_CONFIG;
    await closeServer(server);
    await closeServer(backend);
    await factory.close();
    await kdc.stop();
    rmSync(confDir, { recursive: true, force: true });
  });

  test('our writer re-encodes a kinit ccache that klist lists and kvno -c uses', () => {
    const { ccache, env } = kdc.kinit(krbUser, 'krb-pw');
    const original = readFileSync(ccache);
    const decoded = decodeCcache(original);
    assert.deepEqual(encodeCcache(decoded), original, 'byte for byte');
    // Only the TGT, without kinit's configuration entries: a cache we wrote from scratch.
    const tgt = decoded.credentials.find((c) => c.server.components[0] === 'krbtgt');
    assert.ok(tgt !== undefined);
    const ours = join(confDir, 'rewritten.ccache');
    writeFileSync(
      ours,
      encodeCcache({ defaultPrincipal: decoded.defaultPrincipal, credentials: [tgt] }),
      {
        mode: 0o600,
      },
    );
    const listed = run('klist', ['-c', `FILE:${ours}`]);
    assert.match(listed, new RegExp(`Default principal: ${krbUser}@${kdc.realm}`));
    assert.match(listed, new RegExp(`krbtgt/${kdc.realm}@${kdc.realm}`));
    const kvno = spawnSync('kvno', ['-c', `FILE:${ours}`, `HTTP/downstream.test@${kdc.realm}`], {
      env: { ...env, KRB5CCNAME: 'FILE:/nonexistent' },
      encoding: 'utf8',
    });
    assert.equal(kvno.status, 0, kvno.stderr);
    assert.match(kvno.stdout, new RegExp(`HTTP/downstream.test@${kdc.realm}: kvno = \\d+`));
    assert.match(
      run('klist', ['-c', `FILE:${ours}`]),
      /HTTP\/downstream\.test/,
      'kvno stored its ticket',
    );
  });

  test('the forwarded TGT lands in a private ccache usable by klist and kvno as the user, removed after the response', async () => {
    const { env } = kdc.kinit(krbUser, 'krb-pw');
    const answer = await python(PYTHON_DELEGATING_CLIENT, [`${base}/delegate`], env);
    assert.equal(answer.status, 200, answer.body);
    const body = JSON.parse(answer.body) as {
      impersonation: Record<string, unknown>;
      klist: string;
      kvno: string;
      after: string;
      id: string;
    };
    assert.equal(body.impersonation.level, 'delegate');
    assert.equal(body.impersonation.delegated, true);
    assert.equal(body.id, krbUser);
    assert.match(body.klist, new RegExp(`Default principal: ${krbUser}@${kdc.realm}`));
    assert.match(body.klist, new RegExp(`krbtgt/${kdc.realm}@${kdc.realm}`));
    assert.match(body.klist, /Flags: [A-Za-z]*f/, 'a forwarded ticket');
    assert.match(body.kvno, new RegExp(`HTTP/downstream.test@${kdc.realm}: kvno = \\d+`));
    assert.match(
      body.after,
      /HTTP\/downstream\.test/,
      'kvno stored the service ticket in the ccache',
    );
    assert.equal(seen.existedDuringRequest, true);
    assert.ok(seen.ccache?.startsWith(join(confDir, 'ccaches')));
    // dispose() runs when the response finishes: poll (no fixed sleep) until the file is gone.
    const deadline = Date.now() + 10_000;
    while (existsSync(seen.ccache as string) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(existsSync(seen.ccache as string), false);
    assert.equal(factory.liveCredentialCaches, 0);
  });

  test('fetch() with the forwarded TGT: the backend sees the user, mutual authentication checked; another realm refused; credentialCacheFor holds the ticket', async () => {
    const { env } = kdc.kinit(krbUser, 'krb-pw');
    const answer = await python(PYTHON_DELEGATING_CLIENT, [`${base}/downstream`], env);
    assert.equal(answer.status, 200, answer.body);
    const body = JSON.parse(answer.body) as {
      status: number;
      body: { backendSaw: string };
      elsewhere: string;
      klist: string;
    };
    assert.equal(body.status, 200);
    assert.equal(body.body.backendSaw, `${krbUser}@${kdc.realm}`);
    assert.equal(body.elsewhere, 'ERR_HTTPAUTH_DELEGATION_REFUSED');
    assert.match(body.klist, new RegExp(`Default principal: ${krbUser}@${kdc.realm}`));
    assert.match(body.klist, new RegExp(`HTTP/downstream.test@${kdc.realm}`));
  });
});

// ------------------------------------------------------------------------------------------------
// The delegation example (examples/delegation) with the Negotiate package and curl as the client.

interface ExampleProcess {
  base: string;
  stop(): Promise<void>;
}

function startExample(env: NodeJS.ProcessEnv): Promise<ExampleProcess> {
  const script = fileURLToPath(new URL('../examples/delegation/server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  };
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const match = /listening on (http:\/\/[0-9.:]+)/.exec(line);
      if (match !== null)
        resolve({ base: (match[1] as string).replace('127.0.0.1', 'localhost'), stop });
    });
    child.once('exit', (code) => reject(new Error(`example exited (${code}): ${output}`)));
  });
}

describe('the delegation example: curl --negotiate --delegation always', () => {
  let kdc: MitKdc;
  let front: ExampleProcess;
  let downstream: ExampleProcess;
  const user = `${prefix}d`;
  const confDir = mkdtempSync(join(tmpdir(), 'httpauth-delegation-example-'));
  let clientEnv: NodeJS.ProcessEnv;

  before(async () => {
    run('useradd', ['-M', '-U', '-s', '/bin/sh', user]);
    created.users.push(user);
    kdc = await startMitKdc({
      principals: [{ name: user, password: 'deleg-pw' }, { name: 'HTTP/localhost' }],
    });
    chmodSync(confDir, 0o755);
    const krb5Conf = join(confDir, 'krb5.conf');
    writeFileSync(krb5Conf, run('cat', [kdc.krb5Conf]));
    chmodSync(krb5Conf, 0o644);
    const serverEnv = { KRB5_KTNAME: `FILE:${kdc.keytabPath}`, KRB5_CONFIG: krb5Conf };
    downstream = await startExample({ ...serverEnv, DELEGATION_ROLE: 'downstream' });
    front = await startExample({
      ...serverEnv,
      DELEGATION_DOWNSTREAM: `${downstream.base}/whoami`,
      DELEGATION_ALLOW: `${user}@${kdc.realm}`,
    });
    clientEnv = { ...kdc.kinit(user, 'deleg-pw').env, KRB5_CONFIG: krb5Conf };
  });

  after(async () => {
    await front?.stop();
    await downstream?.stop();
    await kdc?.stop();
    rmSync(confDir, { recursive: true, force: true });
  });

  function curlNegotiate(
    args: string[],
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      execFile(
        '/usr/bin/curl',
        ['--negotiate', '-u', ':', '-sS', '--max-time', '30', '-w', '\n%{http_code}', ...args],
        { env: clientEnv, timeout: 60_000 },
        (error, stdout, stderr) => {
          if (error !== null) return reject(new Error(`curl failed: ${stderr}`));
          const cut = stdout.lastIndexOf('\n');
          resolve({
            status: Number(stdout.slice(cut + 1)),
            body: JSON.parse(stdout.slice(0, cut)) as Record<string, unknown>,
          });
        },
      );
    });
  }

  test('the front calls the downstream service as the client with the forwarded TGT', async () => {
    const answer = await curlNegotiate(['--delegation', 'always', `${front.base}/downstream`]);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.as, user);
    const called = answer.body.downstream as { status: number; body: Record<string, unknown> };
    assert.equal(called.status, 200);
    assert.equal(called.body.name, `${user}@${kdc.realm}`, 'the downstream service saw the client');
  });

  test('without delegation the front has nothing to call with', async () => {
    const answer = await curlNegotiate([`${front.base}/downstream`]);
    assert.equal(answer.status, 403);
    const impersonation = answer.body.impersonation as Record<string, unknown>;
    assert.equal(impersonation.level, 'impersonate');
    assert.equal(impersonation.reason, 'no-delegated-credential');
    const whoami = await curlNegotiate(['--delegation', 'always', `${front.base}/whoami`]);
    assert.equal((whoami.body.impersonation as Record<string, unknown>).delegated, true);
  });
});
