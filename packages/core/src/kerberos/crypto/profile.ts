import type { KerberosKey } from './key.js';

/** One Kerberos encryption type (RFC 3961 §3 "encryption algorithm profile"). */
export interface EncryptionProfile {
  readonly enctype: number;
  /** The registered name (also the RFC 8009 salt prefix). */
  readonly name: string;
  readonly keyBytes: number;
  /** The keyed checksum type that goes with this enctype (RFC 3961 §4 "required checksum"). */
  readonly checksumType: number;
  /** Bytes added to a plaintext by `encrypt` (confounder plus integrity tag). */
  readonly overheadBytes: number;
  /** Length of the random confounder that `encrypt` prepends. */
  readonly confounderBytes: number;
  /** Encrypts with integrity; `confounder` is injectable for test vectors only. */
  encrypt(key: KerberosKey, usage: number, plaintext: Uint8Array, confounder?: Uint8Array): Buffer;
  /** Decrypts and verifies; any failure is HttpAuthError('ERR_HTTPAUTH_KRB_MODIFIED'). */
  decrypt(key: KerberosKey, usage: number, ciphertext: Uint8Array): Buffer;
  /** The enctype's keyed checksum (`checksumType`) over `data`. */
  checksum(key: KerberosKey, usage: number, data: Uint8Array): Buffer;
  /** Password to key (RFC 3962 §4, RFC 8009 §4, RFC 4757 §2). `params` is the s2kparams octets. */
  stringToKey(password: string, salt: string | Uint8Array, params?: Uint8Array): KerberosKey;
  /**
   * The same key with the slow part (PBKDF2) off the event loop, where the profile has one
   * (AES: thousands of HMAC rounds per logon). Absent: `stringToKey` is cheap (RC4's one MD4).
   */
  stringToKeyAsync?(
    password: string,
    salt: string | Uint8Array,
    params?: Uint8Array,
  ): Promise<KerberosKey>;
  /** Pseudo-random function (RFC 3961 §3 PRF). */
  prf?(key: KerberosKey, data: Uint8Array): Buffer;
}
