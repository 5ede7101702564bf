/**
 * A session revocation list on any KeyValueStore: revoking a session on one node makes every node
 * sharing the store refuse it until the session would have expired anyway.
 *
 * Session identifiers are bearer secrets, so only their SHA-256 goes into the store (and so into
 * Redis, its persistence files and its replicas): reading the list never yields a usable session.
 * Keys: `<namespace>{<sha256 hex>}`, one key per session, hash-tagged for Redis Cluster.
 */
import { createHash } from 'node:crypto';
import type { KeyValueStore } from '@httpauth/core';
import { HttpAuthError } from '@httpauth/core';

export interface RevocationListOptions {
  /** Key namespace inside the store's prefix (default 'session:revoked:'). */
  readonly namespace?: string;
}

export class RevocationList {
  readonly #store: KeyValueStore;
  readonly #namespace: string;

  constructor(store: KeyValueStore, options: RevocationListOptions = {}) {
    const namespace = options.namespace ?? 'session:revoked:';
    if (namespace.includes('{') || namespace.includes('}')) {
      throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
    }
    this.#store = store;
    this.#namespace = namespace;
  }

  #key(sessionId: string): string {
    const digest = createHash('sha256').update(sessionId, 'utf8').digest('hex');
    return `${this.#namespace}{${digest}}`;
  }

  /**
   * Revokes `sessionId` for `ttlMs` milliseconds: pass the session's remaining lifetime, after
   * which the session is refused for expiry and the entry is no longer needed.
   */
  async revoke(sessionId: string, ttlMs: number): Promise<void> {
    // add() leaves an existing entry in place: the session stays revoked either way.
    await this.#store.add(this.#key(sessionId), '1', ttlMs);
  }

  /** True when revoked. Rejects with ERR_HTTPAUTH_STORE_UNAVAILABLE when the store cannot answer. */
  async isRevoked(sessionId: string): Promise<boolean> {
    return (await this.#store.get(this.#key(sessionId))) !== undefined;
  }

  /** Lifts a revocation (an administrator's mistake). */
  async reinstate(sessionId: string): Promise<void> {
    await this.#store.delete(this.#key(sessionId));
  }
}
