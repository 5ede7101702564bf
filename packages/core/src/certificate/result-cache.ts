/**
 * The per-certificate result cache: a kept-alive connection, or a new connection resuming a TLS
 * session, presents the same certificate again and again; validating and mapping it once is
 * enough until the earliest of: the end of any certificate's validity, the nextUpdate of a CRL
 * used, the cache TTL, or a CRL reload (the revocation source's generation).
 *
 * Three levels: per connection object (a WeakMap: a kept-alive request costs one lookup and one
 * leaf comparison); successes per leaf certificate, because a resumed TLS session presents the
 * leaf alone (the server keeps no peer chain in a session, RFC 8446 §2.2) and a leaf that has a
 * valid path has it whatever the client sends with it; refusals per whole chain, because a
 * refusal may be due to what the client sent with the leaf (a missing intermediate).
 */
import { createHash } from 'node:crypto';

export interface CachedResult<R> {
  readonly result: R;
  /** Whether `result` is a success: stored per leaf, else per chain. */
  readonly success: boolean;
  /** The time the result was computed at: it says nothing about earlier times (a clock set back). */
  readonly evaluatedAt: number;
  readonly validUntil: number;
  /** The state of what results depend on besides the certificate (CRLs, known intermediates). */
  readonly generation: number;
  readonly leaf: Buffer;
}

function hash(chain: readonly Buffer[]): string {
  const digest = createHash('sha256');
  const length = Buffer.alloc(4);
  for (const der of chain) {
    length.writeUInt32BE(der.length);
    digest.update(length).update(der);
  }
  return digest.digest('base64');
}

export class ResultCache<R> {
  readonly #entries = new Map<string, CachedResult<R>>();
  readonly #byConnection = new WeakMap<object, CachedResult<R>>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  #usable(entry: CachedResult<R> | undefined, now: number, generation: number): boolean {
    return (
      entry !== undefined &&
      entry.evaluatedAt <= now &&
      now < entry.validUntil &&
      entry.generation === generation
    );
  }

  #lookup(key: string, now: number, generation: number): CachedResult<R> | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (!this.#usable(entry, now, generation)) return undefined;
    this.#entries.set(key, entry); // most recently used goes last
    return entry;
  }

  /** The cached result for this connection (same leaf), else this leaf's success, else this chain's refusal. */
  get(
    chain: readonly Buffer[],
    connection: object | undefined,
    now: number,
    generation: number,
  ): CachedResult<R> | undefined {
    const leaf = chain[0] as Buffer;
    if (connection !== undefined) {
      const entry = this.#byConnection.get(connection);
      // Compared on every hit: a TLS 1.2 renegotiation could change the client's certificate.
      if (this.#usable(entry, now, generation) && entry?.leaf.equals(leaf)) return entry;
    }
    const entry =
      this.#lookup(`leaf:${hash([leaf])}`, now, generation) ??
      this.#lookup(`chain:${hash(chain)}`, now, generation);
    if (entry !== undefined && connection !== undefined) this.#byConnection.set(connection, entry);
    return entry;
  }

  /**
   * The result kept for this connection while it is still valid, without the leaf comparison:
   * for a caller that knows the connection has had no new handshake since (the loop's kept
   * certificate logon, keyed by the handshake), so no chain needs to be built to ask.
   */
  forConnection(connection: object, now: number, generation: number): CachedResult<R> | undefined {
    const entry = this.#byConnection.get(connection);
    return this.#usable(entry, now, generation) ? entry : undefined;
  }

  set(chain: readonly Buffer[], connection: object | undefined, entry: CachedResult<R>): void {
    const key = entry.success ? `leaf:${hash([entry.leaf])}` : `chain:${hash(chain)}`;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.#maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value as string);
    }
    if (connection !== undefined) this.#byConnection.set(connection, entry);
  }

  get size(): number {
    return this.#entries.size;
  }
}
