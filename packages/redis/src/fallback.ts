/**
 * Whether requests are answered from Redis, and what happens when they cannot be (failure policy,
 * docs/several-nodes.md). Every operation is bounded (client.ts CommandDeadlines): a Redis that is
 * down, unreachable or stuck makes the operation reject with
 * HttpAuthError('ERR_HTTPAUTH_STORE_UNAVAILABLE'), which the authenticator answers with 503 and
 * Retry-After. A replay is never accepted because the store could not be asked. With the 'local'
 * policy the node instead serves from a local MemoryStore during the outage (a loud warning once
 * per outage, a diagnostics_channel event), journals what it recorded, writes it back to Redis
 * (reconciliation) and returns to Redis by itself once Redis answers a probe again.
 *
 * States: 'starting' until the first successful probe; 'up'; 'down' during an outage or a
 * data-loss guard (epoch.ts). Every reconnection passes through the client's 'close' event: the
 * store stops using Redis until a probe has checked that Redis still holds its data.
 */
import type { MemoryStoreOptions } from '@httpauth/core';
import { HttpAuthError, MemoryStore } from '@httpauth/core';
import type { CommandDeadlines, RedisClient } from './client.js';
import { classify, RedisFailure } from './client.js';
import type { DataLossGuard } from './epoch.js';
import type { StoreFailureReason } from './events.js';
import { publishStoreState } from './events.js';
import type { RedisOperations } from './operations.js';

/** The first probe after a failure comes quickly: a blip should not cost a whole interval. */
const FIRST_PROBE_DELAY_MS = 50;

/** What the local fallback recorded during an outage, written back to Redis when it returns. */
export type JournalEntry =
  | { readonly op: 'add' | 'set'; readonly value: string; readonly expiresAt: number }
  | { readonly op: 'advance'; readonly value: number; readonly expiresAt: number }
  | { readonly op: 'delete' };

export interface AvailabilityOptions {
  readonly policy: 'closed' | 'local';
  /** The local store of the 'local' policy (replaced by a fresh one after each write-back). */
  readonly local: MemoryStore | undefined;
  /** Bounds of the local store (with its maxEntries set), also the bound of the journal. */
  readonly localOptions: MemoryStoreOptions & { readonly maxEntries: number };
  readonly probeIntervalMs: number;
  readonly epochCheckIntervalMs: number;
  readonly warn: (message: string) => void;
  readonly deadlines: CommandDeadlines;
  readonly operations: RedisOperations;
  readonly guard: DataLossGuard;
}

export class Availability {
  readonly #policy: 'closed' | 'local';
  readonly #localOptions: MemoryStoreOptions & { readonly maxEntries: number };
  #local: MemoryStore | undefined;
  readonly #journal = new Map<string, JournalEntry>();
  readonly #probeIntervalMs: number;
  readonly #epochCheckIntervalMs: number;
  readonly #warn: (message: string) => void;
  readonly #deadlines: CommandDeadlines;
  readonly #operations: RedisOperations;
  readonly #guard: DataLossGuard;
  #state: 'starting' | 'up' | 'down' = 'starting';
  #closed = false;
  #probe: NodeJS.Timeout | undefined;
  #probing = false;
  #waiters: (() => void)[] = [];

  constructor(options: AvailabilityOptions) {
    this.#policy = options.policy;
    this.#localOptions = options.localOptions;
    this.#local = options.local;
    this.#probeIntervalMs = options.probeIntervalMs;
    this.#epochCheckIntervalMs = options.epochCheckIntervalMs;
    this.#warn = options.warn;
    this.#deadlines = options.deadlines;
    this.#operations = options.operations;
    this.#guard = options.guard;
  }

  /** Follow the client's connection: down on every 'close', a probe on every 'ready'. */
  follow(client: RedisClient): void {
    client.on('close', () => this.down('connection'));
    client.on('ready', () => this.#schedule(0));
    if (client.status === 'ready') this.#schedule(0);
  }

  get up(): boolean {
    return this.#state === 'up';
  }

  /** Resolves on the next switch to 'up'; rejects with STORE_UNAVAILABLE after `timeoutMs`. */
  async whenUp(timeoutMs: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((waiter) => waiter !== onUp);
        reject(new HttpAuthError('ERR_HTTPAUTH_STORE_UNAVAILABLE'));
      }, timeoutMs);
      const onUp = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.#waiters.push(onUp);
    });
  }

  /**
   * Runs an operation on Redis, or on the local store when Redis is not known to be good. The
   * local side journals its writes itself (`record`).
   */
  async run<T>(onRedis: () => Promise<T>, onLocal: (local: MemoryStore) => Promise<T>): Promise<T> {
    if (this.#closed) throw new HttpAuthError('ERR_HTTPAUTH_STORE_UNAVAILABLE');
    const local = this.#local;
    // While Redis is not known to be good (an outage, a data-loss guard, before the first probe)
    // requests do not wait for a timeout each: they fail closed at once, or go to the local
    // store. The probe brings the node back to Redis.
    if (this.#state !== 'up') {
      if (local !== undefined) return onLocal(local);
      throw new HttpAuthError('ERR_HTTPAUTH_STORE_UNAVAILABLE', {
        cause: new RedisFailure('connection'),
      });
    }
    try {
      return await this.#deadlines.bounded(onRedis());
    } catch (error) {
      const { reason, outage } = classify(error);
      // A reply error about one key (WRONGTYPE) is no outage: fail closed, keep the state.
      if (outage) this.down(reason);
      if (outage && local !== undefined) return onLocal(local);
      // The cause names only the coarse reason: ioredis errors carry the command's arguments
      // (keys hold nonces and principal names), which must not reach logs.
      throw new HttpAuthError('ERR_HTTPAUTH_STORE_UNAVAILABLE', {
        cause: new RedisFailure(reason),
      });
    }
  }

  /** Journal a write the local store accepted, for the write-back. */
  record(key: string, entry: JournalEntry): void {
    // Bounded like the local store: past the bound the oldest record is dropped (it can only
    // widen the cross-node replay window of this outage, which the local policy accepts).
    this.#journal.delete(key);
    if (this.#journal.size >= this.#localOptions.maxEntries) {
      const oldest = this.#journal.keys().next();
      if (oldest.done !== true) this.#journal.delete(oldest.value);
    }
    this.#journal.set(key, entry);
  }

  down(reason: StoreFailureReason): void {
    if (this.#closed || this.#state === 'down') return;
    this.#state = 'down';
    this.#announceDown(reason);
    this.#schedule(FIRST_PROBE_DELAY_MS);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#probe !== undefined) clearTimeout(this.#probe);
    this.#probe = undefined;
    this.#guard.stop();
    await this.#local?.close();
    this.#journal.clear();
  }

  #announceDown(reason: StoreFailureReason): void {
    publishStoreState({ store: 'redis', state: 'down', policy: this.#policy, reason });
    this.#warn(
      this.#policy === 'local'
        ? `httpauth: Redis store unavailable (${reason}); FALLING BACK TO A LOCAL IN-MEMORY STORE: ` +
            'replay protection and Digest nonce counts now cover this node only until Redis returns'
        : `httpauth: Redis store unavailable (${reason}); authentication answers 503 until Redis returns`,
    );
  }

  #markUp(reconciled: number): void {
    if (this.#state === 'up') return;
    const recovered = this.#state === 'down';
    this.#state = 'up';
    if (this.#probe !== undefined) clearTimeout(this.#probe);
    this.#probe = undefined;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter();
    if (!this.#closed) {
      this.#guard.watch(
        this.#epochCheckIntervalMs,
        () => this.#state === 'up',
        () => this.down('data-loss'),
      );
    }
    if (!recovered) return;
    publishStoreState({
      store: 'redis',
      state: 'up',
      policy: this.#policy,
      ...(this.#policy === 'local' ? { reconciled } : {}),
    });
    this.#warn(
      this.#policy === 'local'
        ? `httpauth: Redis store available again; ${reconciled} local entries written back, local fallback ended`
        : 'httpauth: Redis store available again',
    );
  }

  #schedule(delayMs: number): void {
    if (this.#closed || this.#state === 'up') return;
    if (this.#probe !== undefined) clearTimeout(this.#probe);
    this.#probe = setTimeout(() => {
      this.#probe = undefined;
      void this.#probeOnce();
    }, delayMs);
    this.#probe.unref();
  }

  async #probeOnce(): Promise<void> {
    if (this.#probing || this.#closed || this.#state === 'up') return;
    this.#probing = true;
    try {
      await this.#deadlines.bounded(this.#operations.ping());
      await this.#guard.check();
      const guarded = this.#guard.remaining(Date.now());
      if (guarded > 0) {
        this.#schedule(Math.min(guarded, this.#probeIntervalMs));
        return;
      }
      await this.#reconcileAndReturn();
    } catch {
      this.#schedule(this.#probeIntervalMs);
    } finally {
      this.#probing = false;
    }
  }

  /**
   * Writes what the local fallback recorded back to Redis, so entries accepted during the outage
   * (replay-cache entries, nonce counts) protect every node again, then switches back to Redis.
   * Existing Redis values win over local ones: SET NX for inserts, the advance script for
   * counters. Requests keep going to the local store (and its journal) until the journal is
   * empty; the switch happens synchronously after the last write, so no record is left behind.
   */
  async #reconcileAndReturn(): Promise<void> {
    let written = 0;
    for (;;) {
      const next = this.#journal.entries().next();
      if (next.done === true) break;
      const [key, entry] = next.value;
      if (entry.op === 'delete') {
        await this.#deadlines.bounded(this.#operations.delete(key));
      } else {
        const remaining = Math.ceil(entry.expiresAt - Date.now());
        if (remaining > 0 && entry.op === 'advance') {
          await this.#deadlines.bounded(
            this.#operations.advanceCounter(key, entry.value, remaining),
          );
        } else if (remaining > 0) {
          await this.#deadlines.bounded(
            this.#operations.setIfAbsent(key, String(entry.value), remaining),
          );
        }
      }
      // A newer record for the same key, made while this write was in flight, stays queued.
      if (this.#journal.get(key) === entry) this.#journal.delete(key);
      written += 1;
    }
    // Redis now holds everything that matters; the old local copy would only go stale.
    if (this.#local !== undefined) this.#local = new MemoryStore(this.#localOptions);
    this.#markUp(written);
  }
}
