/**
 * A small key-value store with TTLs and atomic updates: the Kerberos replay cache, Digest nonce
 * counts and session revocations live here. Every operation is a single atomic step, so a Redis
 * implementation maps each one to one command or one Lua script (see @httpauth/redis), and a store
 * shared by several nodes keeps replay protection across all of them.
 *
 * Implementations throw HttpAuthError('ERR_HTTPAUTH_STORE_UNAVAILABLE') when they cannot answer;
 * callers fail closed on it.
 *
 * `owner` names the authenticated principal on whose behalf an entry is created (the Kerberos
 * client, the Digest user). A bounded store caps the live entries of one owner and throws
 * HttpAuthError('ERR_HTTPAUTH_STORE_QUOTA') past the cap, so one client minting fresh
 * authenticators or nonces cannot fill the store that every other client shares. A store without
 * a bound of its own may ignore it.
 */
export interface KeyValueStore {
  /** Insert `key` only if absent (or expired). Resolves true when this call inserted it. */
  add(key: string, value: string, ttlMs: number, owner?: string): Promise<boolean>;
  /** The live value, or undefined. */
  get(key: string): Promise<string | undefined>;
  /**
   * Atomically replace the value when the current one equals `expected` (undefined: absent).
   * Resolves true when it replaced.
   */
  compareAndSet(
    key: string,
    expected: string | undefined,
    value: string,
    ttlMs: number,
    owner?: string,
  ): Promise<boolean>;
  /**
   * Atomically raise an integer counter to `value` when `value` is greater than the stored one
   * (an absent key counts as lower than any value). Resolves true when it advanced. Digest nc.
   */
  advance(key: string, value: number, ttlMs: number, owner?: string): Promise<boolean>;
  /** Removes `key`, if present. */
  delete(key: string): Promise<void>;
  /** Release timers and connections. */
  close?(): Promise<void>;
}
