/**
 * RedisStore: core's KeyValueStore on Redis, so several nodes share one Kerberos replay cache,
 * one set of Digest nonce counts and one session revocation list.
 *
 *   add            SET key value PX ttl NX                  (one command)
 *   get            GET key
 *   compareAndSet  Lua script, EVALSHA / EVAL               (one atomic step)
 *   advance        Lua script, EVALSHA / EVAL               (one atomic step)
 *   delete         DEL key
 *
 * Failure policy (docs/several-nodes.md). Every operation is bounded by `commandTimeoutMs`: a
 * Redis that is down, unreachable or stuck makes the operation reject with
 * HttpAuthError('ERR_HTTPAUTH_STORE_UNAVAILABLE'), which the authenticator answers with 503 and
 * Retry-After. A replay is never accepted because the store could not be asked. With
 * `fallback: 'local'` the node instead serves from a local MemoryStore during the outage (a loud
 * warning once per outage, a diagnostics_channel event), writes what it recorded back to Redis
 * and returns to Redis by itself once Redis answers a probe again.
 */
import type { KeyValueStore, MemoryStoreOptions } from '@httpauth/core';
import { HttpAuthError, MemoryStore } from '@httpauth/core';
import type { ClusterNode, ClusterOptions, RedisOptions, SentinelAddress } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import type { StoreFailureReason } from './events.js';
import { publishStoreState } from './events.js';
import { checkKeyPrefix, DEFAULT_KEY_PREFIX, EPOCH_KEY, redisKey } from './keys.js';
import type { LuaScript } from './scripts.js';
import type { OwnerQuota, OwnerQuotaOptions } from './owner-quota.js';
import { ownerQuotaKey, resolveOwnerQuota } from './owner-quota.js';
import { ADVANCE, COMPARE_AND_SET, OWNER_QUOTA } from './scripts.js';

export type RedisClient = Redis | Cluster;

/** What the store does when Redis cannot answer. */
export type StoreFallback = 'none' | 'local';

export interface RedisStoreOptions {
  /** A connection URL: `redis://[:password@]host:port[/db]`, `rediss://` for TLS. */
  readonly url?: string;
  readonly host?: string;
  readonly port?: number;
  /** Redis Sentinel: the sentinels and the master `name`, passed through to ioredis. */
  readonly sentinels?: readonly Partial<SentinelAddress>[];
  /** The Sentinel master name. */
  readonly name?: string;
  /** Redis Cluster start-up nodes: an ioredis Cluster is created when given. */
  readonly cluster?: readonly ClusterNode[];
  /** Further ioredis options (TLS, password, db), merged over this store's defaults. */
  readonly redisOptions?: RedisOptions;
  /** Further ioredis Cluster options, merged over this store's defaults. */
  readonly clusterOptions?: ClusterOptions;
  /** Prefix of every key (default 'httpauth:'); must not contain braces. */
  readonly keyPrefix?: string;
  /** Upper bound of one store operation in milliseconds (default 500). */
  readonly commandTimeoutMs?: number;
  /** Connection attempt timeout in milliseconds (default 2000). */
  readonly connectTimeoutMs?: number;
  /** 'none' (default): fail closed with 503. 'local': serve from memory during an outage. */
  readonly fallback?: StoreFallback;
  /** Bounds of the local fallback store. */
  readonly localStore?: MemoryStoreOptions;
  /** How often an unavailable Redis is probed with PING, in milliseconds (default 1000). */
  readonly probeIntervalMs?: number;
  /**
   * After Redis is found to have lost its data (restarted without persistence, failed over to an
   * empty replica, flushed), replay-protected checks stay refused this long, or as long as the
   * longest TTL this store wrote if that is longer: the lost replay records would have lived that
   * long (default 600 000 ms, twice the default Kerberos clock skew). 0 turns the guard off.
   */
  readonly dataLossGuardMs?: number;
  /**
   * How often a connected store re-reads the epoch marker, to notice a FLUSHALL or an eviction
   * that happened without a reconnection (default 5000 ms).
   */
  readonly epochCheckIntervalMs?: number;
  /** Where the once-per-outage warnings go (default console.warn). */
  readonly warn?: (message: string) => void;
  /**
   * New entries one owner (an authenticated principal) may create per window in Redis, so one
   * client cannot exhaust the shared store (owner-quota.ts). Default 50 000 per 10 minutes;
   * `false` turns it off.
   */
  readonly ownerQuota?: OwnerQuotaOptions | false;
}

/** What a Redis-side write answers when the owner was over its quota (thrown outside #run). */
const OVER_QUOTA = Symbol('over-quota');

const DEFAULT_COMMAND_TIMEOUT_MS = 500;
const DEFAULT_CONNECT_TIMEOUT_MS = 2000;
const DEFAULT_PROBE_INTERVAL_MS = 1000;
/** The first probe after a failure comes quickly: a blip should not cost a whole interval. */
const FIRST_PROBE_DELAY_MS = 50;
const DEFAULT_DATA_LOSS_GUARD_MS = 600_000;
/** The longest TTL that stretches the data-loss guard (a day). */
const MAX_GUARD_TTL_MS = 86_400_000;
/** Reconnection backoff ceiling: a returning Redis is found within this time. */
const MAX_RECONNECT_DELAY_MS = 1000;

/** The few commands used here, typed once for both Redis and Cluster. */
interface Commands {
  set(key: string, value: string, px: 'PX', ttl: number, nx: 'NX'): Promise<string | null>;
  set(key: string, value: string, condition: 'NX' | 'XX'): Promise<string | null>;
  get(key: string): Promise<string | null>;
  del(key: string): Promise<number>;
  ping(): Promise<string>;
  evalsha(sha1: string, keys: number, ...args: string[]): Promise<unknown>;
  eval(source: string, keys: number, ...args: string[]): Promise<unknown>;
}

/** An operation that failed on Redis, with a reason that carries no key and no value. */
class RedisFailure extends Error {
  override readonly name = 'RedisFailure';
  constructor(readonly reason: StoreFailureReason) {
    super(`Redis ${reason}`);
  }
}

/** Reply errors that mean the server cannot serve now, rather than a problem with one key. */
const UNAVAILABLE_REPLY =
  /^(?:LOADING|BUSY|READONLY|CLUSTERDOWN|MASTERDOWN|OOM|TRYAGAIN|NOREPLICAS|MISCONF)\b/;

interface Classified {
  readonly reason: StoreFailureReason;
  /** True when Redis as a whole is unavailable (an outage), not just this one command. */
  readonly outage: boolean;
}

function classify(error: unknown): Classified {
  if (error instanceof RedisFailure) return { reason: error.reason, outage: true };
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : '';
  if (/timed? ?out/i.test(message)) return { reason: 'timeout', outage: true };
  // ioredis ReplyError: the server answered with an error.
  if (name === 'ReplyError') return { reason: 'reply', outage: UNAVAILABLE_REPLY.test(message) };
  return { reason: 'connection', outage: true };
}

function parseEpoch(value: string | null): { id: string; until: number | undefined } | undefined {
  if (value === null) return undefined;
  const [id = '', until] = value.split(' ');
  const end = until === undefined ? undefined : Number(until);
  return { id, until: end !== undefined && Number.isFinite(end) ? end : undefined };
}

function isClient(value: unknown): value is RedisClient {
  return (
    value instanceof Redis ||
    value instanceof Cluster ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as { evalsha?: unknown }).evalsha === 'function' &&
      typeof (value as { status?: unknown }).status === 'string')
  );
}

function positive(value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0)
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  return value;
}

/** PX takes a positive integer; the memory store likewise keeps an entry at least 1 ms. */
// (The store also remembers the longest TTL, for the data-loss guard: see #ttl.)
function ttlArgument(ttlMs: number): number {
  if (typeof ttlMs !== 'number' || Number.isNaN(ttlMs))
    throw new HttpAuthError('ERR_HTTPAUTH_INTERNAL');
  return Math.max(1, Math.min(Math.ceil(ttlMs), Number.MAX_SAFE_INTEGER));
}

/** Exponential reconnection backoff, capped so a returning Redis is picked up quickly. */
function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 10), MAX_RECONNECT_DELAY_MS);
}

function createClient(options: RedisStoreOptions): RedisClient {
  const connectTimeout = positive(options.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS);
  // Commands are never queued while disconnected (they fail at once and the store answers
  // unavailable), and never retried behind the caller's back: the caller decides. The store
  // bounds every operation itself (#bounded), so ioredis's commandTimeout is not used.
  const nodeDefaults: RedisOptions = {
    connectTimeout,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: true,
  };
  if (options.cluster !== undefined) {
    if (options.cluster.length === 0) throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
    return new Cluster([...options.cluster], {
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      clusterRetryStrategy: reconnectDelay,
      ...options.clusterOptions,
      redisOptions: {
        ...nodeDefaults,
        ...options.clusterOptions?.redisOptions,
        ...options.redisOptions,
      },
    });
  }
  const common: RedisOptions = {
    ...nodeDefaults,
    enableOfflineQueue: false,
    retryStrategy: reconnectDelay,
    ...options.redisOptions,
  };
  if (options.url !== undefined) return new Redis(options.url, common);
  if (options.sentinels !== undefined) {
    return new Redis({
      ...common,
      sentinels: [...options.sentinels],
      ...(options.name === undefined ? {} : { name: options.name }),
    });
  }
  return new Redis({
    ...common,
    host: options.host ?? common.host ?? '127.0.0.1',
    port: options.port ?? common.port ?? 6379,
  });
}

interface PendingOperation {
  /** performance.now() after which the operation counts as timed out. */
  readonly deadline: number;
  readonly reject: (error: Error) => void;
}

/** What the local fallback recorded during an outage, written back to Redis when it returns. */
type JournalEntry =
  | { readonly op: 'add' | 'set'; readonly value: string; readonly expiresAt: number }
  | { readonly op: 'advance'; readonly value: number; readonly expiresAt: number }
  | { readonly op: 'delete' };

export class RedisStore implements KeyValueStore {
  readonly #client: RedisClient;
  readonly #commands: Commands;
  readonly #ownsClient: boolean;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #probeIntervalMs: number;
  readonly #policy: 'closed' | 'local';
  readonly #localOptions: MemoryStoreOptions;
  #local: MemoryStore | undefined;
  readonly #localLimit: number;
  readonly #journal = new Map<string, JournalEntry>();
  readonly #warn: (message: string) => void;
  readonly #dataLossGuardMs: number;
  readonly #ownerQuota: OwnerQuota | undefined;
  /** 'starting' until the first successful probe; 'down' during an outage or a data-loss guard. */
  #state: 'starting' | 'up' | 'down' = 'starting';
  #closed = false;
  #probe: NodeJS.Timeout | undefined;
  #probing = false;
  readonly #epochCheckIntervalMs: number;
  /** Operations in flight with their deadlines, oldest first (see #bounded). */
  readonly #pending = new Set<PendingOperation>();
  #sweeper: NodeJS.Timeout | undefined;
  #epochWatch: NodeJS.Timeout | undefined;
  #waiters: (() => void)[] = [];
  /** The epoch id last seen in Redis. */
  #epoch: string | undefined;
  /** Until when checks are refused after a data loss (ms since the epoch); 0 when not. */
  #guardUntil = 0;
  /** The longest TTL written through this store: how long a lost record could have mattered. */
  #longestTtl = 0;

  /**
   * @param source an ioredis `Redis` or `Cluster` (used as given, not closed by `close()`), or
   *   options to create one.
   * @param options store options when `source` is a client.
   */
  constructor(source: RedisClient | RedisStoreOptions = {}, options: RedisStoreOptions = {}) {
    const settings = isClient(source) ? options : source;
    this.#timeoutMs = positive(settings.commandTimeoutMs, DEFAULT_COMMAND_TIMEOUT_MS);
    this.#probeIntervalMs = positive(settings.probeIntervalMs, DEFAULT_PROBE_INTERVAL_MS);
    this.#prefix = checkKeyPrefix(settings.keyPrefix ?? DEFAULT_KEY_PREFIX);
    const fallback = settings.fallback ?? 'none';
    if (fallback !== 'none' && fallback !== 'local') {
      throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
    }
    this.#policy = fallback === 'local' ? 'local' : 'closed';
    this.#localLimit = settings.localStore?.maxEntries ?? 100_000;
    this.#localOptions = { ...settings.localStore, maxEntries: this.#localLimit };
    this.#local = this.#policy === 'local' ? new MemoryStore(this.#localOptions) : undefined;
    this.#warn = settings.warn ?? ((message) => console.warn(message));
    const guard = settings.dataLossGuardMs ?? DEFAULT_DATA_LOSS_GUARD_MS;
    if (!Number.isFinite(guard) || guard < 0)
      throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
    this.#dataLossGuardMs = guard;
    this.#epochCheckIntervalMs = positive(settings.epochCheckIntervalMs, 5000);
    this.#ownerQuota = resolveOwnerQuota(settings.ownerQuota);

    if (isClient(source)) {
      this.#client = source;
      this.#ownsClient = false;
    } else {
      this.#client = createClient(settings);
      this.#ownsClient = true;
      // Without a listener ioredis prints every connection error; the store reports one
      // warning per outage instead.
      this.#client.on('error', () => undefined);
    }
    this.#commands = this.#client as unknown as Commands;
    // Every reconnection passes through 'close': the store stops using Redis until a probe has
    // checked that Redis still holds its data (the epoch), so no request slips in between.
    this.#client.on('close', () => this.#down('connection'));
    this.#client.on('ready', () => this.#schedule(0));
    if (this.#client.status === 'ready') this.#schedule(0);
  }

  /** The ioredis client, for health checks and shutdown by the application. */
  get client(): RedisClient {
    return this.#client;
  }

  /** True when requests are answered from Redis; false while starting, during an outage and during a data-loss guard. */
  get available(): boolean {
    return this.#state === 'up';
  }

  /**
   * Resolves once the store answers from Redis: connected, and the epoch checked. Until then
   * requests fail closed (nothing is queued while disconnected), so await this before serving.
   * Rejects with ERR_HTTPAUTH_STORE_UNAVAILABLE after `timeoutMs` (default 5 s).
   */
  async ready(timeoutMs = 5000): Promise<void> {
    if (this.#state === 'up') return;
    if (this.#client.status === 'wait') this.#client.connect().catch(() => undefined);
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
   * `owner` counts a new entry against that principal's quota (`ownerQuota`, owner-quota.ts) and,
   * during an outage, against the local fallback store's per-owner cap.
   */
  async add(key: string, value: string, ttlMs: number, owner?: string): Promise<boolean> {
    const ttl = this.#ttl(ttlMs);
    return this.#quotaChecked(
      await this.#run(
        async (redis) => {
          const added = (await redis.set(this.#key(key), value, 'PX', ttl, 'NX')) === 'OK';
          return added ? this.#charge(redis, key, owner, true) : false;
        },
        async (local) => {
          const added = await local.add(key, value, ttl, owner);
          if (added) this.#record(key, { op: 'add', value, expiresAt: Date.now() + ttl });
          return added;
        },
      ),
    );
  }

  /**
   * Count a new entry against its owner's quota; over it, delete the entry again (nothing was
   * accepted with it yet) and answer OVER_QUOTA.
   */
  async #charge(
    redis: Commands,
    key: string,
    owner: string | undefined,
    created: boolean,
  ): Promise<true | typeof OVER_QUOTA> {
    const quota = this.#ownerQuota;
    if (!created || owner === undefined || quota === undefined) return true;
    const args = [String(quota.maxNewEntries), String(quota.windowMs)];
    if ((await this.#script(redis, OWNER_QUOTA, ownerQuotaKey(owner), args)) === 1) return true;
    await redis.del(this.#key(key));
    return OVER_QUOTA;
  }

  #quotaChecked(result: boolean | typeof OVER_QUOTA): boolean {
    if (result === OVER_QUOTA) throw new HttpAuthError('ERR_HTTPAUTH_STORE_QUOTA');
    return result;
  }

  async get(key: string): Promise<string | undefined> {
    return this.#run(
      async (redis) => (await redis.get(this.#key(key))) ?? undefined,
      (local) => local.get(key),
    );
  }

  async compareAndSet(
    key: string,
    expected: string | undefined,
    value: string,
    ttlMs: number,
    owner?: string,
  ): Promise<boolean> {
    const ttl = this.#ttl(ttlMs);
    const args =
      expected === undefined ? ['0', '', value, String(ttl)] : ['1', expected, value, String(ttl)];
    return this.#quotaChecked(
      await this.#run(
        async (redis) => {
          if ((await this.#script(redis, COMPARE_AND_SET, key, args)) !== 1) return false;
          return this.#charge(redis, key, owner, expected === undefined);
        },
        async (local) => {
          const replaced = await local.compareAndSet(key, expected, value, ttl, owner);
          if (replaced) this.#record(key, { op: 'set', value, expiresAt: Date.now() + ttl });
          return replaced;
        },
      ),
    );
  }

  async advance(key: string, value: number, ttlMs: number, owner?: string): Promise<boolean> {
    if (!Number.isSafeInteger(value)) throw new HttpAuthError('ERR_HTTPAUTH_INTERNAL');
    const ttl = this.#ttl(ttlMs);
    return this.#quotaChecked(
      await this.#run(
        async (redis) => {
          const outcome = await this.#script(redis, ADVANCE, key, [String(value), String(ttl)]);
          if (outcome !== 1 && outcome !== 2) return false;
          return this.#charge(redis, key, owner, outcome === 2);
        },
        async (local) => {
          const advanced = await local.advance(key, value, ttl, owner);
          if (advanced) this.#record(key, { op: 'advance', value, expiresAt: Date.now() + ttl });
          return advanced;
        },
      ),
    );
  }

  async delete(key: string): Promise<void> {
    await this.#run(
      async (redis) => {
        await redis.del(this.#key(key));
      },
      async (local) => {
        await local.delete(key);
        this.#record(key, { op: 'delete' });
      },
    );
  }

  /** Stops probing; quits the connection when this store created it. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#probe !== undefined) clearTimeout(this.#probe);
    this.#probe = undefined;
    if (this.#epochWatch !== undefined) clearInterval(this.#epochWatch);
    this.#epochWatch = undefined;
    await this.#local?.close();
    this.#journal.clear();
    if (!this.#ownsClient) return;
    try {
      await this.#bounded(this.#client.quit());
    } catch {
      // A dead or stuck Redis does not answer QUIT; drop the socket instead.
    }
    // (The sweep timer stops by itself once the last operation in flight has settled.)
    this.#client.disconnect();
  }

  #ttl(ttlMs: number): number {
    const ttl = ttlArgument(ttlMs);
    // Capped: one absurd TTL must not turn a data loss into a refusal without end.
    const counted = Math.min(ttl, MAX_GUARD_TTL_MS);
    if (counted > this.#longestTtl) this.#longestTtl = counted;
    return ttl;
  }

  #key(key: string): string {
    return redisKey(this.#prefix, key);
  }

  /** EVALSHA first; the full script only when the server has not cached it (NOSCRIPT). */
  async #script(
    redis: Commands,
    script: LuaScript,
    key: string,
    args: readonly string[],
  ): Promise<unknown> {
    const redisKeyName = this.#key(key);
    try {
      return await redis.evalsha(script.sha1, 1, redisKeyName, ...args);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
        return redis.eval(script.source, 1, redisKeyName, ...args);
      }
      throw error;
    }
  }

  /**
   * Rejects with a RedisFailure('timeout') when `operation` takes longer than the bound. One
   * shared sweep timer serves every operation in flight, which is cheaper on a busy node than
   * arming and clearing a timer per operation; deadlines are kept in start order, so each sweep
   * stops at the first one still running. Precision: the bound plus one sweep tick.
   */
  #bounded<T>(operation: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: PendingOperation = { deadline: performance.now() + this.#timeoutMs, reject };
      this.#pending.add(entry);
      if (this.#sweeper === undefined) this.#startSweeper();
      operation.then(
        (value) => {
          this.#pending.delete(entry);
          resolve(value);
        },
        (error: unknown) => {
          this.#pending.delete(entry);
          reject(error instanceof Error ? error : new RedisFailure('connection'));
        },
      );
    });
  }

  #startSweeper(): void {
    const tick = Math.max(5, Math.min(50, this.#timeoutMs / 10));
    this.#sweeper = setInterval(() => {
      if (this.#pending.size === 0) {
        clearInterval(this.#sweeper);
        this.#sweeper = undefined;
        return;
      }
      const now = performance.now();
      for (const entry of this.#pending) {
        if (entry.deadline > now) break;
        this.#pending.delete(entry);
        entry.reject(new RedisFailure('timeout'));
      }
    }, tick);
    this.#sweeper.unref();
  }

  async #run<T>(
    onRedis: (redis: Commands) => Promise<T>,
    onLocal: (local: MemoryStore) => Promise<T>,
  ): Promise<T> {
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
      return await this.#bounded(onRedis(this.#commands));
    } catch (error) {
      const { reason, outage } = classify(error);
      // A reply error about one key (WRONGTYPE) is no outage: fail closed, keep the state.
      if (outage) this.#down(reason);
      if (outage && local !== undefined) return onLocal(local);
      // The cause names only the coarse reason: ioredis errors carry the command's arguments
      // (keys hold nonces and principal names), which must not reach logs.
      throw new HttpAuthError('ERR_HTTPAUTH_STORE_UNAVAILABLE', {
        cause: new RedisFailure(reason),
      });
    }
  }

  #record(key: string, entry: JournalEntry): void {
    // Bounded like the local store: past the bound the oldest record is dropped (it can only
    // widen the cross-node replay window of this outage, which the local policy accepts).
    this.#journal.delete(key);
    if (this.#journal.size >= this.#localLimit) {
      const oldest = this.#journal.keys().next();
      if (oldest.done !== true) this.#journal.delete(oldest.value);
    }
    this.#journal.set(key, entry);
  }

  #down(reason: StoreFailureReason): void {
    if (this.#closed || this.#state === 'down') return;
    this.#state = 'down';
    this.#announceDown(reason);
    this.#schedule(FIRST_PROBE_DELAY_MS);
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
    this.#watchEpoch();
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

  /**
   * While up, re-read the epoch marker now and then: a FLUSHALL, or an eviction under an
   * allkeys-* policy, empties Redis without a reconnection. A missing or changed marker takes the
   * node down; the probe then finds the loss and starts the guard.
   */
  #watchEpoch(): void {
    if (this.#epochWatch !== undefined || this.#closed) return;
    this.#epochWatch = setInterval(() => {
      if (this.#state !== 'up') return;
      this.#bounded(this.#commands.get(this.#prefix + EPOCH_KEY)).then(
        (value) => {
          if (this.#state === 'up' && parseEpoch(value)?.id !== this.#epoch) {
            this.#down('data-loss');
          }
        },
        () => undefined, // an outage shows up in the requests and the probe
      );
    }, this.#epochCheckIntervalMs);
    this.#epochWatch.unref();
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
      await this.#bounded(this.#commands.ping());
      await this.#checkEpoch();
      const guarded = this.#guardUntil - Date.now();
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
   * Did Redis lose its data since this store last looked? The epoch marker answers: absent or
   * different means every replay record and nonce count may be gone, so a token accepted before
   * could be accepted again. Checks then stay refused (or local) for the guard period.
   * Only the slot holding the marker is checked on Redis Cluster (docs/several-nodes.md).
   */
  async #checkEpoch(): Promise<void> {
    const key = this.#prefix + EPOCH_KEY;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const now = Date.now();
      const stored = parseEpoch(await this.#bounded(this.#commands.get(key)));
      if (stored === undefined) {
        // First contact of this store with an empty Redis is a fresh start; any later absence
        // is a loss.
        const lost = this.#epoch !== undefined;
        const until = lost ? this.#startGuard(now) : 0;
        const id = randomUUID();
        const written = await this.#bounded(
          this.#commands.set(key, until > 0 ? `${id} ${until}` : id, 'NX'),
        );
        if (written === 'OK') {
          this.#epoch = id;
          return;
        }
        continue; // another node wrote it first: read theirs
      }
      if (this.#epoch !== undefined && stored.id !== this.#epoch) {
        const until = this.#startGuard(now);
        if ((stored.until ?? 0) < until) {
          // Make the guard visible to nodes that start while it lasts (best effort).
          await this.#bounded(this.#commands.set(key, `${stored.id} ${until}`, 'XX'));
        }
      }
      this.#epoch = stored.id;
      if (stored.until !== undefined && stored.until > now && this.#dataLossGuardMs > 0) {
        this.#guardUntil = Math.max(this.#guardUntil, stored.until);
      }
      return;
    }
    throw new RedisFailure('reply');
  }

  /** Starts (or extends) the data-loss guard; returns its end, 0 when the guard is off. */
  #startGuard(now: number): number {
    if (this.#dataLossGuardMs === 0) return 0;
    const until = now + Math.max(this.#dataLossGuardMs, this.#longestTtl);
    if (until > this.#guardUntil) {
      this.#guardUntil = until;
      publishStoreState({
        store: 'redis',
        state: 'down',
        policy: this.#policy,
        reason: 'data-loss',
      });
      this.#warn(
        `httpauth: Redis lost its data (restarted without persistence, failed over or flushed); ` +
          `replay-protected checks are ${this.#policy === 'local' ? 'served locally' : 'refused'} ` +
          `until ${new Date(until).toISOString()}, when every lost record would have expired`,
      );
    }
    return until;
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
      const redisKeyName = this.#key(key);
      if (entry.op === 'delete') {
        await this.#bounded(this.#commands.del(redisKeyName));
      } else {
        const remaining = Math.ceil(entry.expiresAt - Date.now());
        if (remaining > 0 && entry.op === 'advance') {
          await this.#bounded(
            this.#script(this.#commands, ADVANCE, key, [String(entry.value), String(remaining)]),
          );
        } else if (remaining > 0) {
          await this.#bounded(
            this.#commands.set(redisKeyName, String(entry.value), 'PX', remaining, 'NX'),
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
