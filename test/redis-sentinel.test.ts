// Redis Sentinel passed through: a master, a replica and one Sentinel on loopback. The store
// contract through Sentinel, then a failover (the master stops, Sentinel promotes the replica):
// the store follows it, the replicated replay records still hold, and the epoch marker (also
// replicated) tells it that no data was lost.
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isHttpAuthError } from '@httpauth/core';
import { Redis } from 'ioredis';
import type { RedisSentinelHandle, RedisServer } from './harness/redis.js';
import { startRedis, startRedisSentinel } from './harness/redis.js';
import { RedisStore } from '@httpauth/redis';
import { storeContract } from '../packages/redis/test/store-contract.js';

let master: RedisServer;
let replica: RedisServer;
let sentinel: RedisSentinelHandle;

before(async () => {
  master = await startRedis();
  replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
  sentinel = await startRedisSentinel(master.port);
});
after(async () => {
  await sentinel?.stop();
  await replica?.dispose();
  await master?.dispose();
});

const sentinelOptions = () => ({
  sentinels: [{ host: sentinel.host, port: sentinel.port }],
  name: sentinel.name,
});

storeContract('RedisStore through Redis Sentinel', async () => {
  const store = new RedisStore(sentinelOptions());
  await store.ready(20_000);
  return { store, dispose: () => store.close() };
});

describe('Sentinel failover', () => {
  it('the store follows the promoted replica; replicated replay records still hold', async () => {
    const warnings: string[] = [];
    const store = new RedisStore({
      ...sentinelOptions(),
      commandTimeoutMs: 300,
      probeIntervalMs: 100,
      warn: (message) => warnings.push(message),
    });
    const admin = new Redis({ host: master.host, port: master.port });
    try {
      await store.ready(20_000);
      const key = `krb:replay:${randomUUID()}`;
      assert.equal(await store.add(key, '1', 120_000), true);
      // Replication is asynchronous: wait until the replica has the write before the master dies.
      assert.equal(await admin.call('WAIT', '1', '5000'), 1);
      admin.disconnect();
      await master.stop();

      const deadline = Date.now() + 60_000;
      let outcome: boolean | 'unavailable' = 'unavailable';
      while (outcome === 'unavailable') {
        if (Date.now() > deadline) assert.fail('the store did not follow the failover');
        try {
          outcome = await store.add(key, '1', 120_000);
        } catch (error) {
          assert.ok(isHttpAuthError(error));
          assert.equal(error.code, 'ERR_HTTPAUTH_STORE_UNAVAILABLE');
          await sleep(100);
        }
      }
      assert.equal(outcome, false, 'the replay recorded before the failover is still refused');
      const promoted = new Redis({ host: replica.host, port: replica.port });
      try {
        assert.match(String(await promoted.call('ROLE')), /^master/);
      } finally {
        promoted.disconnect();
      }
      assert.ok(!warnings.some((message) => message.includes('lost its data')));
    } finally {
      admin.disconnect();
      await store.close();
    }
  });
});
