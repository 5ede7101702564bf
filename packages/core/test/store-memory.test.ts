import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpAuthError } from '../src/errors.js';
import { recordAuthenticator } from '../src/kerberos/replay-cache.js';
import { MemoryStore } from '../src/store/memory.js';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('MemoryStore', () => {
  it('add inserts once until the entry expires', async () => {
    const c = clock();
    const store = new MemoryStore({ now: c.now });
    assert.equal(await store.add('k', 'v', 1000), true);
    assert.equal(await store.add('k', 'w', 1000), false);
    assert.equal(await store.get('k'), 'v');
    c.advance(999);
    assert.equal(await store.add('k', 'w', 1000), false);
    c.advance(1);
    assert.equal(await store.get('k'), undefined);
    assert.equal(await store.add('k', 'w', 1000), true);
    assert.equal(await store.get('k'), 'w');
  });

  it('compareAndSet replaces only the expected value', async () => {
    const store = new MemoryStore();
    assert.equal(await store.compareAndSet('k', 'x', 'a', 1000), false);
    assert.equal(await store.compareAndSet('k', undefined, 'a', 1000), true);
    assert.equal(await store.compareAndSet('k', undefined, 'b', 1000), false);
    assert.equal(await store.compareAndSet('k', 'a', 'b', 1000), true);
    assert.equal(await store.get('k'), 'b');
    await store.delete('k');
    assert.equal(await store.get('k'), undefined);
  });

  it('advance only moves a counter forward', async () => {
    const store = new MemoryStore();
    assert.equal(await store.advance('nc', 1, 1000), true);
    assert.equal(await store.advance('nc', 1, 1000), false);
    assert.equal(await store.advance('nc', 3, 1000), true);
    assert.equal(await store.advance('nc', 2, 1000), false);
    assert.equal(await store.get('nc'), '3');
  });

  it('advanceNow answers advance at once: forward only, the expiry renewed, the owner kept', () => {
    const c = clock();
    const store = new MemoryStore({ now: c.now, maxEntriesPerOwner: 1 });
    assert.equal(store.advanceNow('nc', 1, 1000, 'alice'), true);
    assert.equal(store.advanceNow('nc', 1, 1000, 'alice'), false);
    c.advance(900);
    // Raising a live counter renews its lifetime and counts no new entry against the owner.
    assert.equal(store.advanceNow('nc', 2, 1000, 'alice'), true);
    c.advance(900);
    assert.equal(store.advanceNow('nc', 2, 1000, 'alice'), false);
    assert.throws(
      () => store.advanceNow('other', 1, 1000, 'alice'),
      (error: unknown) =>
        error instanceof HttpAuthError && error.code === 'ERR_HTTPAUTH_STORE_QUOTA',
    );
    c.advance(100);
    // Expired: the count starts again.
    assert.equal(store.advanceNow('nc', 1, 1000, 'alice'), true);
  });

  it('is bounded: a full store of live entries refuses instead of evicting', async () => {
    const c = clock();
    const store = new MemoryStore({ maxEntries: 3, now: c.now });
    for (const key of ['a', 'b', 'c']) assert.equal(await store.add(key, '1', 1000), true);
    await assert.rejects(store.add('d', '1', 1000), (error: unknown) => {
      assert.ok(error instanceof HttpAuthError);
      assert.equal(error.code, 'ERR_HTTPAUTH_STORE_UNAVAILABLE');
      return true;
    });
    // A replay of a live entry is still detected.
    assert.equal(await store.add('a', '1', 1000), false);
    c.advance(1000);
    assert.equal(await store.add('d', '1', 1000), true);
    assert.equal(store.size, 1);
  });

  it('caps the live entries of one owner so one client cannot fill the shared store', async () => {
    const c = clock();
    const store = new MemoryStore({ maxEntries: 100, maxEntriesPerOwner: 3, now: c.now });
    const quota = (error: unknown) =>
      error instanceof HttpAuthError && error.code === 'ERR_HTTPAUTH_STORE_QUOTA';
    // add, advance and compareAndSet all create entries on an owner's behalf.
    assert.equal(await store.add('a1', '1', 1000, 'alice'), true);
    assert.equal(await store.advance('a2', 1, 1000, 'alice'), true);
    assert.equal(await store.compareAndSet('a3', undefined, '1', 1000, 'alice'), true);
    await assert.rejects(store.add('a4', '1', 1000, 'alice'), quota);
    await assert.rejects(store.advance('a5', 1, 1000, 'alice'), quota);
    await assert.rejects(store.compareAndSet('a6', undefined, '1', 1000, 'alice'), quota);
    // Updating an entry it already holds and detecting replays still work at the cap.
    assert.equal(await store.advance('a2', 2, 1000, 'alice'), true);
    assert.equal(await store.add('a1', '1', 1000, 'alice'), false);
    // Others are served: the bound is per owner.
    assert.equal(await store.add('b1', '1', 1000, 'bob'), true);
    assert.equal(await store.add('n1', '1', 1000), true);
    // Deleting or expiring frees the owner's room.
    await store.delete('a3');
    assert.equal(await store.add('a4', '1', 1000, 'alice'), true);
    c.advance(2000);
    for (const key of ['a5', 'a6', 'a7'])
      assert.equal(await store.add(key, '1', 1000, 'alice'), true);
  });

  it('refuses invalid bounds', () => {
    for (const options of [{ maxEntries: 0 }, { maxEntriesPerOwner: -1 }, { maxEntries: 1.5 }]) {
      assert.throws(
        () => new MemoryStore(options),
        (error: unknown) =>
          error instanceof HttpAuthError && error.code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
      );
    }
  });

  it('charges Kerberos replay entries to the client principal', async () => {
    const store = new MemoryStore({ maxEntriesPerOwner: 2 });
    const cipher = (n: number) => Buffer.from([n]);
    await recordAuthenticator(store, cipher(1), 'mallory@EXAMPLE.ORG', 600_000);
    await recordAuthenticator(store, cipher(2), 'mallory@EXAMPLE.ORG', 600_000);
    await assert.rejects(
      async () => recordAuthenticator(store, cipher(3), 'mallory@EXAMPLE.ORG', 600_000),
      (error: unknown) =>
        error instanceof HttpAuthError && error.code === 'ERR_HTTPAUTH_STORE_QUOTA',
    );
    await recordAuthenticator(store, cipher(4), 'alice@EXAMPLE.ORG', 600_000);
  });
});
