// The failure policy against a real redis-server that is stopped, restarted and frozen (SIGSTOP):
// fail closed by default, bounded by commandTimeoutMs, the local fallback with its warning and
// event, and recovery without a restart of the node.
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpAuthError } from '@httpauth/core';
import { Redis } from 'ioredis';
import type { RedisServer } from '../../../test/harness/redis.js';
import { startRedis } from '../../../test/harness/redis.js';
import type { RedisStoreOptions, StoreStateEvent } from '../src/index.js';
import { CHANNEL_STORE, RedisStore } from '../src/index.js';

/** Far above commandTimeoutMs: only tells a bounded rejection from a hang. */
const HANG_GUARD_MS = 15_000;
const POLL_LIMIT_MS = 30_000;

function isUnavailable(error: unknown): boolean {
  return error instanceof HttpAuthError && error.code === 'ERR_HTTPAUTH_STORE_UNAVAILABLE';
}

/** Resolves with the settled outcome of `operation`, or 'hung' if it outlives the guard. */
async function settle<T>(
  operation: Promise<T>,
): Promise<{ value: T } | { error: unknown } | 'hung'> {
  let guard: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => {
    guard = setTimeout(() => resolve('hung'), HANG_GUARD_MS);
  });
  try {
    return await Promise.race([
      operation.then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      ),
      hung,
    ]);
  } finally {
    clearTimeout(guard);
  }
}

async function until(condition: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + POLL_LIMIT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail('condition not reached while polling');
    await sleep(25);
  }
}

async function addOrUnavailable(store: RedisStore, key: string): Promise<boolean | 'unavailable'> {
  try {
    return await store.add(key, '1', 60_000);
  } catch (error) {
    if (isUnavailable(error)) return 'unavailable';
    throw error;
  }
}

/** The operation rejects with STORE_UNAVAILABLE, and in bounded time. */
async function assertUnavailable(operation: Promise<unknown>, hangMessage?: string): Promise<void> {
  const outcome = await settle(operation);
  assert.notEqual(outcome, 'hung', hangMessage);
  assert.ok(typeof outcome === 'object' && 'error' in outcome, 'must reject');
  assert.ok(isUnavailable(outcome.error));
}

/**
 * Adds `key` until the store accepts it again, counting the refusals; accepted only once the
 * record written at `writtenAt` for `ttlMs` would have expired by itself.
 */
async function refusedUntilExpired(
  store: RedisStore,
  key: string,
  written: { at: number; ttlMs: number },
  message: string,
): Promise<number> {
  let refused = 0;
  for (;;) {
    const outcome = await addOrUnavailable(store, key);
    if (outcome === 'unavailable') {
      refused += 1;
      await sleep(25);
      continue;
    }
    assert.equal(outcome, true);
    assert.ok(Date.now() >= written.at + written.ttlMs, message);
    return refused;
  }
}

/** Every CHANNEL_STORE event published while listening (start in before, stop in after). */
function storeEvents() {
  const events: StoreStateEvent[] = [];
  const onEvent = (event: unknown): void => {
    events.push(event as StoreStateEvent);
  };
  return {
    events,
    listen: () => subscribe(CHANNEL_STORE, onEvent),
    stop: () => unsubscribe(CHANNEL_STORE, onEvent),
  };
}

/** A store on `redis` with a short command timeout, its warnings kept in `warnings`. */
function storeOn(
  redis: RedisServer,
  warnings: string[],
  options: Partial<RedisStoreOptions> = {},
): RedisStore {
  return new RedisStore({
    host: redis.host,
    port: redis.port,
    commandTimeoutMs: 200,
    probeIntervalMs: 100,
    warn: (message) => warnings.push(message),
    ...options,
  });
}

/** A plain client to look inside Redis; it reconnects by itself after a restart. */
async function adminOf(redis: RedisServer, retryMs: number): Promise<Redis> {
  const admin = new Redis({
    host: redis.host,
    port: redis.port,
    lazyConnect: true,
    retryStrategy: () => retryMs,
  });
  admin.on('error', () => undefined);
  await admin.connect();
  return admin;
}

const PERSISTENT = { args: ['--appendonly', 'yes', '--appendfsync', 'always'] };

describe('fail closed (the default)', () => {
  let redis: RedisServer;
  let store: RedisStore;
  const warnings: string[] = [];
  const { events, listen, stop } = storeEvents();

  before(async () => {
    // Append-only file with fsync on every write: a restarted Redis still knows every replay
    // record (docs/several-nodes.md: persistence is part of the replay guarantee).
    redis = await startRedis(PERSISTENT);
    listen();
    store = storeOn(redis, warnings);
    await store.ready();
  });
  after(async () => {
    stop();
    await store.close();
    await redis.dispose();
  });

  it('Redis stopped: every operation rejects with STORE_UNAVAILABLE, none accepts a replay', async () => {
    const seen = `krb:replay:${randomUUID()}`;
    assert.equal(await store.add(seen, '1', 60_000), true);
    await store.advance('digest:nc:n1', 5, 60_000);
    events.length = 0;
    await redis.stop();

    const operations: (() => Promise<unknown>)[] = [
      () => store.add(seen, '1', 60_000),
      () => store.add(`krb:replay:${randomUUID()}`, '1', 60_000),
      () => store.get(seen),
      () => store.advance('digest:nc:n1', 5, 60_000),
      () => store.advance('digest:nc:n1', 6, 60_000),
      () => store.compareAndSet(seen, '1', '2', 60_000),
      () => store.delete(seen),
    ];
    for (const operation of operations) await assertUnavailable(operation());
    assert.equal(store.available, false);
    assert.deepEqual(
      events.map((event) => [event.state, event.policy]),
      [['down', 'closed']],
    );
    assert.equal(warnings.filter((message) => message.includes('unavailable')).length, 1);

    // Back again on the same port: the store reconnects by itself, the old records still hold.
    await redis.start();
    await until(async () => (await addOrUnavailable(store, `probe:${randomUUID()}`)) === true);
    assert.equal(await store.add(seen, '1', 60_000), false);
    assert.equal(await store.advance('digest:nc:n1', 5, 60_000), false);
    assert.equal(await store.advance('digest:nc:n1', 6, 60_000), true);
    await until(() => store.available);
    assert.deepEqual(
      events.map((event) => event.state),
      ['down', 'up'],
    );
  });

  it('Redis frozen (SIGSTOP): operations reject within the timeout, then recover on SIGCONT', async () => {
    const seen = `krb:replay:${randomUUID()}`;
    assert.equal(await store.add(seen, '1', 60_000), true);
    redis.pause();
    try {
      for (const operation of [
        () => store.add(seen, '1', 60_000),
        () => store.add(`krb:replay:${randomUUID()}`, '1', 60_000),
        () => store.advance(`digest:nc:${randomUUID()}`, 1, 60_000),
      ]) {
        await assertUnavailable(operation(), 'a frozen Redis must not hang the request');
      }
      assert.equal(store.available, false);
    } finally {
      redis.resume();
    }
    await until(async () => (await addOrUnavailable(store, `probe:${randomUUID()}`)) === true);
    assert.equal(await store.add(seen, '1', 60_000), false);
  });
});

describe("fallback: 'local'", () => {
  let redis: RedisServer;
  let store: RedisStore;
  let admin: Redis;
  const warnings: string[] = [];
  const { events, listen, stop } = storeEvents();

  before(async () => {
    redis = await startRedis(PERSISTENT);
    listen();
    store = storeOn(redis, warnings, { fallback: 'local' });
    await store.ready();
    admin = await adminOf(redis, 100);
  });
  after(async () => {
    stop();
    admin.disconnect();
    await store.close();
    await redis.dispose();
  });

  it('serves from memory during the outage with one loud warning, then writes back and returns', async () => {
    const nonce = randomUUID();
    const during = `krb:replay:${randomUUID()}`;
    assert.equal(await store.advance(`digest:nc:${nonce}`, 1, 60_000), true);
    events.length = 0;
    warnings.length = 0;
    await redis.stop();

    // The first operation finds the outage and is answered locally; so are the next ones.
    assert.equal(await store.add(during, '1', 60_000), true);
    assert.equal(
      await store.add(during, '1', 60_000),
      false,
      'a replay on this node is still refused',
    );
    assert.equal(await store.advance(`digest:nc:${nonce}`, 2, 60_000), true);
    assert.equal(await store.advance(`digest:nc:${nonce}`, 2, 60_000), false);
    assert.equal(await store.advance(`digest:nc:${nonce}`, 3, 60_000), true);
    assert.equal(store.available, false);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /FALLING BACK TO A LOCAL IN-MEMORY STORE/);
    assert.deepEqual(
      events.map((event) => [event.state, event.policy]),
      [['down', 'local']],
    );

    await redis.start();
    await until(() => store.available);
    const up = events.at(-1);
    assert.equal(up?.state, 'up');
    assert.equal(up?.reconciled, 2);
    assert.equal(warnings.length, 2);
    // What the node accepted alone is now known to every node.
    await until(() => admin.status === 'ready');
    assert.equal(await admin.get(`httpauth:{${during}}`), '1');
    assert.equal(await admin.get(`httpauth:{digest:nc:${nonce}}`), '3');
    assert.equal(await store.add(during, '1', 60_000), false);
    assert.equal(await store.advance(`digest:nc:${nonce}`, 3, 60_000), false);
    assert.equal(await store.advance(`digest:nc:${nonce}`, 4, 60_000), true);
  });

  it('a frozen Redis switches to memory within the timeout and back after SIGCONT', async () => {
    warnings.length = 0;
    redis.pause();
    const key = `krb:replay:${randomUUID()}`;
    try {
      const outcome = await settle(store.add(key, '1', 60_000));
      assert.deepEqual(outcome, { value: true });
      assert.equal(store.available, false);
      assert.equal(await store.add(key, '1', 60_000), false);
    } finally {
      redis.resume();
    }
    await until(() => store.available);
    assert.equal(await store.add(key, '1', 60_000), false);
    assert.equal(warnings.length, 2);
  });
});

describe('data loss: Redis restarted without persistence', () => {
  let redis: RedisServer;
  let admin: Redis;
  const stores: RedisStore[] = [];
  const warnings: string[] = [];
  const { events, listen, stop } = storeEvents();
  const open = (options: { epochCheckIntervalMs?: number } = {}): RedisStore => {
    const store = storeOn(redis, warnings, {
      probeIntervalMs: 50,
      // Short for the test; the store stretches it to the longest TTL it wrote.
      dataLossGuardMs: 300,
      ...options,
    });
    stores.push(store);
    return store;
  };

  before(async () => {
    redis = await startRedis(); // --save '' and no AOF: a restart starts empty
    listen();
    admin = await adminOf(redis, 50);
  });
  after(async () => {
    stop();
    admin.disconnect();
    for (const store of stores) await store.close();
    await redis.dispose();
  });

  it('refuses checks until every lost record would have expired, on running and new nodes alike', async () => {
    const store = open();
    await store.ready();
    const key = `krb:replay:${randomUUID()}`;
    const ttlMs = 1500;
    const writtenAt = Date.now();
    assert.equal(await store.add(key, '1', ttlMs), true);
    await redis.stop();
    await redis.start();

    // The store notices the empty Redis when it reconnects and writes the guard's end.
    await until(() => warnings.some((message) => message.includes('lost its data')));
    assert.ok(events.some((event) => event.reason === 'data-loss'));
    await until(() => admin.status === 'ready');
    const marker = (await admin.get('httpauth:{httpauth-epoch}')) ?? '';
    const guardUntil = Number(marker.split(' ')[1]);
    assert.ok(guardUntil >= writtenAt + ttlMs, 'the guard covers the longest TTL written');

    // A node that starts during the guard honours it too.
    const late = open();
    const lateReady = late.ready(POLL_LIMIT_MS).then(() => Date.now());

    // Accepted again only once the lost record would have expired by itself.
    const written = { at: writtenAt, ttlMs };
    const message = 'a lost replay record must not be forgotten early';
    assert.ok((await refusedUntilExpired(store, key, written, message)) > 0);
    assert.ok((await lateReady) >= guardUntil, 'the late node waited for the guard');
    assert.equal(await late.add(key, '1', 60_000), false);
  });

  it('a FLUSHALL on a live connection is noticed and guarded too', async () => {
    const store = open({ epochCheckIntervalMs: 50 });
    await store.ready(POLL_LIMIT_MS);
    const key = `krb:replay:${randomUUID()}`;
    const ttlMs = 1500;
    const writtenAt = Date.now();
    assert.equal(await store.add(key, '1', ttlMs), true);
    warnings.length = 0;
    await until(() => admin.status === 'ready');
    await admin.flushall();
    await until(() => !store.available);
    const written = { at: writtenAt, ttlMs };
    const message = 'a flushed replay record must not be forgotten early';
    assert.ok((await refusedUntilExpired(store, key, written, message)) > 0);
    assert.ok(warnings.some((message) => message.includes('lost its data')));
  });

  it('a restart that keeps the data (AOF) is no data loss', async () => {
    const persistent = await startRedis(PERSISTENT);
    const messages: string[] = [];
    const store = storeOn(persistent, messages, { probeIntervalMs: 50 });
    try {
      await store.ready();
      const key = `krb:replay:${randomUUID()}`;
      assert.equal(await store.add(key, '1', 60_000), true);
      await persistent.stop();
      await persistent.start();
      let outcome: boolean | 'unavailable' = 'unavailable';
      await until(async () => (outcome = await addOrUnavailable(store, key)) !== 'unavailable');
      assert.equal(outcome, false);
      assert.ok(!messages.some((message) => message.includes('lost its data')));
    } finally {
      await store.close();
      await persistent.dispose();
    }
  });
});
