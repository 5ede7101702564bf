/**
 * Kerberos cryptography (RFC 3961 framework): the supported encryption profiles, keyed checksums,
 * key construction and n-fold. DES is never offered; RC4-HMAC is present and the acceptor decides
 * whether to accept it.
 *
 * Usage notes for callers:
 *  - Build each key once with `makeKey` and keep the object: derived keys (Ke/Ki/Kc per usage) are
 *    cached against that object, so reusing a keytab key makes ticket decryption derivation-free.
 *  - `decrypt` throws HttpAuthError('ERR_HTTPAUTH_KRB_MODIFIED') for any integrity failure or
 *    short input, and ERR_HTTPAUTH_KRB_KEY_INVALID when the key does not fit the profile.
 *  - `makeKey` throws ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED for enctypes without a profile and
 *    ERR_HTTPAUTH_KRB_KEY_INVALID for a wrong key length (e.g. a client-chosen subkey).
 *  - `verifyChecksum` returns false (never throws) for wrong values, lengths, unknown types and
 *    keys of another enctype; `checksumSize` gives the wire length of a checksum type.
 */
import { aes128CtsHmacSha1, aes256CtsHmacSha1 } from './aes-sha1.js';
import { aes128CtsHmacSha256, aes256CtsHmacSha384 } from './aes-sha2.js';
import type { EncryptionProfile } from './profile.js';
import { rc4Hmac } from './rc4-hmac.js';

export { ChecksumType, EncType, KeyUsage } from './constants.js';
export { checksumSize, computeChecksum, verifyChecksum } from './checksum.js';
export { makeKey } from './key.js';
export type { KerberosKey } from './key.js';
export { nfold } from './nfold.js';
export type { EncryptionProfile } from './profile.js';

const PROFILES: ReadonlyMap<number, EncryptionProfile> = new Map(
  [aes128CtsHmacSha1, aes256CtsHmacSha1, aes128CtsHmacSha256, aes256CtsHmacSha384, rc4Hmac].map(
    (profile) => [profile.enctype, profile],
  ),
);

/** The profile of `enctype`, or undefined when it is not supported (DES never is). */
export function encryptionProfile(enctype: number): EncryptionProfile | undefined {
  return PROFILES.get(enctype);
}

/** Supported enctypes, strongest first (the order a server would prefer). */
export const SUPPORTED_ENCTYPES: readonly number[] = [20, 18, 19, 17, 23];
