/**
 * Every key core writes to its KeyValueStore, and the owners it names, in one place.
 *
 * These strings are part of a running deployment, not an implementation detail: several nodes
 * share one store (docs/several-nodes.md), and during a rolling upgrade an old and a new release
 * share it too. A node that spelled a key differently would not see the records the others wrote,
 * so a Kerberos authenticator or a Digest nonce count refused by one node would be accepted by the
 * next. Change a key only together with a CHANGELOG entry that says so.
 *
 * A store sees logical keys; a store adds its own framing (@httpauth/redis prefixes every key and
 * wraps it in a Redis Cluster hash tag unless the key carries one, see its keys.ts). Keys carry no
 * user name in clear: principals appear as SHA-256 hashes or as the Digest user tag (a hash).
 * NTLM and Basic write nothing: an NTLM handshake lives on its connection (loop), not in a store.
 */
import { hash } from 'node:crypto';

function sha256(data: string | Buffer): string {
  // One-shot: no Hash object per call (this runs once per accepted AP-REQ).
  return hash('sha256', data, 'base64url');
}

/** The prefix of every Kerberos replay-cache key (kept from the first release). */
export const KERBEROS_REPLAY_PREFIX = 'httpauth:krb5rc:';

/**
 * Kerberos authenticator replay cache (RFC 4120 §3.2.3), `httpauth:krb5rc:<sha256>`.
 * Writer: kerberos/replay-cache.ts, one `add` per accepted AP-REQ. Value `1`. TTL twice the clock
 * skew (an older authenticator fails the skew check anyway). Owner: kerberosReplayOwner.
 * The hash covers the authenticator ciphertext alone (why: kerberos/replay-cache.ts).
 */
export function kerberosReplayKey(authenticatorCipher: Buffer): string {
  return KERBEROS_REPLAY_PREFIX + sha256(authenticatorCipher);
}

/** The owner of a Kerberos client's replay entries, `krb5:<client principal>`. */
export function kerberosReplayOwner(client: string): string {
  return 'krb5:' + client;
}

/**
 * Digest nonce count (RFC 7616 §3.4 nc, §5.4 replay protection),
 * `digest:{<nonce>}:nc:<user tag>`. Writer: digest/nonce-use.ts, `advance` per request with qop.
 * Value: the highest nc this account sent with this nonce, a decimal integer. TTL: as long as the
 * nonce is accepted, plus a second. Owner: digestOwner. The nonce in braces is a Redis Cluster
 * hash tag, so every record about one nonce lands on one node.
 */
export function digestNonceCountKey(nonce: string, userTag: string): string {
  return `digest:{${nonce}}:nc:${userTag}`;
}

/**
 * Digest one-time nonce use (one-time nonces, RFC 2069 requests without nc),
 * `digest:{<nonce>}:once:<user tag>`. Writer: digest/nonce-use.ts, `add` on the first use.
 * Value `1`. TTL and owner as digestNonceCountKey.
 */
export function digestNonceOnceKey(nonce: string, userTag: string): string {
  return `digest:{${nonce}}:once:${userTag}`;
}

/** The owner of one Digest account's records, `digest:<user tag>`. */
export function digestOwner(userTag: string): string {
  return 'digest:' + userTag;
}

/**
 * A revoked session, `session:revoked:<session id>`. Writer: the authenticator's
 * `revokeSession(id)` (`add`); every request with a session cookie reads it when sessions are
 * revocable. Value `1`. TTL: the sessions' maximum age (a cookie older than that is refused
 * anyway). No owner: the application revokes, not a client. The id is random, not the cookie.
 */
export function sessionRevokedKey(id: string): string {
  return `session:revoked:${id}`;
}

/**
 * The count of new entries one owner created in the current window,
 * `owner-quota:<sha256 of the owner>`. Not written by core's mechanisms: a shared store without
 * an entry bound of its own (@httpauth/redis) keeps it to cap one principal's new entries
 * (ERR_HTTPAUTH_STORE_QUOTA). Value: a counter. TTL: the quota window. Only a hash of the owner
 * is stored, so no principal name reaches the store.
 */
export function ownerQuotaKey(owner: string): string {
  return 'owner-quota:' + sha256(owner);
}

/** One kind of key in the layout, for documentation and for tests of a store's framing. */
export interface StoreKeyKind {
  /** The logical key with `<placeholders>`, as docs/several-nodes.md shows it. */
  readonly pattern: string;
  /** The fixed text every key of this kind starts with. */
  readonly prefix: string;
  readonly writer: string;
  readonly value: string;
  readonly ttl: string;
}

/**
 * The kinds of key the engine writes through a store (replay cache, Digest nonce counts, session
 * revocations, owner quotas); `STORE_KEY_LAYOUT` describes each.
 */
export type StoreKeyName =
  'kerberosReplay' | 'digestNonceCount' | 'digestNonceOnce' | 'sessionRevoked' | 'ownerQuota';

/** Every kind of key written through a KeyValueStore by core (and the quota key of a store). */
export const STORE_KEY_LAYOUT: Readonly<Record<StoreKeyName, StoreKeyKind>> = Object.freeze({
  kerberosReplay: {
    pattern: `${KERBEROS_REPLAY_PREFIX}<sha256>`,
    prefix: KERBEROS_REPLAY_PREFIX,
    writer: 'Kerberos replay cache',
    value: '1',
    ttl: 'twice the clock skew',
  },
  digestNonceCount: {
    pattern: digestNonceCountKey('<nonce>', '<user tag>'),
    prefix: 'digest:{',
    writer: 'Digest nonce use',
    value: 'highest nc of this account',
    ttl: 'nonce lifetime + 1 s',
  },
  digestNonceOnce: {
    pattern: digestNonceOnceKey('<nonce>', '<user tag>'),
    prefix: 'digest:{',
    writer: 'Digest nonce use',
    value: '1',
    ttl: 'nonce lifetime + 1 s',
  },
  sessionRevoked: {
    pattern: sessionRevokedKey('<id>'),
    prefix: sessionRevokedKey(''),
    writer: 'revokeSession',
    value: '1',
    ttl: 'session maximum age',
  },
  ownerQuota: {
    pattern: 'owner-quota:<sha256 of the owner>',
    prefix: 'owner-quota:',
    writer: 'a shared store (ownerQuota)',
    value: 'new entries in the window',
    ttl: 'the quota window',
  },
});
