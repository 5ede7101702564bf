/** Helpers shared by the PBKDF2-based string-to-key functions (RFC 3962 §4, RFC 8009 §4). */
import { fail } from '../../errors.js';

// MIT krb5 refuses iteration counts of 2^24 and above; so do we (they would stall the event loop).
const MAX_ITERATIONS = 0x1000000;

/** The iteration count from 4-byte big-endian s2kparams, or `defaultCount` when absent. */
export function iterationCount(params: Uint8Array | undefined, defaultCount: number): number {
  if (params === undefined || params.length === 0) return defaultCount;
  if (params.length !== 4) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  const count = ((params[0]! << 24) | (params[1]! << 16) | (params[2]! << 8) | params[3]!) >>> 0;
  // RFC 3962 §4 reads 0 as 2^32 iterations: refuse it along with other impractical counts.
  if (count === 0 || count >= MAX_ITERATIONS) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  return count;
}

/** Salts are octet strings (RFC 4120 §5.2.9); text salts such as REALM+principal are UTF-8. */
export function saltBytes(salt: string | Uint8Array): Buffer {
  return typeof salt === 'string' ? Buffer.from(salt, 'utf8') : Buffer.from(salt);
}
