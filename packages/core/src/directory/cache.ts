/**
 * A bounded cache with a time-to-live per entry. Map keeps insertion order, so re-inserting on
 * a hit makes the first key the least recently used one: that is the entry evicted when full.
 */
interface Entry<V> {
  readonly value: V;
  readonly expiresAt: number;
}

export class TtlCache<K, V> {
  readonly #entries = new Map<K, Entry<V>>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The entry when present and not expired at `now`; an expired one is dropped. */
  get(key: K, now: number): { readonly value: V } | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.expiresAt <= now) return undefined;
    this.#entries.set(key, entry);
    return entry;
  }

  set(key: K, value: V, expiresAt: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value as K;
      this.#entries.delete(oldest);
    }
  }

  clear(): void {
    this.#entries.clear();
  }
}
