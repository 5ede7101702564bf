/**
 * Kerberos keys and their per-usage derived-key cache.
 *
 * Key derivation (RFC 3961 §5.1 DK, RFC 8009 §5 KDF-HMAC-SHA2, RFC 4757 HMAC-MD5 of the usage) is
 * costlier than the encryption of a small message, and the acceptor decrypts with the same
 * long-term key for every request. The derived keys are therefore kept per key object and usage,
 * as OpenSSL KeyObjects (created once, no key bytes left on the JS heap afterwards).
 */
import { createSecretKey, type KeyObject } from 'node:crypto';

import { fail } from '../../errors.js';
import { KEY_BYTES } from './constants.js';

/**
 * A Kerberos key: its enctype number (see `EncType`) and the raw key bytes, as a keytab entry or a
 * session key (RFC 3961 §3).
 */
export interface KerberosKey {
  readonly enctype: number;
  readonly bytes: Buffer;
}

/** Derived keys for one usage; each profile fills the slots it needs. */
export interface UsageKeys {
  encryption?: KeyObject;
  integrity?: KeyObject;
  checksum?: KeyObject;
}

export interface KeyState {
  readonly base: KeyObject;
  readonly usages: Map<number, UsageKeys>;
  /** Usage-independent derived keys (PRF key, RC4 signature key). */
  readonly extra: Map<string, KeyObject>;
}

// Usages are chosen by our own code, never by the peer, so a handful per key is the most there is;
// the bound only guards against a caller looping over usages.
const MAX_CACHED_USAGES = 32;

const states = new WeakMap<KerberosKey, KeyState>();

/**
 * Wraps raw key bytes (from a keytab, a ticket's session key or an authenticator subkey) as a key
 * of `enctype`. The bytes are copied into memory of their own: keys live long (keytabs, the
 * ticket cache's session keys for up to the ticket's lifetime), and a copy from Buffer.from would
 * be a slice of Node's shared 8 KiB allocation pool that keeps the whole pool alive, about 8 KiB
 * per cached ticket (bench/suites/scale.ts, issue 16). Unknown enctypes and wrong lengths fail
 * cleanly: a subkey comes from the client, so a wrong length is input, not a programming error.
 */
export function makeKey(enctype: number, bytes: Uint8Array): KerberosKey {
  const expected = KEY_BYTES.get(enctype);
  if (expected === undefined) fail('ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED');
  if (bytes.length !== expected) fail('ERR_HTTPAUTH_KRB_KEY_INVALID');
  const own = Buffer.allocUnsafeSlow(bytes.length);
  own.set(bytes);
  return Object.freeze({ enctype, bytes: own });
}

/** The cached state for `key`, validated against the profile's enctype on first use. */
export function keyState(key: KerberosKey, enctype: number): KeyState {
  if (key.enctype !== enctype) fail('ERR_HTTPAUTH_KRB_KEY_INVALID');
  let state = states.get(key);
  if (state === undefined) {
    if (key.bytes.length !== KEY_BYTES.get(enctype)) fail('ERR_HTTPAUTH_KRB_KEY_INVALID');
    state = { base: createSecretKey(key.bytes), usages: new Map(), extra: new Map() };
    states.set(key, state);
  }
  return state;
}

/** The derived-key slots of `usage`, created empty on first use. */
export function usageKeys(state: KeyState, usage: number): UsageKeys {
  let keys = state.usages.get(usage);
  if (keys === undefined) {
    if (state.usages.size >= MAX_CACHED_USAGES) state.usages.clear();
    keys = {};
    state.usages.set(usage, keys);
  }
  return keys;
}

/** Turns derived key bytes into a KeyObject and wipes the JS copy. */
export function secretKey(bytes: Buffer): KeyObject {
  const key = createSecretKey(bytes);
  bytes.fill(0);
  return key;
}

/** The 4-byte big-endian usage number followed by one constant byte (RFC 3961 §5.3). */
export function usageConstant(usage: number, suffix: number): Buffer {
  const constant = Buffer.allocUnsafe(5);
  constant.writeUInt32BE(usage >>> 0, 0);
  constant[4] = suffix;
  return constant;
}
