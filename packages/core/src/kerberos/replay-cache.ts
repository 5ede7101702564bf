/**
 * The authenticator replay cache (RFC 4120 §3.2.3): an authenticator is accepted once. Entries are
 * keyed on the decrypted server principal, client principal, ctime and cusec, plus a hash of the
 * authenticator ciphertext (as MIT's rcache does since 1.18, so two distinct authenticators with
 * the same second and microsecond are not confused), and live twice the clock skew: an older
 * authenticator is refused by the skew check anyway. The entries live in the KeyValueStore, so a
 * shared store (Redis) protects all nodes behind a load balancer. Only hashes are stored.
 */
import { createHash } from 'node:crypto';
import { fail } from '../errors.js';
import type { KeyValueStore } from '../store/types.js';

export interface ReplayEntry {
  readonly server: string;
  readonly client: string;
  /** Authenticator ctime in ms and cusec. */
  readonly ctime: number;
  readonly cusec: number;
  /** The authenticator's EncryptedData cipher bytes. */
  readonly cipher: Buffer;
}

export const REPLAY_KEY_PREFIX = 'httpauth:krb5rc:';

/** The store key for one authenticator: a SHA-256 over the identifying fields. */
export function replayKey(entry: ReplayEntry): string {
  // The text fields are NUL-separated (no principal contains NUL) and the cipher comes last, so
  // the encoding is unambiguous.
  const digest = createHash('sha256')
    .update(`${entry.server}\0${entry.client}\0${entry.ctime}\0${entry.cusec}\0`)
    .update(entry.cipher)
    .digest('base64url');
  return REPLAY_KEY_PREFIX + digest;
}

/** The store owner of a client's replay entries. */
export function replayOwner(client: string): string {
  return 'krb5:' + client;
}

/**
 * Record the authenticator; throws ERR_HTTPAUTH_KRB_REPLAY when it was seen within the TTL.
 * A store failure propagates (ERR_HTTPAUTH_STORE_UNAVAILABLE, ERR_HTTPAUTH_STORE_QUOTA): replay
 * checks fail closed.
 */
export async function recordAuthenticator(
  store: KeyValueStore,
  entry: ReplayEntry,
  ttlMs: number,
): Promise<void> {
  // The client principal owns the entry: a bounded store caps the live entries of one client, so a
  // client minting fresh authenticators cannot fill the cache every other client needs
  // (ERR_HTTPAUTH_STORE_QUOTA).
  const fresh = await store.add(replayKey(entry), '1', ttlMs, replayOwner(entry.client));
  if (!fresh) fail('ERR_HTTPAUTH_KRB_REPLAY');
}
