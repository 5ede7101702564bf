/**
 * DER tag bytes (X.690 §8.1.2) shared by the reader (der.ts) and the writer (der-encode.ts).
 * Every Kerberos and GSS-API tag fits in one byte (tag numbers below 31).
 */

export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  GENERALIZED_TIME: 0x18,
  GENERAL_STRING: 0x1b,
  SEQUENCE: 0x30,
} as const;

/** [APPLICATION n] constructed tag byte. */
export function applicationTag(n: number): number {
  return 0x60 | n;
}

/** [n] constructed context tag byte (EXPLICIT tagging, as Kerberos uses). */
export function contextTag(n: number): number {
  return 0xa0 | n;
}
