/**
 * rc4-hmac (23), RFC 4757 (Microsoft's "arcfour-hmac-md5"), and its HMAC-MD5 checksum (-138).
 *
 * Weak by modern standards (RFC 8429 deprecates it); present because older Active Directory
 * accounts and PAC signatures still use it. Whether it is accepted is the acceptor's policy.
 * The exportable 40-bit variant (24) is not implemented.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { randomBytesPooled } from '../../crypto/random-pool.js';
import type { KeyObject } from 'node:crypto';

import { fail } from '../../errors.js';
import { md4 } from '../../crypto/md4.js';
import { Rc4 } from '../../crypto/rc4.js';
import { ChecksumType, EncType } from './constants.js';
import { keyState, makeKey, secretKey, usageKeys } from './key.js';
import type { KerberosKey, KeyState } from './key.js';
import type { EncryptionProfile } from './profile.js';

const CONFOUNDER_BYTES = 8;
const MAC_BYTES = 16;
const SIGNATURE_KEY_LABEL = Buffer.from('signaturekey\0', 'ascii');

/**
 * RFC 4757 §3: the message-type numbers RC4-HMAC uses in place of some RFC 4120 key usages: the
 * AS-REP encrypted part (3) uses 8 like the TGS-REP one, and the GSS sign usage 23 becomes 13.
 * The RFC also maps 9 to 8, but its erratum (ID 4354, followed by MIT krb5 and Windows) keeps 9;
 * decryption under usage 9 still accepts the old mapping (see `decrypt`).
 */
export function rc4Usage(usage: number): number {
  switch (usage) {
    case 3:
      return 8;
    case 23:
      return 13;
    default:
      return usage;
  }
}

const TGS_REP_ENCPART_SUBKEY = 9;
const LEGACY_SUBKEY_USAGE = 8;

function littleEndianUsage(usage: number): Buffer {
  const bytes = Buffer.allocUnsafe(4);
  bytes.writeUInt32LE(rc4Usage(usage) >>> 0, 0);
  return bytes;
}

function hmacMd5(key: KeyObject | Uint8Array, ...parts: Uint8Array[]): Buffer {
  const hmac = createHmac('md5', key);
  for (const part of parts) hmac.update(part);
  return hmac.digest();
}

class Rc4HmacProfile implements EncryptionProfile {
  readonly enctype = EncType.RC4_HMAC;
  readonly name = 'rc4-hmac';
  readonly keyBytes = 16;
  readonly checksumType = ChecksumType.HMAC_MD5;
  readonly confounderBytes = CONFOUNDER_BYTES;
  readonly overheadBytes = CONFOUNDER_BYTES + MAC_BYTES;

  /** K1 = HMAC-MD5(key, usage as 32-bit little-endian); K2 = K1 in the non-export variant. */
  #usageKey(state: KeyState, usage: number): KeyObject {
    const keys = usageKeys(state, usage);
    keys.integrity ??= secretKey(hmacMd5(state.base, littleEndianUsage(usage)));
    return keys.integrity;
  }

  encrypt(key: KerberosKey, usage: number, plaintext: Uint8Array, confounder?: Uint8Array): Buffer {
    const k1 = this.#usageKey(keyState(key, this.enctype), usage);
    const conf = confounder ?? randomBytesPooled(CONFOUNDER_BYTES);
    if (conf.length !== CONFOUNDER_BYTES) throw new RangeError('confounder must be 8 bytes');
    // RFC 4757 §5: checksum = HMAC-MD5(K2, confounder | plaintext); K3 = HMAC-MD5(K1, checksum);
    // output = checksum | RC4(K3, confounder | plaintext).
    const mac = hmacMd5(k1, conf, plaintext);
    const k3 = hmacMd5(k1, mac);
    const cipher = new Rc4(k3);
    k3.fill(0);
    try {
      return Buffer.concat([mac, cipher.update(conf), cipher.update(plaintext)]);
    } finally {
      cipher.dispose();
    }
  }

  decrypt(key: KerberosKey, usage: number, ciphertext: Uint8Array): Buffer {
    const state = keyState(key, this.enctype);
    if (ciphertext.length < this.overheadBytes) fail('ERR_HTTPAUTH_KRB_MODIFIED');
    const message = this.#decryptWith(this.#usageKey(state, usage), ciphertext);
    if (message !== undefined) return message;
    // Peers that follow the unamended RFC 4757 encrypt the TGS-REP subkey part under usage 8.
    if (usage === TGS_REP_ENCPART_SUBKEY) {
      const legacy = this.#decryptWith(this.#usageKey(state, LEGACY_SUBKEY_USAGE), ciphertext);
      if (legacy !== undefined) return legacy;
    }
    fail('ERR_HTTPAUTH_KRB_MODIFIED');
  }

  /** Decrypts under the usage key K1, or returns undefined when the HMAC does not verify. */
  #decryptWith(k1: KeyObject, ciphertext: Uint8Array): Buffer | undefined {
    const mac = ciphertext.subarray(0, MAC_BYTES);
    const k3 = hmacMd5(k1, mac);
    const cipher = new Rc4(k3);
    k3.fill(0);
    const message = cipher.update(ciphertext.subarray(MAC_BYTES));
    cipher.dispose();
    if (!timingSafeEqual(hmacMd5(k1, message), mac)) {
      message.fill(0);
      return undefined;
    }
    return message.subarray(CONFOUNDER_BYTES);
  }

  checksum(key: KerberosKey, usage: number, data: Uint8Array): Buffer {
    const state = keyState(key, this.enctype);
    let signatureKey = state.extra.get('signature');
    if (signatureKey === undefined) {
      // RFC 4757 §4: Ksign = HMAC-MD5(key, "signaturekey\0").
      signatureKey = secretKey(hmacMd5(state.base, SIGNATURE_KEY_LABEL));
      state.extra.set('signature', signatureKey);
    }
    // checksum = HMAC-MD5(Ksign, MD5(usage as 32-bit little-endian | data)).
    const inner = createHash('md5').update(littleEndianUsage(usage)).update(data).digest();
    return hmacMd5(signatureKey, inner);
  }

  stringToKey(password: string): KerberosKey {
    // RFC 4757 §2: K = MD4(UNICODE(password)), no salt and no parameters (the NT hash).
    const passwordBytes = Buffer.from(password, 'utf16le');
    const keyBytes = md4(passwordBytes);
    passwordBytes.fill(0);
    const result = makeKey(this.enctype, keyBytes);
    keyBytes.fill(0);
    return result;
  }

  prf(key: KerberosKey, data: Uint8Array): Buffer {
    // RFC 4757 gives no PRF; MIT krb5 and impacket use HMAC-SHA1(base key, data), so do we.
    return createHmac('sha1', keyState(key, this.enctype).base).update(data).digest();
  }
}

export const rc4Hmac: EncryptionProfile = new Rc4HmacProfile();
