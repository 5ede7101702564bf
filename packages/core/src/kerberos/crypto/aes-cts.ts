/**
 * AES in CBC mode with ciphertext stealing, as RFC 3962 §5 defines it for Kerberos (and RFC 8009
 * reuses): for more than one block, the last two ciphertext blocks are always swapped and the
 * final one truncated to the plaintext length, even when that length is a multiple of 16
 * (CBC-CS3 in NIST SP 800-38A addendum terms). Exactly one block is plain CBC. Inputs shorter than
 * one block are not defined (Kerberos always prepends a 16-byte confounder).
 */
import { createCipheriv, createDecipheriv, type KeyObject } from 'node:crypto';

export const AES_BLOCK = 16;

function cbcName(key: KeyObject | Uint8Array): string {
  const length = key instanceof Uint8Array ? key.length : key.symmetricKeySize;
  return length === 32 ? 'aes-256-cbc' : 'aes-128-cbc';
}

function xorInto(target: Uint8Array, a: Uint8Array, b: Uint8Array, length: number): void {
  for (let i = 0; i < length; i++) target[i] = a[i]! ^ b[i]!;
}

/**
 * CTS-encrypts `plaintext` (at least 16 bytes); the output has the same length, followed by
 * `reserve` uninitialised bytes the caller fills (the Kerberos profiles put their MAC there, so
 * the message is built in one allocation).
 */
export function aesCtsEncrypt(
  key: KeyObject | Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
  reserve = 0,
): Buffer {
  const length = plaintext.length;
  if (length < AES_BLOCK) throw new RangeError('CTS input must be at least one block');
  const cipher = createCipheriv(cbcName(key), key, iv).setAutoPadding(false);
  const blocks = Math.ceil(length / AES_BLOCK);
  // CBC over the plaintext with its last partial block zero-padded, in one update.
  const padded = Buffer.alloc(blocks * AES_BLOCK);
  padded.set(plaintext);
  const cbc = cipher.update(padded);
  cipher.final();
  padded.fill(0);
  const output = Buffer.allocUnsafe(length + reserve);
  if (blocks === 1) {
    cbc.copy(output, 0, 0, AES_BLOCK);
    return output;
  }
  // Output: C1..C(n-2) || Cn || C(n-1) truncated to the final plaintext block's length.
  const lastLength = length - (blocks - 1) * AES_BLOCK; // 1..16
  const penultimateOffset = (blocks - 2) * AES_BLOCK;
  cbc.copy(output, 0, 0, penultimateOffset);
  cbc.copy(output, penultimateOffset, penultimateOffset + AES_BLOCK, blocks * AES_BLOCK);
  cbc.copy(
    output,
    penultimateOffset + AES_BLOCK,
    penultimateOffset,
    penultimateOffset + lastLength,
  );
  return output;
}

/** Inverts {@link aesCtsEncrypt}. */
export function aesCtsDecrypt(
  key: KeyObject | Uint8Array,
  iv: Uint8Array,
  ciphertext: Uint8Array,
): Buffer {
  const length = ciphertext.length;
  if (length < AES_BLOCK) throw new RangeError('CTS input must be at least one block');
  const decipher = createDecipheriv(cbcName(key), key, iv).setAutoPadding(false);
  const blocks = Math.ceil(length / AES_BLOCK);
  if (blocks === 1) return Buffer.concat([decipher.update(ciphertext), decipher.final()]);

  const lastLength = length - (blocks - 1) * AES_BLOCK;
  const penultimateOffset = (blocks - 2) * AES_BLOCK;
  // The block CBC chains C(n-1) and Cn from: the IV for a two-block message, else C(n-2).
  const chainBlock =
    blocks === 2 ? iv : ciphertext.subarray(penultimateOffset - AES_BLOCK, penultimateOffset);
  const swappedLast = ciphertext.subarray(penultimateOffset, penultimateOffset + AES_BLOCK); // Cn
  const stolenTail = ciphertext.subarray(penultimateOffset + AES_BLOCK); // C(n-1)[0..lastLength)

  const plaintext = Buffer.allocUnsafe(length);
  // One decipher for the whole message: feeding C1..C(n-2), Cn decrypts the leading blocks and
  // yields D(Cn) xor C(n-2); CBC state is then Cn, which is corrected for below.
  const first = decipher.update(ciphertext.subarray(0, penultimateOffset + AES_BLOCK));
  first.copy(plaintext, 0, 0, penultimateOffset);
  const decryptedLast = first.subarray(penultimateOffset); // D(Cn) xor chainBlock
  xorInto(decryptedLast, decryptedLast, chainBlock, AES_BLOCK); // now D(Cn) = C(n-1) xor Pn||0

  // Rebuild C(n-1): its stolen head travels in the tail, the rest is D(Cn)'s tail (Pn was 0-padded).
  const penultimateCipher = Buffer.allocUnsafe(AES_BLOCK);
  penultimateCipher.set(stolenTail);
  decryptedLast.copy(penultimateCipher, lastLength, lastLength);
  // Pn = D(Cn) xor C(n-1), truncated.
  xorInto(
    plaintext.subarray(penultimateOffset + AES_BLOCK),
    decryptedLast,
    penultimateCipher,
    lastLength,
  );

  // D(C(n-1)) comes out xored with Cn (the decipher's chaining state); undo that, apply C(n-2).
  const second = decipher.update(penultimateCipher);
  decipher.final();
  const target = plaintext.subarray(penultimateOffset, penultimateOffset + AES_BLOCK);
  for (let i = 0; i < AES_BLOCK; i++) target[i] = second[i]! ^ swappedLast[i]! ^ chainBlock[i]!;
  return plaintext;
}

/**
 * The cipher state after a CTS encryption (RFC 3962 §5: the next-to-last block of the output, i.e.
 * the last block in CBC order). Only used by callers that chain messages; Kerberos messages use a
 * zero IV each time.
 */
export function aesCtsNextIv(ciphertext: Uint8Array): Buffer {
  const blocks = Math.ceil(ciphertext.length / AES_BLOCK);
  const offset = Math.max(0, blocks - 2) * AES_BLOCK;
  return Buffer.from(ciphertext.subarray(offset, offset + AES_BLOCK));
}
