/**
 * Server nonces (RFC 7616 §3.3 "nonce", §5.4 "Limited-Use Nonce Values"): minted here, verified
 * without storage.
 *
 *   nonce = base64url( issuedAt(8, big-endian ms) || random(16) || tag(16) )
 *   tag   = HMAC-SHA-256(nonceKey, "httpauth-digest-nonce/1" || realm || 0x00 || issuedAt || random)[0..16]
 *
 * The tag binds the timestamp to this server's key and realm, so a client cannot forge or
 * prolong a nonce; several nodes sharing the key accept each other's nonces. Replay within the
 * lifetime is stopped by the nc counter kept per nonce in the store (see package.ts).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Verified nonces remembered at once (about 100 bytes each). */
const VERIFIED_CACHE_SIZE = 10_000;
const LABEL = Buffer.from('httpauth-digest-nonce/1', 'ascii');
const TIME_BYTES = 8;
const RANDOM_BYTES = 16;
const TAG_BYTES = 16;
const NONCE_BYTES = TIME_BYTES + RANDOM_BYTES + TAG_BYTES;
/** base64url of 40 bytes, no padding. */
export const NONCE_LENGTH = Math.ceil((NONCE_BYTES * 4) / 3);
/** A nonce stamped this far in the future still verifies: clocks of nodes sharing a key drift. */
const FUTURE_TOLERANCE_MS = 60_000;

export type NonceCheck =
  | { readonly status: 'valid'; readonly issuedAt: number; readonly expiresAt: number }
  | { readonly status: 'stale'; readonly issuedAt: number; readonly expiresAt: number }
  | { readonly status: 'invalid' };

export class NonceMinter {
  readonly #key: Buffer;
  readonly #realm: Buffer;
  readonly #lifetimeMs: number;

  constructor(key: Buffer, realm: string, lifetimeMs: number) {
    this.#key = Buffer.from(key);
    this.#realm = Buffer.from(realm, 'utf8');
    this.#lifetimeMs = lifetimeMs;
  }

  get lifetimeMs(): number {
    return this.#lifetimeMs;
  }

  #tag(time: Buffer, random: Buffer): Buffer {
    return createHmac('sha256', this.#key)
      .update(LABEL)
      .update(this.#realm)
      .update(Buffer.of(0))
      .update(time)
      .update(random)
      .digest()
      .subarray(0, TAG_BYTES);
  }

  /**
   * The account behind a verified response, for the replay records (nonce-use.ts). The response
   * covers the user name only through H(A1) (RFC 7616 §3.4.1), so every spelling of a name that a
   * source answers with the same HA1 (a directory comparing names without case) is one account
   * and must share one nonce count. Keyed with the nonce key, so the store never holds a value
   * password guesses could be tested against, and the same on every node sharing that key.
   */
  accountTag(ha1: string): string {
    return createHmac('sha256', this.#key)
      .update('httpauth digest account\0')
      .update(this.#realm)
      .update(Buffer.of(0))
      .update(ha1, 'utf8')
      .digest('base64url');
  }

  mint(now: number): string {
    const time = Buffer.alloc(TIME_BYTES);
    time.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(now))));
    const random = randomBytes(RANDOM_BYTES);
    return Buffer.concat([time, random, this.#tag(time, random)]).toString('base64url');
  }

  /**
   * Nonces whose MAC already verified, with their issue time: a client reuses one nonce for many
   * requests (nc 1, 2, 3, ...), so the HMAC is computed once per nonce, not once per request.
   * Only exact strings that verified are kept; the map is bounded and simply cleared when full.
   */
  readonly #verified = new Map<string, number>();

  /** Authenticity first, then age: 'stale' is only ever said of a nonce this server issued. */
  check(nonce: string, now: number): NonceCheck {
    let issuedAt = this.#verified.get(nonce);
    if (issuedAt === undefined) {
      if (nonce.length !== NONCE_LENGTH || !/^[A-Za-z0-9_-]+$/.test(nonce)) {
        return { status: 'invalid' };
      }
      const raw = Buffer.from(nonce, 'base64url');
      if (raw.length !== NONCE_BYTES) return { status: 'invalid' };
      const time = raw.subarray(0, TIME_BYTES);
      const random = raw.subarray(TIME_BYTES, TIME_BYTES + RANDOM_BYTES);
      const tag = raw.subarray(TIME_BYTES + RANDOM_BYTES);
      if (!timingSafeEqual(tag, this.#tag(time, random))) return { status: 'invalid' };
      // Canonical encoding only: base64url has spare bits in its last character.
      if (raw.toString('base64url') !== nonce) return { status: 'invalid' };
      issuedAt = Number(time.readBigUInt64BE());
      if (this.#verified.size >= VERIFIED_CACHE_SIZE) this.#verified.clear();
      this.#verified.set(nonce, issuedAt);
    }
    if (issuedAt > now + FUTURE_TOLERANCE_MS) return { status: 'invalid' };
    const expiresAt = issuedAt + this.#lifetimeMs;
    return now >= expiresAt
      ? { status: 'stale', issuedAt, expiresAt }
      : { status: 'valid', issuedAt, expiresAt };
  }
}
