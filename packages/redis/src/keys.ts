/**
 * The Redis key layout.
 *
 *   <prefix><key>            when the caller's key carries a hash tag and does not start with '{':
 *                            `digest:{<nonce>}:nc:<user tag>` -> `httpauth:digest:{<nonce>}:nc:<user tag>`
 *   <prefix>{<key>}          otherwise: the whole logical key becomes the hash tag
 *                            `krb:replay:<hash>` -> `httpauth:{krb:replay:<hash>}`
 *
 * with the prefix 'httpauth:' by default. Redis Cluster hashes only the part between the first
 * '{' and the next '}' of a key (Redis Cluster specification, "Hash tags"), so keys that share a
 * tag share a slot. Every store operation touches one key, so correctness never depends on the
 * tag; tags only keep the keys about one thing (one nonce, one session) on one node, where a
 * caller names that thing in braces. The prefix itself must not contain braces, or it would
 * become the tag of every key and put the whole state on one node.
 */
import { HttpAuthError } from '@httpauth/core';

export const DEFAULT_KEY_PREFIX = 'httpauth:';

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
