/**
 * Constant-time equality for MACs, proofs and password hashes. `timingSafeEqual` throws on a
 * length mismatch; lengths here are public (they follow the algorithm), so a mismatch is simply
 * false, after the same amount of comparison work.
 */
import { timingSafeEqual } from 'node:crypto';

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

/** Equality of two strings compared as bytes in `encoding` (hex digests: 'latin1'). */
export function textEqual(a: string, b: string, encoding: BufferEncoding = 'utf8'): boolean {
  return bytesEqual(Buffer.from(a, encoding), Buffer.from(b, encoding));
}
