/**
 * RedisStore: core's KeyValueStore on Redis, so several nodes share one Kerberos replay cache,
 * one set of Digest nonce counts and one session revocation list. The parts:
 *
 *   client.ts      the ioredis connection (standalone, Sentinel, Cluster) and the command bound
 *   operations.ts  each store operation as one command or one Lua script, with the owner quota
 *   fallback.ts    the failure policy: fail closed, or a local store and its write-back
 *   epoch.ts       data-loss detection and the guard after it
 *   keys.ts        the key layout (core's, framed for Redis)
 *
 * Failure policy (docs/several-nodes.md): every operation is bounded by `commandTimeoutMs`; when
 * Redis cannot answer, an operation rejects with ERR_HTTPAUTH_STORE_UNAVAILABLE (503) or, with
 * `fallback: 'local'`, is served from a local MemoryStore until Redis answers again.
 */
import type { KeyValueStore, MemoryStoreOptions } from '@httpauth/core';
import { HttpAuthError, MemoryStore } from '@httpauth/core';
import type { RedisClient, RedisConnectionOptions } from './client.js';
import { CommandDeadlines, createClient, isClient, positive } from './client.js';
import { coalescingCommands } from './coalesce.js';
import { DataLossGuard } from './epoch.js';
import { Availability } from './fallback.js';
import { checkKeyPrefix, DEFAULT_KEY_PREFIX, EPOCH_KEY } from './keys.js';
import { quotaChecked, RedisOperations, ttlArgument } from './operations.js';
import type { OwnerQuotaOptions } from './owner-quota.js';
import { resolveOwnerQuota } from './owner-quota.js';

export type { RedisClient } from './client.js';

/** What the store does when Redis cannot answer. */
export type StoreFallback = 'none' | 'local';

/**
 * Options of `RedisStore`: where Redis is (URL, Sentinel or Cluster; or give a ready client as the
 * first argument), the key prefix, the command timeout, what to do during an outage (fail closed
 * with 503 by default, or serve from memory), the data-loss guard and the per-owner quota.
 */
export interface RedisStoreOptions extends RedisConnectionOptions {
  /** Prefix of every key (default 'httpauth:'); must not contain braces. */
  readonly keyPrefix?: string;
  /** Upper bound of one store operation in milliseconds (default 500). */
  readonly commandTimeoutMs?: number;
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

const DEFAULT_COMMAND_TIMEOUT_MS = 500;
const DEFAULT_PROBE_INTERVAL_MS = 1000;
const DEFAULT_DATA_LOSS_GUARD_MS = 600_000;
const DEFAULT_LOCAL_MAX_ENTRIES = 100_000;

export class RedisStore implements KeyValueStore {
  readonly #client: RedisClient;
  readonly #ownsClient: boolean;
  readonly #deadlines: CommandDeadlines;
  readonly #operations: RedisOperations;
  readonly #guard: DataLossGuard;
  readonly #availability: Availability;

  /**
   * @param source an ioredis `Redis` or `Cluster` (used as given, not closed by `close()`), or
   *   options to create one.
   * @param options store options when `source` is a client.
   */
  constructor(source: RedisClient | RedisStoreOptions = {}, options: RedisStoreOptions = {}) {
    const settings = isClient(source) ? options : source;
    this.#deadlines = new CommandDeadlines(
      positive(settings.commandTimeoutMs, DEFAULT_COMMAND_TIMEOUT_MS),
    );
    const probeIntervalMs = positive(settings.probeIntervalMs, DEFAULT_PROBE_INTERVAL_MS);
    const prefix = checkKeyPrefix(settings.keyPrefix ?? DEFAULT_KEY_PREFIX);
    const fallback = settings.fallback ?? 'none';
    if (fallback !== 'none' && fallback !== 'local') {
      throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
    }
    const policy = fallback === 'local' ? 'local' : 'closed';
    const maxEntries = settings.localStore?.maxEntries ?? DEFAULT_LOCAL_MAX_ENTRIES;
    const localOptions = { ...settings.localStore, maxEntries };
    // Made here, before any connection: bad local bounds throw without leaving a client behind.
    const local = policy === 'local' ? new MemoryStore(localOptions) : undefined;
    const warn = settings.warn ?? ((message: string) => console.warn(message));
    const guardMs = settings.dataLossGuardMs ?? DEFAULT_DATA_LOSS_GUARD_MS;
    if (!Number.isFinite(guardMs) || guardMs < 0)
      throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
    const epochCheckIntervalMs = positive(settings.epochCheckIntervalMs, 5000);
    const ownerQuota = resolveOwnerQuota(settings.ownerQuota);

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
    const commands = coalescingCommands(this.#client);
    // Cluster spreads an entry and its owner's counter over different slots: no one script.
    const isCluster = (this.#client as { isCluster?: unknown }).isCluster === true;
    this.#operations = new RedisOperations(commands, prefix, ownerQuota, !isCluster);
    const deadlines = this.#deadlines;
    const key = prefix + EPOCH_KEY;
    this.#guard = new DataLossGuard({ commands, deadlines, key, guardMs, policy, warn });
    this.#availability = new Availability({
      policy,
      local,
      localOptions,
      probeIntervalMs,
      epochCheckIntervalMs,
      warn,
      deadlines,
      operations: this.#operations,
      guard: this.#guard,
    });
    this.#availability.follow(this.#client);
  }

  /** The ioredis client, for health checks and shutdown by the application. */
  get client(): RedisClient {
    return this.#client;
  }

  /** True when requests are answered from Redis; false while starting, during an outage and during a data-loss guard. */
  get available(): boolean {
    return this.#availability.up;
  }

  /**
   * Resolves once the store answers from Redis: connected, and the epoch checked. Until then
   * requests fail closed (nothing is queued while disconnected), so await this before serving.
   * Rejects with ERR_HTTPAUTH_STORE_UNAVAILABLE after `timeoutMs` (default 5 s).
   */
  async ready(timeoutMs = 5000): Promise<void> {
    if (this.#availability.up) return;
    if (this.#client.status === 'wait') this.#client.connect().catch(() => undefined);
    await this.#availability.whenUp(timeoutMs);
  }

  /**
   * `owner` counts a new entry against that principal's quota (`ownerQuota`, owner-quota.ts) and,
   * during an outage, against the local fallback store's per-owner cap.
   */
  async add(key: string, value: string, ttlMs: number, owner?: string): Promise<boolean> {
    const ttl = this.#ttl(ttlMs);
    return quotaChecked(
      await this.#availability.run(
        () => this.#operations.add(key, value, ttl, owner),
        async (local) => {
          const added = await local.add(key, value, ttl, owner);
          if (added)
            this.#availability.record(key, { op: 'add', value, expiresAt: Date.now() + ttl });
          return added;
        },
      ),
    );
  }

  async get(key: string): Promise<string | undefined> {
    return this.#availability.run(
      () => this.#operations.get(key),
      (local) => local.get(key),
    );
  }

  /** The parameters are core's (KeyValueStore.compareAndSet, store/types.ts). */
  async compareAndSet(...request: Parameters<KeyValueStore['compareAndSet']>): Promise<boolean> {
    const [key, expected, value, ttlMs, owner] = request;
    const ttl = this.#ttl(ttlMs);
    return quotaChecked(
      await this.#availability.run(
        () => this.#operations.replace(key, expected, { value, ttl, owner }),
        async (local) => {
          const replaced = await local.compareAndSet(key, expected, value, ttl, owner);
          if (replaced)
            this.#availability.record(key, { op: 'set', value, expiresAt: Date.now() + ttl });
          return replaced;
        },
      ),
    );
  }

  async advance(key: string, value: number, ttlMs: number, owner?: string): Promise<boolean> {
    if (!Number.isSafeInteger(value)) throw new HttpAuthError('ERR_HTTPAUTH_INTERNAL');
    const ttl = this.#ttl(ttlMs);
    return quotaChecked(
      await this.#availability.run(
        () => this.#operations.advance(key, value, ttl, owner),
        async (local) => {
          const advanced = await local.advance(key, value, ttl, owner);
          if (advanced)
            this.#availability.record(key, { op: 'advance', value, expiresAt: Date.now() + ttl });
          return advanced;
        },
      ),
    );
  }

  /**
   * Removes `key`, if present. During an outage under the `local` fallback the removal is made in
   * memory and written back to Redis when it answers again.
   */
  async delete(key: string): Promise<void> {
    await this.#availability.run(
      () => this.#operations.delete(key),
      async (local) => {
        await local.delete(key);
        this.#availability.record(key, { op: 'delete' });
      },
    );
  }

  /** Stops probing; quits the connection when this store created it. */
  async close(): Promise<void> {
    await this.#availability.close();
    if (!this.#ownsClient) return;
    try {
      await this.#deadlines.bounded(this.#client.quit());
    } catch {
      // A dead or stuck Redis does not answer QUIT; drop the socket instead.
    }
    // (The sweep timer stops by itself once the last operation in flight has settled.)
    this.#client.disconnect();
  }

  #ttl(ttlMs: number): number {
    const ttl = ttlArgument(ttlMs);
    this.#guard.noteTtl(ttl);
    return ttl;
  }
}
