/**
 * aes128-cts-hmac-sha1-96 (17) and aes256-cts-hmac-sha1-96 (18): the RFC 3961 §5.3 simplified
 * profile instantiated with AES by RFC 3962.
 */
import { createCipheriv, createHash, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

import { randomBytesPooled } from '../../crypto/random-pool.js';
import { fail } from '../../errors.js';
import { AES_BLOCK, aesCtsDecrypt, aesCtsEncrypt } from './aes-cts.js';
import { ChecksumType, EncType } from './constants.js';
import { keyState, secretKey, usageConstant, usageKeys } from './key.js';
import type { KerberosKey, KeyState } from './key.js';
import { nfold } from './nfold.js';
import type { EncryptionProfile } from './profile.js';
import { passwordKey, pbkdf2Pooled, saltBytes } from './string-to-key.js';
import type { PasswordKeyRecipe } from './string-to-key.js';

const ZERO_IV = Buffer.alloc(AES_BLOCK);
const HMAC_BYTES = 12; // HMAC-SHA1-96: the first 96 bits (RFC 3962 §6)
const DEFAULT_ITERATIONS = 4096; // RFC 3962 §4: default s2kparams 00 00 10 00

// Folded derivation constants are pure functions of (usage, suffix); memoise them (bounded).
const foldedConstants = new Map<string, Buffer>();
function foldedConstant(constant: Uint8Array): Buffer {
  const id = Buffer.from(constant).toString('latin1');
  let folded = foldedConstants.get(id);
  if (folded === undefined) {
    // RFC 3961 §5.1: the constant is n-folded to the cipher block size unless already that long.
    folded = constant.length === AES_BLOCK ? Buffer.from(constant) : nfold(constant, AES_BLOCK);
    if (foldedConstants.size >= 256) foldedConstants.clear();
    foldedConstants.set(id, folded);
  }
  return folded;
}

/**
 * DR(base, constant) of RFC 3961 §5.1 for AES: E(folded), E(E(folded)), ... until `keyBytes`.
 * Chained single-block encryptions are exactly CBC with a zero IV over folded || 0^16 || ...,
 * so one CBC call yields them all. AES random-to-key is the identity (RFC 3962 §6), so DK = DR.
 */
function deriveKeyBytes(
  base: KeyObject | Uint8Array,
  constant: Uint8Array,
  keyBytes: number,
): Buffer {
  const input = Buffer.alloc(keyBytes);
  foldedConstant(constant).copy(input);
  const cipherName = keyBytes === 32 ? 'aes-256-cbc' : 'aes-128-cbc';
  const cipher = createCipheriv(cipherName, base, ZERO_IV).setAutoPadding(false);
  const derived = Buffer.concat([cipher.update(input), cipher.final()]);
  return derived;
}

class AesSha1Profile implements EncryptionProfile {
  readonly confounderBytes = AES_BLOCK;
  readonly overheadBytes = AES_BLOCK + HMAC_BYTES;
  readonly #passwordKeyRecipe: PasswordKeyRecipe;

  constructor(
    readonly enctype: number,
    readonly name: string,
    readonly keyBytes: number,
    readonly checksumType: number,
  ) {
    // RFC 3962 §4: tkey = random-to-key(PBKDF2-HMAC-SHA1(password, salt, iterations, keylength));
    // key = DK(tkey, "kerberos").
    this.#passwordKeyRecipe = {
      enctype,
      digest: 'sha1',
      keyBytes,
      defaultIterations: DEFAULT_ITERATIONS,
      pbkdf2Salt: saltBytes,
      keyBytesFromTkey: (tkey) => deriveKeyBytes(tkey, Buffer.from('kerberos', 'ascii'), keyBytes),
    };
  }

  #encryptionKeys(state: KeyState, usage: number): { encryption: KeyObject; integrity: KeyObject } {
    const keys = usageKeys(state, usage);
    // RFC 3961 §5.3: Ke = DK(base, usage | 0xAA), Ki = DK(base, usage | 0x55).
    keys.encryption ??= secretKey(
      deriveKeyBytes(state.base, usageConstant(usage, 0xaa), this.keyBytes),
    );
    keys.integrity ??= secretKey(
      deriveKeyBytes(state.base, usageConstant(usage, 0x55), this.keyBytes),
    );
    return { encryption: keys.encryption, integrity: keys.integrity };
  }

  encrypt(key: KerberosKey, usage: number, plaintext: Uint8Array, confounder?: Uint8Array): Buffer {
    const { encryption, integrity } = this.#encryptionKeys(keyState(key, this.enctype), usage);
    const conf = confounder ?? randomBytesPooled(AES_BLOCK);
    if (conf.length !== AES_BLOCK) throw new RangeError('confounder must be one AES block');
    const message = Buffer.concat([conf, plaintext]);
    // Ciphertext and MAC in one buffer: the CTS output reserves the MAC's bytes.
    const output = aesCtsEncrypt(encryption, ZERO_IV, message, HMAC_BYTES);
    // RFC 3961 §5.3: the HMAC is over the plaintext (confounder included), not the ciphertext.
    const mac = createHmac('sha1', integrity).update(message).digest();
    message.fill(0);
    mac.copy(output, message.length, 0, HMAC_BYTES);
    return output;
  }

  decrypt(key: KerberosKey, usage: number, ciphertext: Uint8Array): Buffer {
    const { encryption, integrity } = this.#encryptionKeys(keyState(key, this.enctype), usage);
    if (ciphertext.length < this.overheadBytes) fail('ERR_HTTPAUTH_KRB_MODIFIED');
    const macOffset = ciphertext.length - HMAC_BYTES;
    const message = aesCtsDecrypt(encryption, ZERO_IV, ciphertext.subarray(0, macOffset));
    const mac = createHmac('sha1', integrity).update(message).digest().subarray(0, HMAC_BYTES);
    if (!timingSafeEqual(mac, ciphertext.subarray(macOffset))) {
      message.fill(0);
      fail('ERR_HTTPAUTH_KRB_MODIFIED');
    }
    return message.subarray(AES_BLOCK);
  }

  checksum(key: KerberosKey, usage: number, data: Uint8Array): Buffer {
    const state = keyState(key, this.enctype);
    const keys = usageKeys(state, usage);
    // RFC 3961 §5.4: Kc = DK(base, usage | 0x99); checksum = HMAC-SHA1(Kc, data) truncated.
    keys.checksum ??= secretKey(
      deriveKeyBytes(state.base, usageConstant(usage, 0x99), this.keyBytes),
    );
    return createHmac('sha1', keys.checksum).update(data).digest().subarray(0, HMAC_BYTES);
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
    let prfKey = state.extra.get('prf');
    if (prfKey === undefined) {
      prfKey = secretKey(deriveKeyBytes(state.base, Buffer.from('prf', 'ascii'), this.keyBytes));
      state.extra.set('prf', prfKey);
    }
    // RFC 3962 §6: PRF = E(DK(key, "prf"), truncate-to-block-multiple(SHA1(data))), zero IV.
    const digest = createHash('sha1').update(data).digest().subarray(0, AES_BLOCK);
    return aesCtsEncrypt(prfKey, ZERO_IV, digest);
  }
}

export const aes128CtsHmacSha1 = new AesSha1Profile(
  EncType.AES128_CTS_HMAC_SHA1_96,
  'aes128-cts-hmac-sha1-96',
  16,
  ChecksumType.HMAC_SHA1_96_AES128,
);

export const aes256CtsHmacSha1 = new AesSha1Profile(
  EncType.AES256_CTS_HMAC_SHA1_96,
  'aes256-cts-hmac-sha1-96',
  32,
  ChecksumType.HMAC_SHA1_96_AES256,
);
