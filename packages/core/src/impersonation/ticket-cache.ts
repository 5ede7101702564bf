/**
 * The S4U ticket cache of constrained delegation (constrained-delegation.ts): per user (S4U2Self
 * evidence) and per user and backend (S4U2Proxy tickets), bounded, and judged by the ticket's
 * end time at each use.
 */

/**
 * A cached ticket is reused while more than this remains of it: a minute covers the clock skew a
 * backend allows a ticket's end (RFC 4120 §1.6, 5 minutes is the default skew for the start) and
 * the time the request takes to arrive.
 */
export const TICKET_REUSE_MARGIN_MS = 60_000;

export interface Cached<T> {
  readonly value: T;
  readonly endtime: number;
}

/** A bounded map whose oldest-used entries go first; entries expire at their ticket's end. */
export class TicketCache<T> {
  readonly #entries = new Map<string, Cached<T>>();
  readonly #pending = new Map<string, Promise<T>>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#entries.size;
  }

  async get(key: string, now: number, load: () => Promise<Cached<T>>): Promise<T> {
    const hit = this.#entries.get(key);
    if (hit !== undefined && hit.endtime - now > TICKET_REUSE_MARGIN_MS) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit.value;
    }
    this.#entries.delete(key);
    const pending = this.#pending.get(key);
    if (pending !== undefined) return pending;
    const loading = load()
      .then((loaded) => {
        this.#entries.set(key, loaded);
        while (this.#entries.size > this.#max) {
          this.#entries.delete(this.#entries.keys().next().value as string);
        }
        return loaded.value;
      })
      .finally(() => this.#pending.delete(key));
    this.#pending.set(key, loading);
    return loading;
  }
}
