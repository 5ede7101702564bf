/**
 * MD4 message digest (RFC 1320).
 *
 * MD4 is broken as a general-purpose hash, but NTLM (MS-NLMP 3.3.1, NTOWFv1) and the RC4-HMAC
 * Kerberos enctype (RFC 4757 §2) still define their long-term keys as MD4 of the UTF-16LE password.
 * OpenSSL 3 moved MD4 to the legacy provider, which Node 20 does not load, so it lives here.
 */

const INITIAL_STATE = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476] as const;

// RFC 1320 §3.4: the round-2 and round-3 additive constants (sqrt(2) and sqrt(3) scaled by 2^30).
const ROUND2_CONSTANT = 0x5a827999;
const ROUND3_CONSTANT = 0x6ed9eba1;

// Message-word order and rotation amounts for each of the three rounds (RFC 1320 §3.4).
const ROUND2_ORDER = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15] as const;
const ROUND3_ORDER = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15] as const;
const ROUND1_SHIFTS = [3, 7, 11, 19] as const;
const ROUND2_SHIFTS = [3, 5, 9, 13] as const;
const ROUND3_SHIFTS = [3, 9, 11, 15] as const;

function rotateLeft(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

/** Runs the compression function on the 64-byte block at `offset`, updating `state` in place. */
function compressBlock(
  state: Uint32Array,
  block: Uint8Array,
  offset: number,
  words: Uint32Array,
): void {
  for (let i = 0; i < 16; i++) {
    const at = offset + i * 4;
    // RFC 1320 §2: words are little-endian.
    words[i] =
      (block[at]! | (block[at + 1]! << 8) | (block[at + 2]! << 16) | (block[at + 3]! << 24)) >>> 0;
  }
  // Registers kept as a rotating quadruple [a, b, c, d]: each step updates one of them in turn.
  const r = [state[0]!, state[1]!, state[2]!, state[3]!];

  for (let step = 0; step < 16; step++) {
    const a = (4 - (step % 4)) % 4;
    const b = (a + 1) % 4;
    const c = (a + 2) % 4;
    const d = (a + 3) % 4;
    const f = (r[b]! & r[c]!) | (~r[b]! & r[d]!);
    r[a] = rotateLeft((r[a]! + f + words[step]!) | 0, ROUND1_SHIFTS[step % 4]!);
  }
  for (let step = 0; step < 16; step++) {
    const a = (4 - (step % 4)) % 4;
    const b = (a + 1) % 4;
    const c = (a + 2) % 4;
    const d = (a + 3) % 4;
    const g = (r[b]! & r[c]!) | (r[b]! & r[d]!) | (r[c]! & r[d]!);
    r[a] = rotateLeft(
      (r[a]! + g + words[ROUND2_ORDER[step]!]! + ROUND2_CONSTANT) | 0,
      ROUND2_SHIFTS[step % 4]!,
    );
  }
  for (let step = 0; step < 16; step++) {
    const a = (4 - (step % 4)) % 4;
    const b = (a + 1) % 4;
    const c = (a + 2) % 4;
    const d = (a + 3) % 4;
    const h = r[b]! ^ r[c]! ^ r[d]!;
    r[a] = rotateLeft(
      (r[a]! + h + words[ROUND3_ORDER[step]!]! + ROUND3_CONSTANT) | 0,
      ROUND3_SHIFTS[step % 4]!,
    );
  }

  for (let i = 0; i < 4; i++) state[i] = (state[i]! + r[i]!) >>> 0;
  r.fill(0);
}

/** MD4 digest of `data` (16 bytes). */
export function md4(data: Uint8Array): Buffer {
  const state = Uint32Array.from(INITIAL_STATE);
  const words = new Uint32Array(16);
  const fullBlocks = Math.floor(data.length / 64);
  for (let i = 0; i < fullBlocks; i++) compressBlock(state, data, i * 64, words);

  // RFC 1320 §3.1-3.2: append 0x80, zero-pad to 56 mod 64, then the bit length as 64-bit LE.
  const remaining = data.length - fullBlocks * 64;
  const tailLength = remaining < 56 ? 64 : 128;
  const tail = new Uint8Array(tailLength);
  tail.set(data.subarray(fullBlocks * 64));
  tail[remaining] = 0x80;
  const bitLength = data.length * 8;
  const lengthView = new DataView(tail.buffer);
  lengthView.setUint32(tailLength - 8, bitLength >>> 0, true);
  lengthView.setUint32(tailLength - 4, Math.floor(bitLength / 0x100000000), true);
  for (let offset = 0; offset < tailLength; offset += 64) compressBlock(state, tail, offset, words);

  const digest = Buffer.alloc(16);
  for (let i = 0; i < 4; i++) digest.writeUInt32LE(state[i]!, i * 4);
  // The intermediate state may be derived from a password (NTOWFv1): do not leave it around.
  state.fill(0);
  words.fill(0);
  tail.fill(0);
  return digest;
}
