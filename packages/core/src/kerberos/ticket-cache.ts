/**
 * Decrypted tickets, kept for reuse. Clients reuse one service ticket for hours (browsers, curl,
 * every GSS-API client reads it from their credential cache), sending a fresh authenticator each
 * time; only the authenticator changes. Caching the decrypted ticket per ticket saves its
 * decryption, its DER decoding and its PAC verification, and, because the session key object is
 * reused, the crypto layer's per-key derived keys (RFC 3961 DK for usages 11 and 12) too.
 *
 * Safety: the cache key is SHA-256 over the whole Ticket DER (realm, sname, etype, kvno and
 * ciphertext), so only a byte-identical ticket hits; an entry is stored only after the ticket
 * decrypted and its PAC verified; everything per-request (authenticator, times against `now`,
 * channel binding, replay cache) is still checked on every use; the owner drops the cache when the
 * keytab changes. Entries live at most until the ticket's end time; the size is bounded (oldest
 * entries go first).
 */
import { hash } from 'node:crypto';

export class TicketCache<T> {
  readonly #entries = new Map<string, { value: T; expiresAt: number }>();
  readonly #maxEntries: number;
  #owner: unknown;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  static keyOf(ticketDer: Buffer): string {
    // One-shot: no Hash object per request.
    return hash('sha256', ticketDer, 'base64');
  }

  /** Forget everything when `owner` (the keytab the entries were decrypted with) changed. */
  bind(owner: unknown): void {
    if (owner !== this.#owner) {
      this.#entries.clear();
      this.#owner = owner;
    }
  }

  get(key: string, now: number): T | undefined {
    if (this.#maxEntries === 0) return undefined;
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: T, expiresAt: number): void {
    if (this.#maxEntries === 0) return;
    if (this.#entries.size >= this.#maxEntries) {
      // Map iteration is insertion order: drop the oldest entry.
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { value, expiresAt });
  }

  get size(): number {
    return this.#entries.size;
  }
}
