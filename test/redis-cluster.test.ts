// A three-master Redis Cluster on loopback (redis-server --cluster-enabled yes, joined with
// redis-cli --cluster create): the store contract through ioredis Cluster, the key layout across
// slots, and the several-nodes Digest checks with node processes that use the cluster.
import { strict as assert } from 'node:assert';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { isHttpAuthError } from '@httpauth/core';
import { Redis } from 'ioredis';
import type { RedisClusterHandle, RedisServer } from './harness/redis.js';
import { startRedisCluster } from './harness/redis.js';
import { RedisStore } from '@httpauth/redis';
import { storeContract } from '../packages/redis/test/store-contract.js';
import type { NodeProcess } from '../packages/redis/test/fixtures/nodes.js';
import {
  digestAuthorization,
  get,
  sha256Challenge,
  startNode,
  USER,
} from '../packages/redis/test/fixtures/nodes.js';

let cluster: RedisClusterHandle;
before(async () => {
  cluster = await startRedisCluster(3);
});
after(async () => {
  await cluster?.stop();
});

storeContract('RedisStore over a three-master Redis Cluster', async () => {
  const store = new RedisStore({ cluster: cluster.nodes });
  await store.ready(20_000);
  return { store, dispose: () => store.close() };
});

describe('key layout on Redis Cluster', () => {
  let store: RedisStore;
  let masters: Redis[] = [];
  before(async () => {
    store = new RedisStore({ cluster: cluster.nodes, keyPrefix: 'layout:' });
    await store.ready(20_000);
    masters = cluster.nodes.map((node) => new Redis({ host: node.host, port: node.port }));
  });
  after(async () => {
    await store.close();
    for (const master of masters) master.disconnect();
  });

  it('keys about one nonce share a slot; unrelated keys spread over every master', async () => {
    const nonce = randomUUID();
    const [first] = masters as [Redis];
    const slotNc = await first.call('CLUSTER', 'KEYSLOT', `layout:digest:{${nonce}}:nc`);
    const slotOnce = await first.call('CLUSTER', 'KEYSLOT', `layout:digest:{${nonce}}:once`);
    assert.equal(slotNc, slotOnce);
    assert.equal(await store.advance(`digest:{${nonce}}:nc`, 1, 60_000), true);
    assert.equal(await store.add(`digest:{${nonce}}:once`, '1', 60_000), true);

    const keys = Array.from({ length: 300 }, () => `krb5rc:${randomUUID()}`);
    for (const key of keys) assert.equal(await store.add(key, '1', 60_000), true);
    const counts = await Promise.all(
      // (The store's epoch marker, layout:{httpauth-epoch}, is not one of the test's keys.)
      masters.map(
        async (master) =>
          (await master.keys('layout:*')).filter((name) => !name.includes('httpauth-epoch')).length,
      ),
    );
    assert.ok(
      counts.every((count) => count > 0),
      `every master holds some keys: ${counts.join(',')}`,
    );
    assert.equal(
      counts.reduce((sum, count) => sum + count, 0),
      keys.length + 2,
    );
  });
});

describe('several nodes sharing one Redis Cluster (Digest)', () => {
  let nodes: NodeProcess[] = [];
  before(async () => {
    const key = randomBytes(32);
    const config = { cluster: cluster.nodes };
    nodes = await Promise.all(
      ['A', 'B', 'C'].map((id) => startNode({ id, redis: config, nonceKey: key })),
    );
  });
  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
  });

  it('nonces verify across nodes, nc increases across nodes, replays are refused everywhere', async () => {
    const [a, b, c] = nodes as [NodeProcess, NodeProcess, NodeProcess];
    for (let client = 0; client < 10; client += 1) {
      // Many nonces, so their counters land on every master.
      const challenge = sha256Challenge(await get(a.port, '/r'));
      const route = [b, c, a];
      for (const [index, node] of route.entries()) {
        const header = digestAuthorization(challenge, index + 1, '/r');
        const result = await get(node.port, '/r', header);
        assert.equal(result.status, 200, JSON.stringify(result.body));
        assert.deepEqual(result.body, { node: node.id, user: USER, session: null });
        const next = route[(index + 1) % route.length] as NodeProcess;
        const replay = await get(next.port, '/r', header);
        assert.equal(replay.status, 401);
        assert.equal(replay.body.error, 'ERR_HTTPAUTH_DIGEST_NC_REPLAY');
      }
    }
  });

  it('one request sent to all nodes at once is accepted exactly once', async () => {
    const challenge = sha256Challenge(await get((nodes[1] as NodeProcess).port, '/r'));
    for (let round = 1; round <= 5; round += 1) {
      const header = digestAuthorization(challenge, round, '/r');
      const results = await Promise.all(
        [...nodes, ...nodes].map((node) => get(node.port, '/r', header)),
      );
      assert.equal(results.filter((result) => result.status === 200).length, 1);
    }
  });
});

// Last: it stops one master for good.
describe('one master of the cluster down (no replicas)', () => {
  it('replay checks fail closed, never accept a replay, on every slot', async () => {
    const store = new RedisStore({
      cluster: cluster.nodes,
      keyPrefix: 'partial:',
      commandTimeoutMs: 300,
      probeIntervalMs: 100,
      warn: () => undefined,
    });
    try {
      await store.ready(20_000);
      const keys = Array.from({ length: 60 }, () => `krb5rc:${randomUUID()}`);
      for (const key of keys) assert.equal(await store.add(key, '1', 60_000), true);
      await (cluster.servers[1] as RedisServer).stop();
      let refused = 0;
      for (let pass = 0; pass < 3; pass += 1) {
        for (const key of keys) {
          try {
            assert.equal(
              await store.add(key, '1', 60_000),
              false,
              'a replay must never be accepted',
            );
          } catch (error) {
            assert.ok(isHttpAuthError(error));
            assert.equal(error.code, 'ERR_HTTPAUTH_STORE_UNAVAILABLE');
            refused += 1;
          }
        }
      }
      assert.ok(refused > 0, 'keys on the stopped master cannot be checked');
    } finally {
      await store.close();
    }
  });
});
