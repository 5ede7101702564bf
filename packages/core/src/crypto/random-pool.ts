/**
 * Random bytes for the per-request hot path (confounders, acceptor subkeys, sequence numbers).
 * Each `crypto.randomBytes(16)` is a separate call into OpenSSL's DRBG plus an allocation; the
 * Kerberos acceptor needs two or three per request. This draws 4 KiB at a time from the same
 * CSPRNG and hands out fresh, never-reused copies of it, so the entropy source is unchanged and
 * the per-call cost is a copy.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafeSlow(POOL_BYTES);
let offset = POOL_BYTES;

/** `length` bytes from the CSPRNG, as a new Buffer that nothing else references. */
export function randomBytesPooled(length: number): Buffer {
  if (length > POOL_BYTES / 4) return randomFillSync(Buffer.alloc(length));
  if (offset + length > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = Buffer.from(pool.subarray(offset, offset + length));
  // Bytes handed out are wiped from the pool so they cannot leak into a later caller's view.
  pool.fill(0, offset, offset + length);
  offset += length;
  return out;
}
