/**
 * The Digest replay records in the store (RFC 7616 §3.3 nonce-count, §5.4 replay protection).
 *
 * Both records are keyed by the nonce *and* the authenticated account. A nonce is public (anyone
 * who sees a challenge has it), so a record keyed by the nonce alone lets another account burn it:
 * a request of user B with `nc=ffffffff` on user A's nonce would make A's next request a replay
 * and cost A a non-stale 401, a password prompt. Per account, each only ever moves its own
 * counter. The account is NonceMinter.accountTag of its HA1, not the name as sent: with a source
 * that finds `ALICE` as alice, a count per spelling would let one captured request be replayed
 * once per spelling. The key keeps the nonce as a Redis Cluster hash tag, so every record about one nonce
 * lives on one node; the user appears only as a hash (names stay out of the store).
 */
import { hash } from 'node:crypto';
import { digestNonceCountKey, digestNonceOnceKey, digestOwner } from '../store/keys.js';
import { MemoryStore } from '../store/memory.js';
import type { KeyValueStore } from '../store/types.js';
import type { NonceMinter } from './nonce.js';

export type NonceUse = 'fresh' | 'consumed' | 'replayed';

export interface NonceUseRequest {
  readonly nonce: string;
  /** The account's user tag (UserTags.of), the same for every spelling of its name. */
  readonly userTag: string;
  /** The nonce count (qop present), or undefined for an RFC 2069 request without one. */
  readonly count: number | undefined;
  /** Consume the nonce on this first use (one-time nonces, RFC 2069 requests). */
  readonly consume: boolean;
  /** How long the records live: as long as the nonce is accepted. */
  readonly ttlMs: number;
}

/** SHA-256 of realm NUL account, base64url: a short, fixed-length name for one account. */
export function digestUserTag(realm: string, account: string): string {
  return hash('sha256', `${realm}\0${account}`, 'base64url');
}

/** Accounts whose tag is remembered at once (about 250 bytes each). */
const USER_TAG_CACHE_SIZE = 10_000;

/**
 * The user tag of the account behind an HA1: digestUserTag(realm, NonceMinter.accountTag(ha1)),
 * an HMAC and a SHA-256. Both are pure functions of the HA1 under the nonce key, and one account
 * sends request after request, so the tag is computed once per account: computed per request it
 * was about a third of an authentication. The map holds HA1s, which the credential source holds
 * anyway; it is bounded and simply cleared when full.
 */
export class UserTags {
  readonly #realm: string;
  readonly #minter: NonceMinter;
  readonly #tags = new Map<string, string>();

  constructor(realm: string, minter: NonceMinter) {
    this.#realm = realm;
    this.#minter = minter;
  }

  of(ha1: string): string {
    let tag = this.#tags.get(ha1);
    if (tag === undefined) {
      tag = digestUserTag(this.#realm, this.#minter.accountTag(ha1));
      if (this.#tags.size >= USER_TAG_CACHE_SIZE) this.#tags.clear();
      this.#tags.set(ha1, tag);
    }
    return tag;
  }
}

/** The store keys of one user's records about one nonce (the layout lives in store/keys.ts). */
export function nonceUseKeys(nonce: string, userTag: string): { count: string; once: string } {
  return { count: digestNonceCountKey(nonce, userTag), once: digestNonceOnceKey(nonce, userTag) };
}

/**
 * Record a use of a nonce by an authenticated account: 'consumed' when a one-time nonce was already
 * used (the client gets stale=true and retries with a fresh nonce), 'replayed' when the count did
 * not rise. The account owns the records, so the store's per-owner cap applies
 * (ERR_HTTPAUTH_STORE_QUOTA). Only the keys a use touches are built: a request with qop on a
 * reusable nonce (nearly every request) touches the count alone.
 */
export function recordNonceUse(
  store: KeyValueStore,
  use: NonceUseRequest,
): NonceUse | Promise<NonceUse> {
  const owner = digestOwner(use.userTag);
  if (!use.consume) return advanceCount(store, use, owner);
  // A native promise around the store's answer: a thenable whose then() returns nothing must not
  // read as an answer (the callers tell "answered" from "waiting" by the type).
  return Promise.resolve(
    store.add(digestNonceOnceKey(use.nonce, use.userTag), '1', use.ttlMs, owner),
  ).then((added) => (added ? advanceCount(store, use, owner) : 'consumed'));
}

/** Compared with a store's advance, never called unbound. */
const MEMORY_ADVANCE = MemoryStore.prototype.advance;

/** The nc must rise strictly per nonce and account (RFC 7616 §3.3, §5.4). */
function advanceCount(
  store: KeyValueStore,
  use: NonceUseRequest,
  owner: string,
): NonceUse | Promise<NonceUse> {
  if (use.count === undefined) return 'fresh';
  const key = digestNonceCountKey(use.nonce, use.userTag);
  // The memory store answers without a promise, unless a subclass changed what advance does.
  if (store instanceof MemoryStore && store.advance === MEMORY_ADVANCE) {
    return store.advanceNow(key, use.count, use.ttlMs, owner) ? 'fresh' : 'replayed';
  }
  return Promise.resolve(store.advance(key, use.count, use.ttlMs, owner)).then((advanced) =>
    advanced ? 'fresh' : 'replayed',
  );
}
