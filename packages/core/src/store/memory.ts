import { HttpAuthError } from '../errors.js';
import type { KeyValueStore } from './types.js';

/** Options of {@link MemoryStore}, the default store: the entry bound and the per-owner quota. */
export interface MemoryStoreOptions {
  /**
   * Most entries held at once. When full, expired entries are swept; if none expired, the insert
   * fails with ERR_HTTPAUTH_STORE_UNAVAILABLE rather than evicting a live replay-cache entry (an
   * evicted entry would let a replay through).
   */
  readonly maxEntries?: number;
  /**
   * Most live entries one owner (an authenticated principal) may hold (default 50 000, at most
   * `maxEntries`). Past it, a new entry for that owner fails with ERR_HTTPAUTH_STORE_QUOTA while
   * everybody else is served: entries live as long as their replay window (twice the Kerberos
   * clock skew, a Digest nonce's lifetime), so this bounds the rate at which one client creates
   * entries, e.g. 50 000 per 10 minutes, about 80 fresh Kerberos authenticators a second.
   */
  readonly maxEntriesPerOwner?: number;
  /** Clock, for tests. */
  readonly now?: () => number;
}

interface Entry {
  value: string;
  expiresAt: number;
  owner: string | undefined;
}

const DEFAULT_MAX_ENTRIES = 1_000_000;
const DEFAULT_MAX_ENTRIES_PER_OWNER = 50_000;

function positiveInteger(value: number | undefined, fallback: number): number {
  const chosen = value ?? fallback;
  if (!Number.isSafeInteger(chosen) || chosen < 1) {
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  return chosen;
}

let addInProcess: (
  store: MemoryStore,
  key: string,
  value: string,
  ttlMs: number,
  owner: string | undefined,
) => boolean;

/**
 * `store.add` answered synchronously when `store` is a MemoryStore whose `add` is MemoryStore's
 * own (nothing in it waits), so a hot path such as the Kerberos replay cache needs no promise;
 * undefined for any other store (Redis, or a subclass that overrides `add`), which the caller
 * then awaits as usual. Same effect, same errors (thrown here instead of rejected).
 */
export function addWithoutWaiting(
  store: KeyValueStore,
  key: string,
  value: string,
  ttlMs: number,
  owner: string | undefined,
): boolean | undefined {
  if (!(store instanceof MemoryStore) || store.add !== MemoryStore.prototype.add) return undefined;
  return addInProcess(store, key, value, ttlMs, owner);
}

/**
 * The default single-process store: a Map with per-entry expiry. Entries are kept in insertion
 * order with their expiry, and a sweep drops the expired ones lazily, so memory stays bounded by
 * `maxEntries` and by the traffic of one TTL window. A count of live entries per owner keeps one
 * client from taking the whole bound.
 */
export class MemoryStore implements KeyValueStore {
  readonly #entries = new Map<string, Entry>();
  /** Live entries per owner; an owner leaves the map when its count drops to zero. */
  readonly #owned = new Map<string, number>();
  readonly #maxEntries: number;
  readonly #maxPerOwner: number;
  readonly #now: () => number;
  #lastSweep = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.#maxEntries = positiveInteger(options.maxEntries, DEFAULT_MAX_ENTRIES);
    this.#maxPerOwner = Math.min(
      positiveInteger(options.maxEntriesPerOwner, DEFAULT_MAX_ENTRIES_PER_OWNER),
      this.#maxEntries,
    );
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  #count(owner: string | undefined, delta: 1 | -1): void {
    if (owner === undefined) return;
    const count = (this.#owned.get(owner) ?? 0) + delta;
    if (count <= 0) this.#owned.delete(owner);
    else this.#owned.set(owner, count);
  }

  #remove(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#count(entry.owner, -1);
  }

  #live(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.#remove(key, entry);
      return undefined;
    }
    return entry;
  }

  #sweep(now: number, force: boolean): void {
    if (!force && now - this.#lastSweep < 1000) return;
    this.#lastSweep = now;
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#remove(key, entry);
    }
  }

  /**
   * Refuse a new entry for an owner at its cap. The sweep that may free some of its entries runs
   * at most once a second, so an owner hammering at its cap cannot make every request walk the map.
   */
  #checkOwner(owner: string | undefined, now: number): void {
    if (owner === undefined || (this.#owned.get(owner) ?? 0) < this.#maxPerOwner) return;
    this.#sweep(now, false);
    if ((this.#owned.get(owner) ?? 0) >= this.#maxPerOwner) {
      throw new HttpAuthError('ERR_HTTPAUTH_STORE_QUOTA');
    }
  }

  #put(key: string, value: string, ttlMs: number, now: number, owner: string | undefined): void {
    const previous = this.#entries.get(key);
    // An update keeps the entry's first owner: the quota counts the entries an owner created.
    const entryOwner = previous === undefined ? owner : previous.owner;
    if (previous === undefined) {
      this.#checkOwner(owner, now);
      if (this.#entries.size >= this.#maxEntries) {
        this.#sweep(now, true);
        if (this.#entries.size >= this.#maxEntries) {
          throw new HttpAuthError('ERR_HTTPAUTH_STORE_UNAVAILABLE');
        }
      }
      this.#count(owner, 1);
    }
    // Re-insert so iteration order follows the latest write (a new key has nothing to move).
    if (previous !== undefined) this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt: now + Math.max(1, ttlMs), owner: entryOwner });
  }

  async add(key: string, value: string, ttlMs: number, owner?: string): Promise<boolean> {
    return this.#add(key, value, ttlMs, owner);
  }

  #add(key: string, value: string, ttlMs: number, owner: string | undefined): boolean {
    const now = this.#now();
    this.#sweep(now, false);
    if (this.#live(key, now) !== undefined) return false;
    this.#put(key, value, ttlMs, now, owner);
    return true;
  }

  static {
    addInProcess = (store, key, value, ttlMs, owner) => store.#add(key, value, ttlMs, owner);
  }

  async get(key: string): Promise<string | undefined> {
    return this.#live(key, this.#now())?.value;
  }

  async compareAndSet(
    key: string,
    expected: string | undefined,
    value: string,
    ttlMs: number,
    owner?: string,
  ): Promise<boolean> {
    const now = this.#now();
    const current = this.#live(key, now)?.value;
    if (current !== expected) return false;
    this.#put(key, value, ttlMs, now, owner);
    return true;
  }

  async advance(key: string, value: number, ttlMs: number, owner?: string): Promise<boolean> {
    return this.advanceNow(key, value, ttlMs, owner);
  }

  /**
   * {@link advance}, answered at once: for a caller in this process that can go on without a
   * promise (the Digest nonce count, one per request). Throws where advance rejects.
   */
  advanceNow(key: string, value: number, ttlMs: number, owner?: string): boolean {
    const now = this.#now();
    const current = this.#live(key, now);
    if (current === undefined) {
      this.#put(key, String(value), ttlMs, now, owner);
      return true;
    }
    if (Number(current.value) >= value) return false;
    // Rewritten in place (a #put of a live key changes neither counts nor bounds, and keeps its
    // first owner): the sweep walks every entry, so no order needs keeping.
    current.value = String(value);
    current.expiresAt = now + Math.max(1, ttlMs);
    return true;
  }

  async delete(key: string): Promise<void> {
    const entry = this.#entries.get(key);
    if (entry !== undefined) this.#remove(key, entry);
  }

  async close(): Promise<void> {
    this.#entries.clear();
    this.#owned.clear();
  }
}
