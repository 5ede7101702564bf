/**
 * AV_PAIR lists (MS-NLMP 2.2.2.1): the CHALLENGE's TargetInfo and, echoed and extended by the
 * client, the AV pairs inside an NTLMv2 response (NTLMv2_CLIENT_CHALLENGE.AvPairs).
 *
 *   AvId (2, LE) | AvLen (2, LE) | Value (AvLen bytes) ... terminated by MsvAvEOL (0, 0)
 *
 * Names are UTF-16LE whatever the negotiated character set. The list must end with MsvAvEOL;
 * bytes after it are padding (the NTLMv2 blob ends with Z(4)) and are kept out of the decoded view.
 */
import { fail } from '../errors.js';

export const MsvAvEOL = 0x0000;
export const MsvAvNbComputerName = 0x0001;
export const MsvAvNbDomainName = 0x0002;
export const MsvAvDnsComputerName = 0x0003;
export const MsvAvDnsDomainName = 0x0004;
export const MsvAvDnsTreeName = 0x0005;
export const MsvAvFlags = 0x0006;
export const MsvAvTimestamp = 0x0007;
export const MsvAvSingleHost = 0x0008;
export const MsvAvTargetName = 0x0009;
export const MsvAvChannelBindings = 0x000a;

/** MsvAvFlags bits (MS-NLMP 2.2.2.1). */
export const MSV_AV_FLAG_ACCOUNT_CONSTRAINED = 0x00000001;
/** The AUTHENTICATE carries a MIC: a server must then verify it (CVE-2019-1040). */
export const MSV_AV_FLAG_MIC_PRESENT = 0x00000002;
export const MSV_AV_FLAG_SPN_UNTRUSTED = 0x00000004;

/**
 * An AV_PAIR (MS-NLMP §2.2.2.1): an attribute id (`MsvAv*`) and its value, as found in a
 * CHALLENGE's TargetInfo and an NTLMv2 response.
 */
export interface AvPair {
  readonly id: number;
  readonly value: Buffer;
}

/** Decodes an AV pair list. Fails unless it ends with MsvAvEOL inside `bytes`. */
export function decodeAvPairs(bytes: Buffer): AvPair[] {
  const pairs: AvPair[] = [];
  let at = 0;
  for (;;) {
    if (at + 4 > bytes.length) fail('ERR_HTTPAUTH_NTLM_MALFORMED');
    const id = bytes.readUInt16LE(at);
    const length = bytes.readUInt16LE(at + 2);
    at += 4;
    if (id === MsvAvEOL) {
      // MS-NLMP 2.2.2.1: MsvAvEOL has AvLen 0.
      if (length !== 0) fail('ERR_HTTPAUTH_NTLM_MALFORMED');
      return pairs;
    }
    if (length > bytes.length - at) fail('ERR_HTTPAUTH_NTLM_MALFORMED');
    pairs.push({ id, value: bytes.subarray(at, at + length) });
    at += length;
  }
}

/** Encodes the pairs and appends MsvAvEOL (any MsvAvEOL in `pairs` is a caller error). */
export function encodeAvPairs(pairs: readonly AvPair[]): Buffer {
  const chunks: Buffer[] = [];
  for (const pair of pairs) {
    if (pair.id === MsvAvEOL || pair.value.length > 0xffff) fail('ERR_HTTPAUTH_NTLM_MALFORMED');
    const head = Buffer.alloc(4);
    head.writeUInt16LE(pair.id, 0);
    head.writeUInt16LE(pair.value.length, 2);
    chunks.push(head, pair.value);
  }
  chunks.push(Buffer.alloc(4));
  return Buffer.concat(chunks);
}

/** The first pair with this id, if any. */
export function findAvPair(pairs: readonly AvPair[], id: number): Buffer | undefined {
  return pairs.find((pair) => pair.id === id)?.value;
}

export function avString(value: string): Buffer {
  return Buffer.from(value, 'utf16le');
}

/** A name pair's value as text; odd lengths are malformed UTF-16LE. */
export function avPairString(value: Buffer): string {
  if (value.length % 2 !== 0) fail('ERR_HTTPAUTH_NTLM_MALFORMED');
  return value.toString('utf16le');
}

/** MsvAvFlags as a number; fails when the value is not 4 bytes. */
export function avFlags(pairs: readonly AvPair[]): number {
  const value = findAvPair(pairs, MsvAvFlags);
  if (value === undefined) return 0;
  if (value.length !== 4) fail('ERR_HTTPAUTH_NTLM_MALFORMED');
  return value.readUInt32LE(0);
}

// FILETIME: 100-ns intervals since 1601-01-01 (MS-DTYP 2.3.3).
const FILETIME_UNIX_EPOCH = 116444736000000000n;

/** Milliseconds since the Unix epoch as an 8-byte little-endian FILETIME. */
export function fileTime(ms: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(BigInt(Math.floor(ms)) * 10000n + FILETIME_UNIX_EPOCH);
  return out;
}

/** An 8-byte FILETIME as milliseconds since the Unix epoch. */
export function fileTimeToMs(bytes: Buffer): number {
  if (bytes.length !== 8) fail('ERR_HTTPAUTH_NTLM_MALFORMED');
  const ticks = bytes.readBigUInt64LE(0);
  return Number((ticks - FILETIME_UNIX_EPOCH) / 10000n);
}
