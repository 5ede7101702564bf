/**
 * The per-owner bound on new entries in Redis. The core MemoryStore caps the live entries of one
 * owner (an authenticated principal); Redis has no entry bound of its own (only `maxmemory`, and
 * then either every write fails or replay records are evicted), so one client minting fresh
 * Kerberos authenticators or Digest nonces could exhaust it for everybody. Here each entry an
 * owner creates is counted in a fixed window (core's ownerQuotaKey, `owner-quota:<SHA-256 of the
 * owner>`, a key of its own, so any slot layout works); past `maxNewEntries` per window the new
 * entry is deleted again and the operation fails with ERR_HTTPAUTH_STORE_QUOTA. Updates of existing entries (a rising
 * Digest nc) are not counted.
 */
import { HttpAuthError } from '@httpauth/core';

/** The logical key of an owner's counter is core's (store/keys.ts): only a hash of the owner. */
export { ownerQuotaKey } from '@httpauth/core/wire';

/**
 * The `ownerQuota` option of `RedisStore`: how many new entries one authenticated principal may
 * create per window, so one client cannot exhaust the Redis shared by everyone (past the bound:
 * `ERR_HTTPAUTH_STORE_QUOTA`).
 */
export interface OwnerQuotaOptions {
  /** New entries one owner may create per window (default 50 000). */
  readonly maxNewEntries?: number;
  /** The window in milliseconds (default 600 000: twice the default Kerberos clock skew). */
  readonly windowMs?: number;
}

export interface OwnerQuota {
  readonly maxNewEntries: number;
  readonly windowMs: number;
}

export const DEFAULT_OWNER_QUOTA: OwnerQuota = { maxNewEntries: 50_000, windowMs: 600_000 };

/** The settings, or undefined when turned off with `false`. */
export function resolveOwnerQuota(
  option: OwnerQuotaOptions | false | undefined,
): OwnerQuota | undefined {
  if (option === false) return undefined;
  const maxNewEntries = option?.maxNewEntries ?? DEFAULT_OWNER_QUOTA.maxNewEntries;
  const windowMs = option?.windowMs ?? DEFAULT_OWNER_QUOTA.windowMs;
  for (const value of [maxNewEntries, windowMs]) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
    }
  }
  return { maxNewEntries, windowMs };
}
