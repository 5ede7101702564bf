/**
 * The KeyValueStore contract (packages/core/src/store/types.ts), written once and run against
 * every implementation: core's MemoryStore and RedisStore on a standalone Redis and on Redis
 * Cluster. What the Kerberos replay cache and Digest nonce counts rely on: insert-if-absent,
 * compare-and-set and strictly increasing counters are atomic, and entries expire.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KeyValueStore } from '@httpauth/core';

export interface ContractSubject {
  readonly store: KeyValueStore;
  /** Called after the suite (stop servers, close clients). */
  readonly dispose?: () => Promise<void>;
}

/** Entries under test live this long, then the suite waits (polling) for them to go. */
const SHORT_TTL_MS = 40;
const LONG_TTL_MS = 60_000;
/** A limit on polling only: expiry is checked by observing it, never by timing it. */
const EXPIRY_POLL_LIMIT_MS = 30_000;

async function until(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + EXPIRY_POLL_LIMIT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail('condition not reached while polling');
    await sleep(20);
  }
}

async function expired(store: KeyValueStore, key: string): Promise<void> {
  await until(async () => (await store.get(key)) === undefined);
}

function shuffled<T>(values: readonly T[]): T[] {
  const copy = [...values];
  for (let index = copy.length - 1; index > 0; index -= 1) {
    const other = Math.floor(Math.random() * (index + 1));
    [copy[index], copy[other]] = [copy[other] as T, copy[index] as T];
  }
  return copy;
}

export function storeContract(name: string, open: () => Promise<ContractSubject>): void {
  describe(`KeyValueStore contract: ${name}`, () => {
    let subject: ContractSubject;
    let store: KeyValueStore;
    const key = (label: string): string => `contract:${label}:${randomUUID()}`;

    before(async () => {
      subject = await open();
      store = subject.store;
    });
    after(async () => {
      await subject.dispose?.();
    });

    it('add inserts once and get returns the value', async () => {
      const k = key('add');
      assert.equal(await store.get(k), undefined);
      assert.equal(await store.add(k, 'first', LONG_TTL_MS), true);
      assert.equal(await store.add(k, 'second', LONG_TTL_MS), false);
      assert.equal(await store.get(k), 'first');
    });

    it('add inserts again once the entry expired', async () => {
      const k = key('add-expiry');
      assert.equal(await store.add(k, 'a', SHORT_TTL_MS), true);
      await expired(store, k);
      assert.equal(await store.add(k, 'b', LONG_TTL_MS), true);
      assert.equal(await store.get(k), 'b');
    });

    it('exactly one of many concurrent adds of one key wins', async () => {
      const k = key('add-race');
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, index) => store.add(k, String(index), LONG_TTL_MS)),
      );
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await store.get(k), String(results.indexOf(true)));
    });

    it('compareAndSet on an absent key inserts only when absence was expected', async () => {
      const k = key('cas-absent');
      assert.equal(await store.compareAndSet(k, 'something', 'v', LONG_TTL_MS), false);
      assert.equal(await store.get(k), undefined);
      assert.equal(await store.compareAndSet(k, undefined, 'v1', LONG_TTL_MS), true);
      assert.equal(await store.get(k), 'v1');
      assert.equal(await store.compareAndSet(k, undefined, 'v2', LONG_TTL_MS), false);
      assert.equal(await store.get(k), 'v1');
    });

    it('compareAndSet replaces only the expected value', async () => {
      const k = key('cas');
      await store.add(k, 'v1', LONG_TTL_MS);
      assert.equal(await store.compareAndSet(k, 'wrong', 'v2', LONG_TTL_MS), false);
      assert.equal(await store.get(k), 'v1');
      assert.equal(await store.compareAndSet(k, 'v1', 'v2', LONG_TTL_MS), true);
      assert.equal(await store.get(k), 'v2');
      assert.equal(await store.compareAndSet(k, 'v1', 'v3', LONG_TTL_MS), false);
      assert.equal(await store.get(k), 'v2');
    });

    it('compareAndSet sees an expired entry as absent', async () => {
      const k = key('cas-expiry');
      await store.add(k, 'old', SHORT_TTL_MS);
      await expired(store, k);
      assert.equal(await store.compareAndSet(k, 'old', 'x', LONG_TTL_MS), false);
      assert.equal(await store.compareAndSet(k, undefined, 'new', LONG_TTL_MS), true);
      assert.equal(await store.get(k), 'new');
    });

    it('compareAndSet gives the entry the new TTL', async () => {
      const k = key('cas-ttl');
      await store.add(k, 'long-lived', LONG_TTL_MS);
      assert.equal(await store.compareAndSet(k, 'long-lived', 'short-lived', SHORT_TTL_MS), true);
      await expired(store, k);
    });

    it('exactly one of many concurrent compareAndSets from one value wins', async () => {
      const k = key('cas-race');
      await store.add(k, 'start', LONG_TTL_MS);
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, index) =>
          store.compareAndSet(k, 'start', `next-${index}`, LONG_TTL_MS),
        ),
      );
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await store.get(k), `next-${results.indexOf(true)}`);
    });

    it('advance accepts only strictly increasing values (Digest nc)', async () => {
      const k = key('advance');
      assert.equal(await store.advance(k, 1, LONG_TTL_MS), true);
      assert.equal(await store.advance(k, 1, LONG_TTL_MS), false);
      assert.equal(await store.advance(k, 0, LONG_TTL_MS), false);
      assert.equal(await store.advance(k, 2, LONG_TTL_MS), true);
      assert.equal(await store.advance(k, 10, LONG_TTL_MS), true);
      assert.equal(await store.advance(k, 9, LONG_TTL_MS), false);
      assert.equal(await store.advance(k, 10, LONG_TTL_MS), false);
      assert.equal(await store.get(k), '10');
    });

    it('advance holds the full 32-bit nc range', async () => {
      const k = key('advance-range');
      assert.equal(await store.advance(k, 0xfffffffe, LONG_TTL_MS), true);
      assert.equal(await store.advance(k, 0xfffffffe, LONG_TTL_MS), false);
      assert.equal(await store.advance(k, 0xffffffff, LONG_TTL_MS), true);
      assert.equal(await store.get(k), String(0xffffffff));
    });

    it('advance starts over once the counter expired', async () => {
      const k = key('advance-expiry');
      assert.equal(await store.advance(k, 5, SHORT_TTL_MS), true);
      await expired(store, k);
      assert.equal(await store.advance(k, 1, LONG_TTL_MS), true);
    });

    it('concurrent advances with one value: exactly one wins (a replayed nc on two nodes)', async () => {
      const k = key('advance-race');
      const results = await Promise.all(
        Array.from({ length: 50 }, () => store.advance(k, 7, LONG_TTL_MS)),
      );
      assert.equal(results.filter(Boolean).length, 1);
    });

    it('concurrent advances in any order end at the maximum', async () => {
      const k = key('advance-order');
      const values = shuffled(Array.from({ length: 40 }, (_, index) => index + 1));
      const results = await Promise.all(
        values.map((value) => store.advance(k, value, LONG_TTL_MS)),
      );
      assert.equal(await store.get(k), '40');
      // The maximum always advances; a value that advanced was above every value applied before it.
      assert.equal(results[values.indexOf(40)], true);
      assert.ok(results.filter(Boolean).length >= 1);
    });

    it('delete removes an entry and tolerates an absent one', async () => {
      const k = key('delete');
      await store.add(k, 'v', LONG_TTL_MS);
      await store.delete(k);
      assert.equal(await store.get(k), undefined);
      await store.delete(k);
      assert.equal(await store.add(k, 'again', LONG_TTL_MS), true);
    });

    it('keys and values are kept exactly, braces and non-ASCII included', async () => {
      const keys = [
        key('{tag}'),
        `{${randomUUID()}}:nc`,
        `digest:{${randomUUID()}}:nc`,
        key('x}y{'),
        key('ünïcødé ☃'),
        key('spaces and\ttabs'),
      ];
      for (const [index, k] of keys.entries()) {
        const value = `välue-${index} {}:\u0001`;
        assert.equal(await store.add(k, value, LONG_TTL_MS), true);
        assert.equal(await store.get(k), value);
      }
      // Distinct keys stay distinct even when one looks like another wrapped in braces.
      const inner = 'x-' + randomUUID() + '}';
      const braced = '{' + inner + '}';
      assert.equal(await store.add(inner, 'plain', LONG_TTL_MS), true);
      assert.equal(await store.add(braced, 'braced', LONG_TTL_MS), true);
      assert.equal(await store.get(inner), 'plain');
      assert.equal(await store.get(braced), 'braced');
    });
  });
}
