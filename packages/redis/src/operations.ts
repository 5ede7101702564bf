/**
 * The store operations on Redis, each one command or one Lua script on one key:
 *
 *   add            SET key value PX ttl NX                  (one command)
 *   get            GET key
 *   compareAndSet  Lua script, EVALSHA / EVAL               (one atomic step, scripts.ts)
 *   advance        Lua script, EVALSHA / EVAL               (one atomic step, scripts.ts)
 *   delete         DEL key
 *
 * plus the owner quota charged on each new entry (owner-quota.ts). Where the entry and the
 * owner's counter live on one server (standalone, Sentinel), a new entry and its charge are one
 * script (ADD_CHARGED, ADVANCE_CHARGED): one round trip per Kerberos accept or Digest nonce
 * instead of two. On Redis Cluster the two keys hash to different slots, which one script may not
 * touch, so there the charge is a second step. Keys are logical keys (core's layout), framed here
 * for Redis (keys.ts). Timeouts, outages and the local fallback are the caller's (fallback.ts):
 * these methods only talk to Redis.
 */
import { HttpAuthError } from '@httpauth/core';
import { ownerQuotaKey } from '@httpauth/core/wire';
import type { Commands } from './client.js';
import { redisKey } from './keys.js';
import type { OwnerQuota } from './owner-quota.js';
import type { LuaScript } from './scripts.js';
import { ADD_CHARGED, ADVANCE, ADVANCE_CHARGED, COMPARE_AND_SET, OWNER_QUOTA } from './scripts.js';

/** What a Redis-side write answers when the owner was over its quota (thrown outside the run). */
export const OVER_QUOTA = Symbol('over-quota');

/** Throws ERR_HTTPAUTH_STORE_QUOTA for an answer of OVER_QUOTA. */
export function quotaChecked(result: boolean | typeof OVER_QUOTA): boolean {
  if (result === OVER_QUOTA) throw new HttpAuthError('ERR_HTTPAUTH_STORE_QUOTA');
  return result;
}

/** PX takes a positive integer; the memory store likewise keeps an entry at least 1 ms. */
export function ttlArgument(ttlMs: number): number {
  if (typeof ttlMs !== 'number' || Number.isNaN(ttlMs))
    throw new HttpAuthError('ERR_HTTPAUTH_INTERNAL');
  return Math.max(1, Math.min(Math.ceil(ttlMs), Number.MAX_SAFE_INTEGER));
}

/** Owners whose counter key is remembered (a few MiB at most; principals repeat). */
const OWNER_KEYS_REMEMBERED = 10_000;

/** The quota's arguments as Redis receives them, made once rather than per operation. */
interface QuotaArguments {
  readonly maxNewEntries: string;
  readonly windowMs: string;
}

export class RedisOperations {
  readonly #commands: Commands;
  readonly #prefix: string;
  readonly #quota: QuotaArguments | undefined;
  /** True when an entry and its owner's counter may be touched by one script (not Cluster). */
  readonly #chargeInOneStep: boolean;
  readonly #counterKeys = new Map<string, string>();

  constructor(
    commands: Commands,
    prefix: string,
    ownerQuota: OwnerQuota | undefined,
    chargeInOneStep: boolean,
  ) {
    this.#commands = commands;
    this.#prefix = prefix;
    this.#quota =
      ownerQuota === undefined
        ? undefined
        : {
            maxNewEntries: String(ownerQuota.maxNewEntries),
            windowMs: String(ownerQuota.windowMs),
          };
    this.#chargeInOneStep = chargeInOneStep;
  }

  /** SET NX: true when this call created the entry (then charged to `owner`). */
  async add(
    key: string,
    value: string,
    ttl: number,
    owner: string | undefined,
  ): Promise<boolean | typeof OVER_QUOTA> {
    if (owner !== undefined && this.#quota !== undefined && this.#chargeInOneStep) {
      return chargedOutcome(await this.#charged(ADD_CHARGED, key, owner, value, String(ttl)));
    }
    const added = (await this.setIfAbsent(key, value, ttl)) === 'OK';
    return added ? this.#charge(key, owner, true) : false;
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.#commands.get(this.key(key))) ?? undefined;
  }

  /** The COMPARE_AND_SET script; a replacement of an absent value is a new entry of `owner`. */
  async replace(
    key: string,
    expected: string | undefined,
    write: { readonly value: string; readonly ttl: number; readonly owner: string | undefined },
  ): Promise<boolean | typeof OVER_QUOTA> {
    const ttl = String(write.ttl);
    // Replacing an absent value is SET NX: with an owner to charge, ADD_CHARGED does both.
    if (
      expected === undefined &&
      write.owner !== undefined &&
      this.#quota !== undefined &&
      this.#chargeInOneStep
    ) {
      return chargedOutcome(await this.#charged(ADD_CHARGED, key, write.owner, write.value, ttl));
    }
    const args =
      expected === undefined ? ['0', '', write.value, ttl] : ['1', expected, write.value, ttl];
    if ((await this.script(COMPARE_AND_SET, key, args)) !== 1) return false;
    return this.#charge(key, write.owner, expected === undefined);
  }

  /** The ADVANCE script; only a counter it created counts towards the owner's quota. */
  async advance(
    key: string,
    value: number,
    ttl: number,
    owner: string | undefined,
  ): Promise<boolean | typeof OVER_QUOTA> {
    if (owner !== undefined && this.#quota !== undefined && this.#chargeInOneStep) {
      const outcome = await this.#charged(ADVANCE_CHARGED, key, owner, String(value), String(ttl));
      return chargedOutcome(outcome === 2 ? 1 : outcome);
    }
    const outcome = await this.advanceCounter(key, value, ttl);
    if (outcome !== 1 && outcome !== 2) return false;
    return this.#charge(key, owner, outcome === 2);
  }

  async delete(key: string): Promise<void> {
    await this.#commands.del(this.key(key));
  }

  /** SET key value PX ttl NX, uncharged: 'OK' when it created the entry. */
  setIfAbsent(key: string, value: string, ttl: number): Promise<string | null> {
    return this.#commands.set(this.key(key), value, 'PX', ttl, 'NX');
  }

  /** The ADVANCE script, uncharged: 0 not advanced, 1 raised, 2 created. */
  advanceCounter(key: string, value: number, ttl: number): Promise<unknown> {
    return this.script(ADVANCE, key, [String(value), String(ttl)]);
  }

  ping(): Promise<string> {
    return this.#commands.ping();
  }

  key(key: string): string {
    return redisKey(this.#prefix, key);
  }

  /** EVALSHA first; the full script only when the server has not cached it (NOSCRIPT). */
  async script(script: LuaScript, key: string, args: readonly string[]): Promise<unknown> {
    const redisKeyName = this.key(key);
    try {
      return await this.#commands.evalsha(script.sha1, 1, redisKeyName, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return this.#commands.eval(script.source, 1, redisKeyName, ...args);
    }
  }

  /**
   * The Redis key of `owner`'s quota counter. Core's key is a SHA-256 of the owner (so only a hash
   * is stored), which every accept would otherwise recompute for the same few principals; the
   * answers are remembered, at most OWNER_KEYS_REMEMBERED of them (then forgotten all at once).
   */
  #counterKey(owner: string): string {
    let key = this.#counterKeys.get(owner);
    if (key === undefined) {
      if (this.#counterKeys.size >= OWNER_KEYS_REMEMBERED) this.#counterKeys.clear();
      key = this.key(ownerQuotaKey(owner));
      this.#counterKeys.set(owner, key);
    }
    return key;
  }

  /** A two-key script (ADD_CHARGED, ADVANCE_CHARGED): the entry and its owner's counter. */
  async #charged(
    script: LuaScript,
    key: string,
    owner: string,
    value: string,
    ttl: string,
  ): Promise<unknown> {
    const quota = this.#quota as QuotaArguments;
    const entry = this.key(key);
    const counter = this.#counterKey(owner);
    try {
      return await this.#commands.evalsha(
        script.sha1,
        2,
        entry,
        counter,
        value,
        ttl,
        quota.maxNewEntries,
        quota.windowMs,
      );
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return this.#commands.eval(
        script.source,
        2,
        entry,
        counter,
        value,
        ttl,
        quota.maxNewEntries,
        quota.windowMs,
      );
    }
  }

  /**
   * Count a new entry against its owner's quota; over it, delete the entry again (nothing was
   * accepted with it yet) and answer OVER_QUOTA.
   */
  async #charge(
    key: string,
    owner: string | undefined,
    created: boolean,
  ): Promise<true | typeof OVER_QUOTA> {
    const quota = this.#quota;
    if (!created || owner === undefined || quota === undefined) return true;
    const args = [quota.maxNewEntries, quota.windowMs];
    if ((await this.script(OWNER_QUOTA, ownerQuotaKey(owner), args)) === 1) return true;
    await this.#commands.del(this.key(key));
    return OVER_QUOTA;
  }
}

/** The server has not cached the script (after a restart, a failover or SCRIPT FLUSH). */
function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/** A charged script's answer: 1 created (and charged), 0 not, -1 created but over the quota. */
function chargedOutcome(outcome: unknown): boolean | typeof OVER_QUOTA {
  if (outcome === -1) return OVER_QUOTA;
  return outcome === 1;
}
