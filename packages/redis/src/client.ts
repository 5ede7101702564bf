/**
 * The connection to Redis: the ioredis client (standalone, Sentinel or Cluster) a RedisStore
 * creates from its options or is given, the few commands the store sends, and the bound on every
 * command (CommandDeadlines) with the classification of what went wrong (RedisFailure).
 *
 * Commands are never queued while disconnected (they fail at once and the store answers
 * unavailable), and never retried behind the caller's back: the caller decides. The store bounds
 * every operation itself, so ioredis's commandTimeout is not used.
 */
import { HttpAuthError } from '@httpauth/core';
import type { ClusterNode, ClusterOptions, RedisOptions, SentinelAddress } from 'ioredis';
import { Cluster, Redis } from 'ioredis';
import type { StoreFailureReason } from './events.js';

/**
 * An ioredis client, single node (standalone or through Sentinel) or Cluster; `RedisStore` takes a
 * ready one instead of connection options.
 */
export type RedisClient = Redis | Cluster;

/** Where Redis is and how to reach it. */
export interface RedisConnectionOptions {
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
  /** Connection attempt timeout in milliseconds (default 2000). */
  readonly connectTimeoutMs?: number;
}

/** The few commands used here, typed once for both Redis and Cluster. */
export interface Commands {
  set(key: string, value: string, px: 'PX', ttl: number, nx: 'NX'): Promise<string | null>;
  set(key: string, value: string, condition: 'NX' | 'XX'): Promise<string | null>;
  get(key: string): Promise<string | null>;
  del(key: string): Promise<number>;
  ping(): Promise<string>;
  evalsha(sha1: string, keys: number, ...args: string[]): Promise<unknown>;
  eval(source: string, keys: number, ...args: string[]): Promise<unknown>;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 2000;
/** Reconnection backoff ceiling: a returning Redis is found within this time. */
const MAX_RECONNECT_DELAY_MS = 1000;

/** An option that must be a positive number, or its default when absent. */
export function positive(value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0)
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  return value;
}

export function isClient(value: unknown): value is RedisClient {
  return (
    value instanceof Redis ||
    value instanceof Cluster ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as { evalsha?: unknown }).evalsha === 'function' &&
      typeof (value as { status?: unknown }).status === 'string')
  );
}

/** Exponential reconnection backoff, capped so a returning Redis is picked up quickly. */
function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 10), MAX_RECONNECT_DELAY_MS);
}

export function createClient(options: RedisConnectionOptions): RedisClient {
  const connectTimeout = positive(options.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS);
  const nodeDefaults: RedisOptions = {
    connectTimeout,
    maxRetriesPerRequest: 0,
    // ioredis's auto-pipelining holds every command until setImmediate and wraps it in a
    // Pipeline: a PING one at a time took 77-107 µs with it and 40-53 µs without on loopback here
    // (bench/README.md, "Redis store"). Written at once instead, commands issued while the socket
    // is still busy leave together anyway (net.Socket buffers them and flushes with writev).
    enableAutoPipelining: false,
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

/** An operation that failed on Redis, with a reason that carries no key and no value. */
export class RedisFailure extends Error {
  override readonly name = 'RedisFailure';
  constructor(readonly reason: StoreFailureReason) {
    super(`Redis ${reason}`);
  }
}

/** Reply errors that mean the server cannot serve now, rather than a problem with one key. */
const UNAVAILABLE_REPLY =
  /^(?:LOADING|BUSY|READONLY|CLUSTERDOWN|MASTERDOWN|OOM|TRYAGAIN|NOREPLICAS|MISCONF)\b/;

export interface Classified {
  readonly reason: StoreFailureReason;
  /** True when Redis as a whole is unavailable (an outage), not just this one command. */
  readonly outage: boolean;
}

export function classify(error: unknown): Classified {
  if (error instanceof RedisFailure) return { reason: error.reason, outage: true };
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : '';
  if (/timed? ?out/i.test(message)) return { reason: 'timeout', outage: true };
  // ioredis ReplyError: the server answered with an error.
  if (name === 'ReplyError') return { reason: 'reply', outage: UNAVAILABLE_REPLY.test(message) };
  return { reason: 'connection', outage: true };
}

interface PendingOperation {
  /** performance.now() after which the operation counts as timed out. */
  readonly deadline: number;
  readonly reject: (error: Error) => void;
}

/**
 * The bound on every Redis operation: rejects with a RedisFailure('timeout') when an operation
 * takes longer than `timeoutMs`. One shared sweep timer serves every operation in flight, which
 * is cheaper on a busy node than arming and clearing a timer per operation; deadlines are kept in
 * start order, so each sweep stops at the first one still running. Precision: the bound plus one
 * sweep tick. The timer stops by itself once the last operation in flight has settled.
 */
export class CommandDeadlines {
  /** Operations in flight with their deadlines, oldest first. */
  readonly #pending = new Set<PendingOperation>();
  #sweeper: NodeJS.Timeout | undefined;

  constructor(readonly timeoutMs: number) {}

  bounded<T>(operation: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: PendingOperation = { deadline: performance.now() + this.timeoutMs, reject };
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
    const tick = Math.max(5, Math.min(50, this.timeoutMs / 10));
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
}
