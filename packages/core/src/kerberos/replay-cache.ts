/**
 * The authenticator replay cache (RFC 4120 §3.2.3): an authenticator is accepted once.
 *
 * The key is a SHA-256 of the authenticator ciphertext alone, as MIT's rcache is since krb5 1.18
 * ("the replay cache is keyed on a hash of the authenticator ciphertext"). Nothing from the
 * ticket's cleartext (sname, realm) or from the decrypted fields may go into it: the sname and
 * realm of a Ticket are outside its encrypted part and no key protects them (RFC 4120 §5.3), so
 * with a keytab that holds several names under one key (host/, HTTP/, the machine account, as
 * adcli, msktutil and `net ads keytab` write them) an attacker who rewrites the sname would get
 * a fresh cache key per alias and replay one captured AP-REQ once per name. The ciphertext
 * carries a fresh confounder per authenticator, so two genuine authenticators never collide.
 *
 * Entries live twice the clock skew (an older authenticator fails the skew check anyway) in the
 * KeyValueStore, so a shared store (Redis) protects all nodes behind a load balancer.
 */
import { fail } from '../errors.js';
import { kerberosReplayKey, kerberosReplayOwner } from '../store/keys.js';
import { addWithoutWaiting } from '../store/memory.js';
import type { KeyValueStore } from '../store/types.js';

/** The store key for one authenticator (the layout lives in store/keys.ts). */
export { kerberosReplayKey as replayKey } from '../store/keys.js';

/**
 * Record the authenticator; throws ERR_HTTPAUTH_KRB_REPLAY when it was seen within the TTL.
 * A store failure propagates (ERR_HTTPAUTH_STORE_UNAVAILABLE, ERR_HTTPAUTH_STORE_QUOTA): replay
 * checks fail closed. The in-process MemoryStore answers at once (undefined returned, nothing to
 * await); any other store (Redis, shared by several nodes) is asked through its async `add` and
 * the returned promise settles when it has answered, rejecting the same way.
 */
export function recordAuthenticator(
  store: KeyValueStore,
  authenticatorCipher: Buffer,
  client: string,
  ttlMs: number,
): Promise<void> | undefined {
  // The client principal owns the entry: a bounded store caps the live entries of one client, so a
  // client minting fresh authenticators cannot fill the cache every other client needs
  // (ERR_HTTPAUTH_STORE_QUOTA).
  const key = kerberosReplayKey(authenticatorCipher);
  const owner = ownerOf(client);
  const fresh = addWithoutWaiting(store, key, '1', ttlMs, owner);
  // Promise.resolve: a store's promise may be of another realm or library (a thenable that is
  // not `instanceof Promise`), and the acceptor tells a waiting answer from a ready one by that.
  if (fresh === undefined)
    return Promise.resolve(store.add(key, '1', ttlMs, owner)).then(freshOrReplay);
  freshOrReplay(fresh);
  return undefined;
}

/**
 * The owner string of the last client, kept: a cached ticket hands the same client name to every
 * request, and the same owner string object keeps its computed hash for the store's Map lookups
 * instead of a new concatenation hashed again per request.
 */
let lastClient: string | undefined;
let lastOwner = '';

function ownerOf(client: string): string {
  if (client !== lastClient) {
    lastOwner = kerberosReplayOwner(client);
    lastClient = client;
  }
  return lastOwner;
}

function freshOrReplay(fresh: boolean): void {
  if (!fresh) fail('ERR_HTTPAUTH_KRB_REPLAY');
}
