/**
 * The per-certificate result cache: a kept-alive connection, or a new connection resuming a TLS
 * session, presents the same chain again and again; validating and mapping it once is enough
 * until the earliest of: the end of any certificate's validity, the nextUpdate of a CRL used, the
 * cache TTL, or a CRL reload (the revocation source's generation). Two levels: per connection
 * object (a WeakMap, so a kept-alive request costs one lookup and one leaf comparison) and per
 * chain (a bounded LRU keyed by the SHA-256 of the chain).
 */
import { createHash } from 'node:crypto';

export interface CachedResult<R> {
  readonly result: R;
  /** The time the result was computed at: it says nothing about earlier times (a clock set back). */
  readonly evaluatedAt: number;
  readonly validUntil: number;
  readonly generation: number;
  readonly leaf: Buffer;
}

export class ResultCache<R> {
  readonly #byChain = new Map<string, CachedResult<R>>();
  readonly #byConnection = new WeakMap<object, CachedResult<R>>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  /** A key naming the whole chain: each certificate's length and bytes, hashed. */
  static chainKey(chain: readonly Buffer[]): string {
    const hash = createHash('sha256');
    const length = Buffer.alloc(4);
    for (const der of chain) {
      length.writeUInt32BE(der.length);
      hash.update(length).update(der);
    }
    return hash.digest('base64');
  }

  #usable(entry: CachedResult<R> | undefined, now: number, generation: number): boolean {
    return (
      entry !== undefined &&
      entry.evaluatedAt <= now &&
      now < entry.validUntil &&
      entry.generation === generation
    );
  }

  /**
   * The cached result for this connection (same leaf certificate: TLS 1.2 renegotiation could
   * change it), else for this chain.
   */
  get(
    chain: readonly Buffer[],
    connection: object | undefined,
    now: number,
    generation: number,
  ): { entry: CachedResult<R> | undefined; key: string | undefined } {
    const leaf = chain[0] as Buffer;
    if (connection !== undefined) {
      const entry = this.#byConnection.get(connection);
      if (this.#usable(entry, now, generation) && entry?.leaf.equals(leaf))
        return { entry, key: undefined };
    }
    const key = ResultCache.chainKey(chain);
    const entry = this.#byChain.get(key);
    if (!this.#usable(entry, now, generation)) {
      if (entry !== undefined) this.#byChain.delete(key);
      return { entry: undefined, key };
    }
    this.#byChain.delete(key); // least recently used goes last
    this.#byChain.set(key, entry as CachedResult<R>);
    if (connection !== undefined) this.#byConnection.set(connection, entry as CachedResult<R>);
    return { entry, key };
  }

  set(key: string, connection: object | undefined, entry: CachedResult<R>): void {
    this.#byChain.delete(key);
    this.#byChain.set(key, entry);
    while (this.#byChain.size > this.#maxEntries) {
      const oldest = this.#byChain.keys().next().value as string;
      this.#byChain.delete(oldest);
    }
    if (connection !== undefined) this.#byConnection.set(connection, entry);
  }

  get size(): number {
    return this.#byChain.size;
  }
}
