/**
 * RC4 stream cipher (the "ARCFOUR" algorithm as used by RFC 4757 and MS-NLMP 3.4.4).
 *
 * RC4 is weak, but NTLM sealing/signing and the RC4-HMAC Kerberos enctype require it. OpenSSL 3
 * keeps it in the legacy provider, which Node 20 does not load, so it lives here.
 */

/** Streaming RC4: successive `update` calls continue one key stream (NTLM sealing keeps one per direction). */
export class Rc4 {
  readonly #state = new Uint8Array(256);
  #i = 0;
  #j = 0;
  #disposed = false;

  constructor(key: Uint8Array) {
    if (key.length === 0 || key.length > 256) {
      // A programming error, never input-driven: callers pass fixed-size derived keys.
      throw new RangeError('RC4 key must be 1..256 bytes');
    }
    const s = this.#state;
    for (let i = 0; i < 256; i++) s[i] = i;
    // Key-scheduling algorithm.
    let j = 0;
    for (let i = 0; i < 256; i++) {
      const si = s[i]!;
      j = (j + si + key[i % key.length]!) & 0xff;
      s[i] = s[j]!;
      s[j] = si;
    }
  }

  /** Encrypts or decrypts `data` (the operation is its own inverse) and advances the key stream. */
  update(data: Uint8Array): Buffer {
    // A wiped (all-zero) schedule would emit the plaintext unchanged: refuse instead.
    if (this.#disposed) throw new Error('RC4 instance used after dispose()');
    const s = this.#state;
    const out = Buffer.allocUnsafe(data.length);
    let i = this.#i;
    let j = this.#j;
    for (let n = 0; n < data.length; n++) {
      i = (i + 1) & 0xff;
      const si = s[i]!;
      j = (j + si) & 0xff;
      const sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      out[n] = data[n]! ^ s[(si + sj) & 0xff]!;
    }
    this.#i = i;
    this.#j = j;
    return out;
  }

  /** Wipes the key schedule; the instance must not be used afterwards. */
  dispose(): void {
    this.#state.fill(0);
    this.#disposed = true;
    this.#i = 0;
    this.#j = 0;
  }
}

/** One-shot RC4 of `data` under `key`; the key schedule is wiped before returning. */
export function rc4(key: Uint8Array, data: Uint8Array): Buffer {
  const cipher = new Rc4(key);
  try {
    return cipher.update(data);
  } finally {
    cipher.dispose();
  }
}
