/**
 * Keyed checksums by checksum type (RFC 3961 §4), for callers that are told the type on the wire
 * rather than by the enctype, such as PAC signatures (MS-PAC 2.8) and KRB-SAFE.
 *
 * Each keyed checksum type belongs to one enctype and is only computed with a key of that enctype
 * (RFC 3961 §4: the checksum's associated encryption type); anything else is refused.
 */
import { bytesEqual } from '../../crypto/constant-time.js';

import { fail, isHttpAuthError } from '../../errors.js';
import { aes128CtsHmacSha1, aes256CtsHmacSha1 } from './aes-sha1.js';
import { aes128CtsHmacSha256, aes256CtsHmacSha384 } from './aes-sha2.js';
import { ChecksumType } from './constants.js';
import type { KerberosKey } from './key.js';
import type { EncryptionProfile } from './profile.js';
import { rc4Hmac } from './rc4-hmac.js';

interface ChecksumProfile {
  readonly profile: EncryptionProfile;
  readonly bytes: number;
}

const CHECKSUMS: ReadonlyMap<number, ChecksumProfile> = new Map([
  [ChecksumType.HMAC_SHA1_96_AES128, { profile: aes128CtsHmacSha1, bytes: 12 }],
  [ChecksumType.HMAC_SHA1_96_AES256, { profile: aes256CtsHmacSha1, bytes: 12 }],
  [ChecksumType.HMAC_SHA256_128_AES128, { profile: aes128CtsHmacSha256, bytes: 16 }],
  [ChecksumType.HMAC_SHA384_192_AES256, { profile: aes256CtsHmacSha384, bytes: 24 }],
  [ChecksumType.HMAC_MD5, { profile: rc4Hmac, bytes: 16 }],
]);

/** Length in bytes of a checksum of `cksumtype`, or undefined for an unsupported type. */
export function checksumSize(cksumtype: number): number | undefined {
  return CHECKSUMS.get(cksumtype)?.bytes;
}

/**
 * Computes a keyed checksum. An unsupported type, or a key of another enctype, fails with
 * ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED.
 */
export function computeChecksum(
  cksumtype: number,
  key: KerberosKey,
  usage: number,
  data: Uint8Array,
): Buffer {
  const entry = CHECKSUMS.get(cksumtype);
  if (entry === undefined || entry.profile.enctype !== key.enctype) {
    fail('ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED');
  }
  return entry.profile.checksum(key, usage, data);
}

/**
 * Verifies a keyed checksum in constant time. Returns false (never throws) for a wrong value, a
 * wrong length, an unsupported type or a key that does not go with the type: all of these mean
 * "not verified" to the caller.
 */
export function verifyChecksum(
  cksumtype: number,
  key: KerberosKey,
  usage: number,
  data: Uint8Array,
  expected: Uint8Array,
): boolean {
  const entry = CHECKSUMS.get(cksumtype);
  if (entry === undefined || entry.profile.enctype !== key.enctype) return false;
  let actual: Buffer;
  try {
    actual = entry.profile.checksum(key, usage, data);
  } catch (error) {
    if (isHttpAuthError(error)) return false;
    throw error;
  }
  return bytesEqual(actual, expected);
}
