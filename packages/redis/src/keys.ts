/**
 * The Redis key layout: core's logical keys (@httpauth/core STORE_KEY_LAYOUT, store/keys.ts in
 * core, which names every key core writes) framed for Redis, plus the one key this package adds.
 *
 *   <prefix><key>            when the logical key carries a hash tag and does not start with '{':
 *                            `digest:{<nonce>}:nc:<user tag>` -> `httpauth:digest:{<nonce>}:nc:<user tag>`
 *   <prefix>{<key>}          otherwise: the whole logical key becomes the hash tag
 *                            `httpauth:krb5rc:<sha256>` -> `httpauth:{httpauth:krb5rc:<sha256>}`
 *                            `session:revoked:<id>` -> `httpauth:{session:revoked:<id>}`
 *                            `owner-quota:<sha256>` -> `httpauth:{owner-quota:<sha256>}`
 *   <prefix>{httpauth-epoch} the epoch marker (epoch.ts, data-loss detection), written as it is
 *
 * with the prefix 'httpauth:' by default (option `keyPrefix`). redisKeyLayout() gives the table for
 * a prefix, derived from core's, so the two cannot drift apart. Redis Cluster hashes only the part
 * between the first '{' and the next '}' of a key (Redis Cluster specification, "Hash tags"), so
 * keys that share a tag share a slot. Every store operation touches one key, so correctness never
 * depends on the tag; tags only keep the keys about one thing (one nonce) on one node, where a
 * caller names that thing in braces. The prefix itself must not contain braces, or it would
 * become the tag of every key and put the whole state on one node.
 */
import type { StoreKeyKind, StoreKeyName } from '@httpauth/core/wire';
import { HttpAuthError } from '@httpauth/core';
import { STORE_KEY_LAYOUT } from '@httpauth/core/wire';

/** The prefix of every key `RedisStore` writes unless `keyPrefix` says otherwise. */
export const DEFAULT_KEY_PREFIX = 'httpauth:';

/**
 * The epoch marker, `<prefix>{httpauth-epoch}`: a random id written once, without TTL. If it
 * disappears or changes, Redis lost what it held, replay records included (epoch.ts). A value may
 * carry the end of a guard period (`<id> <guardUntilMs>`) so nodes that start during the guard
 * honour it too. Written under the prefix as it is; the only logical key that would map to it,
 * `httpauth-epoch`, is not one core writes (STORE_KEY_LAYOUT).
 */
export const EPOCH_KEY = '{httpauth-epoch}';

/** The key prefix, checked once at construction. */
export function checkKeyPrefix(prefix: string): string {
  if (typeof prefix !== 'string' || prefix.includes('{') || prefix.includes('}')) {
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  return prefix;
}

/** True when Redis would find a non-empty hash tag in `key`. */
export function hasHashTag(key: string): boolean {
  const open = key.indexOf('{');
  if (open === -1) return false;
  const close = key.indexOf('}', open + 1);
  return close > open + 1;
}

/**
 * The Redis key for a logical store key. One-to-one: keys kept as they are never start with '{',
 * wrapped keys always do, so no two logical keys share a Redis key.
 */
export function redisKey(prefix: string, key: string): string {
  return hasHashTag(key) && !key.startsWith('{') ? prefix + key : `${prefix}{${key}}`;
}

/** One kind of key as it appears in Redis. */
export interface RedisKeyKind extends StoreKeyKind {
  /** The Redis key with `<placeholders>`. */
  readonly redisPattern: string;
  /** The fixed text every Redis key of this kind starts with. */
  readonly redisPrefix: string;
}

/** Every key this store writes for `prefix`: core's layout framed for Redis, and the epoch. */
export function redisKeyLayout(
  prefix: string = DEFAULT_KEY_PREFIX,
): Readonly<Record<StoreKeyName | 'epoch', RedisKeyKind>> {
  checkKeyPrefix(prefix);
  const framed = (kind: StoreKeyKind): RedisKeyKind => {
    const redisPattern = redisKey(prefix, kind.pattern);
    // Where the logical key starts: after the prefix, and after the brace when it was wrapped.
    const start = redisPattern.startsWith(`${prefix}{${kind.pattern}`)
      ? prefix.length + 1
      : prefix.length;
    return { ...kind, redisPattern, redisPrefix: redisPattern.slice(0, start) + kind.prefix };
  };
  const entries = Object.entries(STORE_KEY_LAYOUT).map(([name, kind]) => [name, framed(kind)]);
  return Object.freeze({
    ...(Object.fromEntries(entries) as Record<StoreKeyName, RedisKeyKind>),
    epoch: {
      pattern: EPOCH_KEY,
      prefix: EPOCH_KEY,
      writer: 'RedisStore (data-loss detection)',
      value: '<id> or <id> <guard end, ms>',
      ttl: 'none',
      redisPattern: prefix + EPOCH_KEY,
      redisPrefix: prefix + EPOCH_KEY,
    },
  });
}
