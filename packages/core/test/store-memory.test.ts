import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpAuthError } from '../src/errors.js';
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
});
