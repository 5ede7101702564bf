/**
 * store.redis in each topology, with two gateway processes: a Redis that requires a password
 * (given by passwordFile), a Sentinel-monitored master (sentinels + name) and a three-master
 * Cluster. In each, a Digest nonce count used on A is refused on B. A gateway without the
 * password fails closed (503 ERR_HTTPAUTH_STORE_UNAVAILABLE), never serving unchecked.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { digestFileLine } from '../packages/core/src/index.js';
import {
  digestAuthorization,
  get,
  PASSWORD,
  sha256Challenge,
  USER,
} from '../packages/redis/test/fixtures/nodes.js';
import type { GatewayProcess } from './harness/gateway-process.js';
import { startGatewayProcess } from './harness/gateway-process.js';
import {
  redisCommand,
  startRedis,
  startRedisCluster,
  startRedisSentinel,
} from './harness/redis.js';

const REALM = 'gateway-topologies';
const REDIS_PASSWORD = randomBytes(18).toString('base64url');
const dir = mkdtempSync(join(tmpdir(), 'httpauth-gateway-topologies-'));
let upstream: Server;
const cleanups: (() => Promise<unknown>)[] = [];

before(async () => {
  upstream = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ user: req.headers['x-remote-user'] ?? null }));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  writeFileSync(join(dir, 'users.digest'), `${digestFileLine(USER, REALM, PASSWORD)}\n`);
  writeFileSync(join(dir, 'nonce.key'), randomBytes(32));
  writeFileSync(join(dir, 'redis.password'), `${REDIS_PASSWORD}\n`);
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Two gateway processes with `store` (a YAML flow mapping) as their store.redis. */
async function pair(name: string, store: string): Promise<[GatewayProcess, GatewayProcess]> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      'listen: { host: 127.0.0.1, port: 0 }',
      `upstream: http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
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
  assert.equal((await get(a.port, '/r', first)).status, 200);
  const replayed = await get(b.port, '/r', first);
  assert.equal(replayed.status, 401, 'nc 1 replayed to B');
  assert.equal((await get(b.port, '/r', digestAuthorization(challenge, 2, '/r'))).status, 200);
}

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
