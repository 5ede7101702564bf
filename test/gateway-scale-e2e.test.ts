/**
 * Several gateway instances behind a load balancer: two httpauth-gateway processes with one
 * configuration (store.redis, auth.digest.nonceKeyFile, sessions keys from files) and one
 * redis-server. A Digest nonce count used on A is refused on B, a Kerberos AP-REQ accepted by A
 * is refused by B (RFC 4120 §3.2.3 replay cache), a session cookie A issued is accepted by B.
 * Then each topology store.redis offers: a Redis that requires a password (passwordFile; without
 * it the gateway fails closed with 503 ERR_HTTPAUTH_STORE_UNAVAILABLE), a Sentinel-monitored
 * master (sentinels + name), a three-master Cluster: in each a Digest count used on A is refused
 * on B.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { digestFileLine } from '@httpauth/core';
import {
  digestAuthorization,
  get,
  PASSWORD,
  sha256Challenge,
  USER,
} from '../packages/redis/test/fixtures/nodes.js';
import type { GatewayProcess } from './harness/gateway-process.js';
import { startGatewayProcess, startUserEcho } from './harness/gateway-process.js';
import type { MitKdc } from './harness/mit-kdc.js';
import { startMitKdc } from './harness/mit-kdc.js';
import type { RedisServer } from './harness/redis.js';
import {
  redisCommand,
  startRedis,
  startRedisCluster,
  startRedisSentinel,
} from './harness/redis.js';

const REALM = 'gateway-scale';
/** Fresh Kerberos AP-REQs from MIT's initiator (python3-gssapi), one per line. */
const INITIATOR = `
import base64, sys, gssapi
name = gssapi.Name('HTTP@localhost', gssapi.NameType.hostbased_service)
for _ in range(int(sys.argv[1])):
    ctx = gssapi.SecurityContext(name=name, usage='initiate', mech=gssapi.MechType.kerberos)
    print(base64.b64encode(ctx.step()).decode())
`;

const dir = mkdtempSync(join(tmpdir(), 'httpauth-gateway-scale-'));
let kdc: MitKdc;
let redis: RedisServer;
let upstream: Awaited<ReturnType<typeof startUserEcho>>;
let a: GatewayProcess;
let b: GatewayProcess;
const REDIS_PASSWORD = randomBytes(18).toString('base64url');
const cleanups: (() => Promise<unknown>)[] = [];

before(async () => {
  kdc = await startMitKdc({
    principals: [{ name: 'alice', password: 'alice-pw-1' }, { name: 'HTTP/localhost' }],
  });
  redis = await startRedis();
  upstream = await startUserEcho();
  writeFileSync(join(dir, 'users.digest'), `${digestFileLine(USER, REALM, PASSWORD)}\n`);
  writeFileSync(join(dir, 'nonce.key'), randomBytes(32));
  writeFileSync(join(dir, 'session.key'), randomBytes(32));
  writeFileSync(join(dir, 'redis.password'), `${REDIS_PASSWORD}\n`);
  writeFileSync(
    join(dir, 'gateway.yaml'),
    [
      'listen: { host: 127.0.0.1, port: 0 }',
      `upstream: http://127.0.0.1:${upstream.port}`,
      'auth:',
      `  realm: ${REALM}`,
      '  mechanisms: [negotiate, digest]',
      `  negotiate: { keytab: ${kdc.keytabPath} }`,
      '  digest: { file: users.digest, algorithms: [SHA-256], nonceKeyFile: nonce.key }',
      'sessions: { keys: [{ id: s1, secretFile: session.key }] }',
      // The address comes from the environment, as a deployment would give it.
      'store: { redis: { commandTimeoutMs: 2000 } }',
      'log: { level: info }',
      '',
    ].join('\n'),
  );
  const env = { HTTPAUTH_GATEWAY_REDIS_URL: redis.url };
  [a, b] = await Promise.all([
    startGatewayProcess(join(dir, 'gateway.yaml'), env),
    startGatewayProcess(join(dir, 'gateway.yaml'), env),
  ]);
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await Promise.all([a?.stop(), b?.stop()]);
  upstream?.close();
  await redis?.dispose();
  await kdc?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Two gateway processes with `store` (a YAML flow mapping) as their store.redis. */
async function pair(name: string, store: string): Promise<[GatewayProcess, GatewayProcess]> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      'listen: { host: 127.0.0.1, port: 0 }',
      `upstream: http://127.0.0.1:${upstream.port}`,
      `auth: { realm: ${REALM}, digest: { file: users.digest, algorithms: [SHA-256], nonceKeyFile: nonce.key } }`,
      `store: { redis: ${store} }`,
      'log: { level: info }',
      '',
    ].join('\n'),
  );
  const gateways = await Promise.all([startGatewayProcess(file), startGatewayProcess(file)]);
  cleanups.push(() => Promise.all(gateways.map((gateway) => gateway.stop())));
  return gateways as [GatewayProcess, GatewayProcess];
}

async function assertReplayRefused(a: GatewayProcess, b: GatewayProcess): Promise<void> {
  const challenge = sha256Challenge(await get(a.port, '/r'));
  const first = digestAuthorization(challenge, 1, '/r');
  const onA = await get(a.port, '/r', first);
  assert.equal(onA.status, 200);
  assert.equal(onA.body.user, USER);
  const replayed = await get(b.port, '/r', first);
  assert.equal(replayed.status, 401, 'nc 1 replayed to B');
  assert.notEqual(replayed.body.user, USER);
  assert.equal((await get(b.port, '/r', digestAuthorization(challenge, 2, '/r'))).status, 200);
}

describe('two gateway processes sharing one Redis', () => {
  it('a Digest nonce count used on A is refused on B; the next count is accepted on B', () =>
    assertReplayRefused(a, b));

  it('a Kerberos AP-REQ accepted by A is refused when replayed to B', () => {
    const tokens = execFileSync('/usr/bin/python3', ['-c', INITIATOR, '1'], {
      env: kdc.kinit('alice', 'alice-pw-1').env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const header = `Negotiate ${tokens.trim()}`;
    return (async () => {
      const onA = await get(a.port, '/r', header);
      assert.equal(onA.status, 200);
      assert.match(String(onA.body.user), /^alice@/);
      const replayed = await get(b.port, '/r', header);
      assert.equal(replayed.status, 401);
      assert.equal(replayed.body.error, 'ERR_HTTPAUTH_KRB_REPLAY');
    })();
  });

  it('a session cookie issued by A is accepted by B without credentials', async () => {
    const challenge = sha256Challenge(await get(a.port, '/s'));
    const login = await get(a.port, '/s', digestAuthorization(challenge, 1, '/s'));
    assert.equal(login.status, 200);
    const cookie = (login.headers['set-cookie'] ?? [])[0]?.split(';')[0];
    assert.ok(cookie !== undefined && cookie.startsWith('httpauth_session='), 'A set a cookie');
    const onB = await get(b.port, '/s', undefined, cookie);
    assert.equal(onB.status, 200);
    assert.equal(onB.body.user, USER);
    assert.equal((await get(b.port, '/s', undefined, `${cookie}x`)).status, 401);
  });
});

describe('gateway store.redis topologies', () => {
  it('standalone with a password from passwordFile; without it, fail closed', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.dispose());
    // Set after start: the harness checks that the server is up with a bare PING.
    assert.equal(await redisCommand(redis.port, `CONFIG SET requirepass ${REDIS_PASSWORD}`), '+OK');
    const [a, b] = await pair('password', `{ url: '${redis.url}', passwordFile: redis.password }`);
    await assertReplayRefused(a, b);
    const [noPassword] = await pair(
      'no-password',
      `{ url: '${redis.url}', commandTimeoutMs: 300 }`,
    );
    const challenge = sha256Challenge(await get(noPassword.port, '/r'));
    const refused = await get(noPassword.port, '/r', digestAuthorization(challenge, 1, '/r'));
    assert.equal(refused.status, 503);
    assert.equal(refused.body.error, 'ERR_HTTPAUTH_STORE_UNAVAILABLE');
  });

  it('Sentinel: sentinels and the master name', async () => {
    const master = await startRedis();
    cleanups.push(() => master.dispose());
    const sentinel = await startRedisSentinel(master.port);
    cleanups.push(() => sentinel.stop());
    const [a, b] = await pair(
      'sentinel',
      `{ sentinels: [{ host: ${sentinel.host}, port: ${sentinel.port} }], name: ${sentinel.name} }`,
    );
    await assertReplayRefused(a, b);
  });

  it('Cluster: start-up nodes', async () => {
    const cluster = await startRedisCluster(3);
    cleanups.push(() => cluster.stop());
    const nodes = cluster.nodes.map((node) => `{ host: ${node.host}, port: ${node.port} }`);
    const [a, b] = await pair('cluster', `{ cluster: [${nodes.join(', ')}] }`);
    await assertReplayRefused(a, b);
  });
});
