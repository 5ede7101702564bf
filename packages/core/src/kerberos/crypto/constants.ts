/**
 * Kerberos crypto registry numbers (IANA "Kerberos Encryption Type Numbers" and "Kerberos Checksum
 * Type Numbers") and key-usage numbers (RFC 4120 §7.5.1, RFC 4121 §2, MS-PAC).
 *
 * DES enctypes (1, 2, 3, 16) and the exportable RC4 variant (24) are deliberately absent: RFC 6649
 * deprecates DES and the 40-bit RC4 variant offers no security.
 */
export const EncType = {
  AES128_CTS_HMAC_SHA1_96: 17,
  AES256_CTS_HMAC_SHA1_96: 18,
  AES128_CTS_HMAC_SHA256_128: 19,
  AES256_CTS_HMAC_SHA384_192: 20,
  RC4_HMAC: 23,
} as const;

/**
 * Kerberos checksum type numbers (IANA "Kerberos Checksum Type Numbers"; RFC 3962 §7, RFC 8009 §5,
 * RFC 4757 §4) for the enctypes the engine supports, as found in PAC signatures (MS-PAC §2.8) and
 * GSS tokens.
 */
export const ChecksumType = {
  HMAC_SHA1_96_AES128: 15,
  HMAC_SHA1_96_AES256: 16,
  HMAC_SHA256_128_AES128: 19,
  HMAC_SHA384_192_AES256: 20,
  /** RFC 4757 §4 / MS-PAC 2.8.1 KERB_CHECKSUM_HMAC_MD5; keyed with an RC4-HMAC key. */
  HMAC_MD5: -138,
} as const;

/**
 * Kerberos key-usage numbers (RFC 4120 §7.5.1, RFC 4121 §2, MS-PAC §2.8): each encryption or
 * checksum derives its key from the long-term key and the number of what it protects, so a
 * ciphertext made for one purpose does not decrypt for another.
 */
export const KeyUsage = {
  AS_REQ_PA_ENC_TIMESTAMP: 1,
  KDC_REP_TICKET: 2,
  AS_REP_ENCPART: 3,
  TGS_REQ_AD_SESSION: 4,
  TGS_REQ_AD_SUBKEY: 5,
  TGS_REQ_AUTHENTICATOR_CKSUM: 6,
  TGS_REQ_AUTHENTICATOR: 7,
  TGS_REP_ENCPART_SESSION: 8,
  TGS_REP_ENCPART_SUBKEY: 9,
  AP_REQ_AUTHENTICATOR_CKSUM: 10,
  AP_REQ_AUTHENTICATOR: 11,
  AP_REP_ENCPART: 12,
  KRB_PRIV_ENCPART: 13,
  KRB_CRED_ENCPART: 14,
  KRB_SAFE_CKSUM: 15,
  /** MS-PAC 2.8: the usage for PAC server and KDC signatures. */
  KERB_NON_KERB_CKSUM_SALT: 17,
  /** RFC 4121 §2: per-message token usages. */
  GSS_ACCEPTOR_SEAL: 22,
  GSS_ACCEPTOR_SIGN: 23,
  GSS_INITIATOR_SEAL: 24,
  GSS_INITIATOR_SIGN: 25,
} as const;

/** Key length in bytes for each supported enctype (RFC 3962 §6, RFC 8009 §5, RFC 4757 §2). */
export const KEY_BYTES: ReadonlyMap<number, number> = new Map([
  [EncType.AES128_CTS_HMAC_SHA1_96, 16],
  [EncType.AES256_CTS_HMAC_SHA1_96, 32],
  [EncType.AES128_CTS_HMAC_SHA256_128, 16],
  [EncType.AES256_CTS_HMAC_SHA384_192, 32],
  [EncType.RC4_HMAC, 16],
]);
