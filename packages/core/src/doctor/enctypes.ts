/** Enctype names as MIT's klist prints them (IANA Kerberos Encryption Type Numbers). */
const ENCTYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [1, 'des-cbc-crc'],
  [3, 'des-cbc-md5'],
  [16, 'des3-cbc-sha1'],
  [17, 'aes128-cts-hmac-sha1-96'],
  [18, 'aes256-cts-hmac-sha1-96'],
  [19, 'aes128-cts-hmac-sha256-128'],
  [20, 'aes256-cts-hmac-sha384-192'],
  [23, 'arcfour-hmac'],
  [24, 'arcfour-hmac-exp'],
  [25, 'camellia128-cts-cmac'],
  [26, 'camellia256-cts-cmac'],
]);

export function enctypeName(enctype: number): string {
  return ENCTYPE_NAMES.get(enctype) ?? `enctype ${enctype}`;
}

/** AES (RFC 3962, RFC 8009): accepted by default. */
export function isAes(enctype: number): boolean {
  return enctype >= 17 && enctype <= 20;
}
