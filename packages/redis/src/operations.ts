/**
 * The store operations on Redis, each one command or one Lua script on one key:
 *
 *   add            SET key value PX ttl NX                  (one command)
 *   get            GET key
 *   compareAndSet  Lua script, EVALSHA / EVAL               (one atomic step, scripts.ts)
 *   advance        Lua script, EVALSHA / EVAL               (one atomic step, scripts.ts)
 *   delete         DEL key
 *
 * plus the owner quota charged on each new entry (owner-quota.ts). Keys are logical keys (core's
 * layout), framed here for Redis (keys.ts). Timeouts, outages and the local fallback are the
 * caller's (fallback.ts): these methods only talk to Redis.
 */
import { HttpAuthError } from '@httpauth/core';
import { ownerQuotaKey } from '@httpauth/core/wire';
import type { Commands } from './client.js';
import { redisKey } from './keys.js';
import type { OwnerQuota } from './owner-quota.js';
import type { LuaScript } from './scripts.js';
import { ADVANCE, COMPARE_AND_SET, OWNER_QUOTA } from './scripts.js';

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

export class RedisOperations {
  readonly #commands: Commands;
  readonly #prefix: string;
  readonly #ownerQuota: OwnerQuota | undefined;

  constructor(commands: Commands, prefix: string, ownerQuota: OwnerQuota | undefined) {
    this.#commands = commands;
    this.#prefix = prefix;
    this.#ownerQuota = ownerQuota;
  }

  /** SET NX: true when this call created the entry (then charged to `owner`). */
  async add(
    key: string,
    value: string,
    ttl: number,
    owner: string | undefined,
  ): Promise<boolean | typeof OVER_QUOTA> {
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
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
        return this.#commands.eval(script.source, 1, redisKeyName, ...args);
      }
      throw error;
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
    const quota = this.#ownerQuota;
    if (!created || owner === undefined || quota === undefined) return true;
    const args = [String(quota.maxNewEntries), String(quota.windowMs)];
    if ((await this.script(OWNER_QUOTA, ownerQuotaKey(owner), args)) === 1) return true;
    await this.#commands.del(this.key(key));
    return OVER_QUOTA;
  }
}
