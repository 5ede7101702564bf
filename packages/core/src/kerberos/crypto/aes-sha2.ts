/**
 * aes128-cts-hmac-sha256-128 (19) and aes256-cts-hmac-sha384-192 (20), RFC 8009.
 *
 * Unlike the RFC 3961 simplified profile this is encrypt-then-MAC: the HMAC covers the cipher state
 * (a zero IV) followed by the ciphertext, so integrity is checked before anything is decrypted.
 */
import { createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { randomBytesPooled } from '../../crypto/random-pool.js';
import type { KeyObject } from 'node:crypto';

import { fail } from '../../errors.js';
import { AES_BLOCK, aesCtsDecrypt, aesCtsEncrypt } from './aes-cts.js';
import { ChecksumType, EncType } from './constants.js';
import { keyState, secretKey, usageConstant, usageKeys } from './key.js';
import type { KerberosKey, KeyState } from './key.js';
import type { EncryptionProfile } from './profile.js';
import { passwordKey, pbkdf2Pooled, saltBytes } from './string-to-key.js';
import type { PasswordKeyRecipe } from './string-to-key.js';

const ZERO_IV = Buffer.alloc(AES_BLOCK);
const DEFAULT_ITERATIONS = 32768; // RFC 8009 §4: default s2kparams 00 00 80 00

/**
 * KDF-HMAC-SHA2 (RFC 8009 §3): the first `bits` bits of
 * HMAC(key, 00000001 | label | 00 | context | bits as 32-bit big-endian).
 * One counter block suffices because `bits` never exceeds the hash length here.
 */
export function kdfHmacSha2(
  hash: 'sha256' | 'sha384',
  key: KeyObject | Uint8Array,
  label: Uint8Array,
  bits: number,
  context: Uint8Array = Buffer.alloc(0),
): Buffer {
  const counter = Buffer.from([0, 0, 0, 1]);
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32BE(bits, 0);
  const output = createHmac(hash, key)
    .update(counter)
    .update(label)
    .update(Buffer.from([0]))
    .update(context)
    .update(length)
    .digest();
  return output.subarray(0, bits / 8);
}

class AesSha2Profile implements EncryptionProfile {
  readonly confounderBytes = AES_BLOCK;
  readonly overheadBytes: number;
  readonly #passwordKeyRecipe: PasswordKeyRecipe;

  /**
   * @param macBytes HMAC output kept and the Kc/Ki length: 16 for SHA-256, 24 for SHA-384 (§5).
   */
  constructor(
    readonly enctype: number,
    readonly name: string,
    readonly keyBytes: number,
    readonly checksumType: number,
    private readonly hash: 'sha256' | 'sha384',
    private readonly macBytes: number,
  ) {
    this.overheadBytes = AES_BLOCK + macBytes;
    // RFC 8009 §4: saltp = enctype name | 0x00 | salt; tkey = PBKDF2-HMAC-SHA2(password, saltp);
    // key = KDF-HMAC-SHA2(tkey, "kerberos", key length).
    const namePrefix = Buffer.concat([Buffer.from(name, 'ascii'), Buffer.from([0])]);
    this.#passwordKeyRecipe = {
      enctype,
      digest: hash,
      keyBytes,
      defaultIterations: DEFAULT_ITERATIONS,
      pbkdf2Salt: (salt) => Buffer.concat([namePrefix, saltBytes(salt)]),
      keyBytesFromTkey: (tkey) =>
        kdfHmacSha2(hash, tkey, Buffer.from('kerberos', 'ascii'), keyBytes * 8),
    };
  }

  #encryptionKeys(state: KeyState, usage: number): { encryption: KeyObject; integrity: KeyObject } {
    const keys = usageKeys(state, usage);
    // RFC 8009 §5: Ke = KDF(base, usage | 0xAA, key length); Ki = KDF(base, usage | 0x55, h).
    keys.encryption ??= secretKey(
      kdfHmacSha2(this.hash, state.base, usageConstant(usage, 0xaa), this.keyBytes * 8),
    );
    keys.integrity ??= secretKey(
      kdfHmacSha2(this.hash, state.base, usageConstant(usage, 0x55), this.macBytes * 8),
    );
    return { encryption: keys.encryption, integrity: keys.integrity };
  }

  #mac(integrity: KeyObject, ciphertext: Uint8Array): Buffer {
    // RFC 8009 §5: H = HMAC(Ki, IV | C); the IV is the (zero) cipher state, not part of the output.
    return createHmac(this.hash, integrity)
      .update(ZERO_IV)
      .update(ciphertext)
      .digest()
      .subarray(0, this.macBytes);
  }

  encrypt(key: KerberosKey, usage: number, plaintext: Uint8Array, confounder?: Uint8Array): Buffer {
    const { encryption, integrity } = this.#encryptionKeys(keyState(key, this.enctype), usage);
    const conf = confounder ?? randomBytesPooled(AES_BLOCK);
    if (conf.length !== AES_BLOCK) throw new RangeError('confounder must be one AES block');
    const message = Buffer.concat([conf, plaintext]);
    // Ciphertext and MAC in one buffer: the CTS output reserves the MAC's bytes.
    const output = aesCtsEncrypt(encryption, ZERO_IV, message, this.macBytes);
    message.fill(0);
    const ciphertext = output.subarray(0, message.length);
    this.#mac(integrity, ciphertext).copy(output, message.length);
    return output;
  }

  decrypt(key: KerberosKey, usage: number, ciphertext: Uint8Array): Buffer {
    const { encryption, integrity } = this.#encryptionKeys(keyState(key, this.enctype), usage);
    if (ciphertext.length < this.overheadBytes) fail('ERR_HTTPAUTH_KRB_MODIFIED');
    const macOffset = ciphertext.length - this.macBytes;
    const body = ciphertext.subarray(0, macOffset);
    if (!timingSafeEqual(this.#mac(integrity, body), ciphertext.subarray(macOffset))) {
      fail('ERR_HTTPAUTH_KRB_MODIFIED');
    }
    return aesCtsDecrypt(encryption, ZERO_IV, body).subarray(AES_BLOCK);
  }

  checksum(key: KerberosKey, usage: number, data: Uint8Array): Buffer {
    const state = keyState(key, this.enctype);
    const keys = usageKeys(state, usage);
    // RFC 8009 §5: Kc = KDF(base, usage | 0x99, h); checksum = HMAC(Kc, data) truncated to h.
    keys.checksum ??= secretKey(
      kdfHmacSha2(this.hash, state.base, usageConstant(usage, 0x99), this.macBytes * 8),
    );
    return createHmac(this.hash, keys.checksum).update(data).digest().subarray(0, this.macBytes);
  }

  stringToKey(password: string, salt: string | Uint8Array, params?: Uint8Array): KerberosKey {
    return passwordKey(pbkdf2Sync, this.#passwordKeyRecipe, password, salt, params);
  }

  /** stringToKey with PBKDF2 on libuv's thread pool (string-to-key.ts): the event loop runs on. */
  async stringToKeyAsync(
    password: string,
    salt: string | Uint8Array,
    params?: Uint8Array,
  ): Promise<KerberosKey> {
    return passwordKey(pbkdf2Pooled, this.#passwordKeyRecipe, password, salt, params);
  }

  prf(key: KerberosKey, data: Uint8Array): Buffer {
    const state = keyState(key, this.enctype);
    // RFC 8009 §5: PRF = KDF-HMAC-SHA2(base, "prf", hash length, context = data).
    const bits = this.hash === 'sha256' ? 256 : 384;
    return kdfHmacSha2(this.hash, state.base, Buffer.from('prf', 'ascii'), bits, data);
  }
}

export const aes128CtsHmacSha256 = new AesSha2Profile(
  EncType.AES128_CTS_HMAC_SHA256_128,
  'aes128-cts-hmac-sha256-128',
  16,
  ChecksumType.HMAC_SHA256_128_AES128,
  'sha256',
  16,
);

export const aes256CtsHmacSha384 = new AesSha2Profile(
  EncType.AES256_CTS_HMAC_SHA384_192,
  'aes256-cts-hmac-sha384-192',
  32,
  ChecksumType.HMAC_SHA384_192_AES256,
  'sha384',
  24,
);
