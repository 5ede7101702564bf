// The Digest nonce-use record (RFC 7616 §3.3: nc must rise per nonce and account) with a store
// that answers with a bare thenable, as a hand-written or foreign-realm store may: its answer is
// what counts. Before the fix, a thenable whose then() returned nothing made the record itself
// undefined, which the package reads as answered, so a replayed nc went through.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { digestUserTag, recordNonceUse } from '../src/digest/nonce-use.js';
import { MemoryStore } from '../src/store/memory.js';
import type { KeyValueStore } from '../src/store/types.js';

/** A store whose add/advance answer a thenable that calls back and returns nothing. */
function thenableStore(): KeyValueStore {
  const inner = new MemoryStore();
  const bare = <T>(promise: Promise<T>) =>
    ({
      then(resolve: (value: T) => void, reject: (error: unknown) => void) {
        promise.then(resolve, reject);
      },
    }) as unknown as Promise<T>;
  return {
    get: (key) => inner.get(key),
    add: (key, value, ttl, owner) => bare(inner.add(key, value, ttl, owner)),
    advance: (key, value, ttl, owner) => bare(inner.advance(key, value, ttl, owner)),
    compareAndSet: (key, expected, value, ttl) => inner.compareAndSet(key, expected, value, ttl),
    delete: (key) => inner.delete(key),
  } as KeyValueStore;
}

describe('the nonce-use record with a store that answers a bare thenable', () => {
  it('refuses a repeated nc and a used one-time nonce', async () => {
    const store = thenableStore();
    const use = { userTag: digestUserTag('r', 'alice'), ttlMs: 60_000, nonce: 'n1' };
    assert.equal(await recordNonceUse(store, { ...use, count: 1, consume: false }), 'fresh');
    assert.equal(await recordNonceUse(store, { ...use, count: 1, consume: false }), 'replayed');
    assert.equal(await recordNonceUse(store, { ...use, count: 2, consume: false }), 'fresh');
    const once = { ...use, nonce: 'n2', count: undefined, consume: true };
    assert.equal(await recordNonceUse(store, once), 'fresh');
    assert.equal(await recordNonceUse(store, once), 'consumed');
  });
});
