// What one store operation sends to Redis: a new entry charged to its owner's quota is one
// command (the entry and the charge in one script, scripts.ts ADD_CHARGED / ADVANCE_CHARGED), so
// a Kerberos accept or a Digest nonce's first use costs one round trip, not two; the scripts
// survive SCRIPT FLUSH; commands issued together leave in one write (coalesce.ts); and ioredis's
// auto-pipelining is off unless asked for (client.ts).
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { HttpAuthError } from '@httpauth/core';
import { Redis } from 'ioredis';
import type { RedisServer } from '../../../test/harness/redis.js';
import { startRedis } from '../../../test/harness/redis.js';
import { RedisStore } from '../src/index.js';

let redis: RedisServer;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.dispose();
});

/** A client whose commands are recorded by name, and a store on it. */
async function countingStore(ownerQuota = { maxNewEntries: 1000, windowMs: 60_000 }) {
  const client = new Redis({ host: redis.host, port: redis.port });
  const sent: string[] = [];
  const send = client.sendCommand.bind(client);
  client.sendCommand = (command, stream) => {
    sent.push(command.name);
    return send(command, stream);
  };
  const store = new RedisStore(client, { keyPrefix: `rt-${randomUUID()}:`, ownerQuota });
  await store.ready();
  // The server learns each script at its first EVALSHA (NOSCRIPT, then EVAL): learnt here.
  await store.add('warm-up', '1', 1000, 'krb5:warm-up@X');
  await store.advance('digest:{warm-up}:nc:t', 1, 1000, 'krb5:warm-up@X');
  await store.compareAndSet('warm-up', '1', '2', 1000);
  sent.length = 0;
  return {
    store,
    sent,
    dispose: async () => {
      await store.close();
      client.disconnect();
    },
  };
}

const quotaError = (error: unknown) =>
  error instanceof HttpAuthError && error.code === 'ERR_HTTPAUTH_STORE_QUOTA';

describe('RedisStore round trips', () => {
  it('a new entry and its owner charge are one command (add, advance, compareAndSet)', async () => {
    const { store, sent, dispose } = await countingStore();
    try {
      const owner = 'krb5:alice@EXAMPLE.TEST';
      assert.equal(await store.add('krb5rc:one', '1', 60_000, owner), true);
      assert.deepEqual(sent, ['evalsha']);
      sent.length = 0;
      assert.equal(await store.add('krb5rc:one', '1', 60_000, owner), false); // a replay
      assert.deepEqual(sent, ['evalsha']);
      sent.length = 0;
      assert.equal(await store.advance('digest:{n}:nc:t', 1, 60_000, owner), true);
      assert.equal(await store.advance('digest:{n}:nc:t', 2, 60_000, owner), true);
      assert.equal(await store.advance('digest:{n}:nc:t', 2, 60_000, owner), false);
      assert.deepEqual(sent, ['evalsha', 'evalsha', 'evalsha']);
      sent.length = 0;
      assert.equal(await store.compareAndSet('cas:x', undefined, 'v', 60_000, owner), true);
      assert.deepEqual(sent, ['evalsha']);
      sent.length = 0;
      // Without an owner nothing is charged: the plain command.
      assert.equal(await store.add('session:revoked:x', '1', 60_000), true);
      assert.deepEqual(sent, ['set']);
    } finally {
      await dispose();
    }
  });

  it('the one-step charge keeps the quota: creations counted, the refused entry gone', async () => {
    const { store, dispose } = await countingStore({ maxNewEntries: 2, windowMs: 60_000 });
    try {
      const owner = `krb5:mallory-${randomUUID()}@EXAMPLE.TEST`;
      assert.equal(await store.add('r:1', '1', 60_000, owner), true);
      assert.equal(await store.advance('digest:{a}:nc:t', 1, 60_000, owner), true);
      // A replay and a raised counter are not new entries.
      assert.equal(await store.add('r:1', '1', 60_000, owner), false);
      assert.equal(await store.advance('digest:{a}:nc:t', 5, 60_000, owner), true);
      await assert.rejects(store.add('r:2', '1', 60_000, owner), quotaError);
      await assert.rejects(store.advance('digest:{b}:nc:t', 1, 60_000, owner), quotaError);
      await assert.rejects(store.compareAndSet('c:1', undefined, 'v', 60_000, owner), quotaError);
      assert.equal(await store.get('r:2'), undefined);
      assert.equal(await store.get('digest:{b}:nc:t'), undefined);
      assert.equal(await store.get('c:1'), undefined);
      assert.equal(await store.get('digest:{a}:nc:t'), '5');
      assert.equal(store.available, true);
    } finally {
      await dispose();
    }
  });

  it('the charged scripts run after the server forgot them (NOSCRIPT, then EVAL)', async () => {
    const { store, sent, dispose } = await countingStore();
    const admin = new Redis({ host: redis.host, port: redis.port });
    try {
      await admin.script('FLUSH');
      assert.equal(await store.add('r:flush', '1', 60_000, 'krb5:a@X'), true);
      assert.deepEqual(sent, ['evalsha', 'eval']);
      await admin.script('FLUSH');
      assert.equal(await store.advance('digest:{f}:nc:t', 1, 60_000, 'krb5:a@X'), true);
      assert.equal(await store.add('r:flush', '1', 60_000, 'krb5:a@X'), false);
      assert.equal(await store.advance('digest:{f}:nc:t', 1, 60_000, 'krb5:a@X'), false);
    } finally {
      admin.disconnect();
      await dispose();
    }
  });

  it('commands issued together leave in one write; a lone command is not held back, one issued under load waits for the poll phase', async () => {
    const { store, dispose } = await countingStore();
    try {
      const socket = (store.client as Redis).stream as unknown as {
        _write: (...args: unknown[]) => void;
        _writev: (...args: unknown[]) => void;
      };
      let writes = 0;
      for (const method of ['_write', '_writev'] as const) {
        const original = socket[method].bind(socket);
        socket[method] = (...args: unknown[]) => {
          writes += 1;
          original(...args);
        };
      }
      const burst = Array.from({ length: 8 }, (_, i) =>
        store.add(`burst:${i}`, '1', 60_000, 'krb5:a@X'),
      );
      assert.deepEqual(await Promise.all(burst), Array(8).fill(true));
      assert.equal(writes, 1, 'eight adds in one writev');
      writes = 0;
      // One command alone is written before the event loop goes on (no setImmediate wait).
      const lone = store.get('burst:0');
      await new Promise<void>((resolve) => process.nextTick(resolve));
      assert.equal(writes, 1);
      // With that one still unanswered, the next command waits for the end of the event loop's
      // poll phase (setImmediate), to leave with whatever the replies read there set off.
      const following = store.get('burst:1');
      await new Promise<void>((resolve) => process.nextTick(resolve));
      assert.equal(writes, 1);
      await new Promise<void>((resolve) => setImmediate(resolve));
      assert.equal(writes, 2);
      assert.equal(await lone, '1');
      assert.equal(await following, '1');
    } finally {
      await dispose();
    }
  });

  it('does not auto-pipeline unless the options ask for it', async () => {
    const store = new RedisStore({ url: redis.url });
    const asked = new RedisStore({ url: redis.url, redisOptions: { enableAutoPipelining: true } });
    try {
      assert.equal((store.client as Redis).options.enableAutoPipelining, false);
      assert.equal((asked.client as Redis).options.enableAutoPipelining, true);
    } finally {
      await store.close();
      await asked.close();
    }
  });
});
