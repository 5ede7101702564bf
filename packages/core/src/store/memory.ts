import { HttpAuthError } from '../errors.js';
import type { KeyValueStore } from './types.js';

export interface MemoryStoreOptions {
  /**
   * Most entries held at once. When full, expired entries are swept; if none expired, the insert
   * fails with ERR_HTTPAUTH_STORE_UNAVAILABLE rather than evicting a live replay-cache entry (an
   * evicted entry would let a replay through).
   */
  readonly maxEntries?: number;
  /** Clock, for tests. */
  readonly now?: () => number;
}

interface Entry {
  value: string;
  expiresAt: number;
}

/**
 * The default single-process store: a Map with per-entry expiry. Entries are kept in insertion
 * order with their expiry, and a sweep drops the expired ones lazily, so memory stays bounded by
 * `maxEntries` and by the traffic of one TTL window.
 */
export class MemoryStore implements KeyValueStore {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  readonly #now: () => number;
  #lastSweep = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 1_000_000;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  #live(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  #sweep(now: number, force: boolean): void {
    if (!force && now - this.#lastSweep < 1000) return;
    this.#lastSweep = now;
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#entries.delete(key);
    }
  }

  #put(key: string, value: string, ttlMs: number, now: number): void {
    if (!this.#entries.has(key) && this.#entries.size >= this.#maxEntries) {
      this.#sweep(now, true);
      if (this.#entries.size >= this.#maxEntries) {
        throw new HttpAuthError('ERR_HTTPAUTH_STORE_UNAVAILABLE');
      }
    }
    // Re-insert so iteration order follows the latest write.
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt: now + Math.max(1, ttlMs) });
  }

  async add(key: string, value: string, ttlMs: number): Promise<boolean> {
    const now = this.#now();
    this.#sweep(now, false);
    if (this.#live(key, now) !== undefined) return false;
    this.#put(key, value, ttlMs, now);
    return true;
  }

  async get(key: string): Promise<string | undefined> {
    return this.#live(key, this.#now())?.value;
  }

  async compareAndSet(
    key: string,
    expected: string | undefined,
    value: string,
    ttlMs: number,
  ): Promise<boolean> {
    const now = this.#now();
    const current = this.#live(key, now)?.value;
    if (current !== expected) return false;
    this.#put(key, value, ttlMs, now);
    return true;
  }

  async advance(key: string, value: number, ttlMs: number): Promise<boolean> {
    const now = this.#now();
    const current = this.#live(key, now);
    if (current !== undefined && Number(current.value) >= value) return false;
    this.#put(key, String(value), ttlMs, now);
    return true;
  }

  async delete(key: string): Promise<void> {
    this.#entries.delete(key);
  }

  async close(): Promise<void> {
    this.#entries.clear();
  }
}
