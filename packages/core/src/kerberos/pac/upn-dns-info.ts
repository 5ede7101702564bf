/**
 * UPN_DNS_INFO (MS-PAC §2.10): offsets are relative to the start of the buffer.
 *
 *   USHORT UpnLength, UpnOffset, DnsDomainNameLength, DnsDomainNameOffset; ULONG Flags
 *   Flags & 0x2 (S, extended): USHORT SamNameLength, SamNameOffset, SidLength, SidOffset
 *   Flags & 0x1 (U): the user has no UPN; Upn is a constructed name
 */
import { fail } from '../../errors.js';
import { parseBinarySid } from './ndr.js';

export const UpnDnsFlags = { UPN_CONSTRUCTED: 0x1, EXTENDED: 0x2 } as const;

/**
 * UPN_DNS_INFO (MS-PAC §2.10): the user's UPN and DNS domain name and, in the extended form, the
 * SAM account name and the user's SID.
 */
export interface UpnDnsInfo {
  readonly upn: string;
  readonly dnsDomainName: string;
  readonly flags: number;
  readonly samName: string | undefined;
  readonly sid: string | undefined;
}

function slice(data: Buffer, length: number, offset: number): Buffer {
  if (length === 0) return Buffer.alloc(0);
  if (offset + length > data.length) fail('ERR_HTTPAUTH_KRB_PAC_INVALID');
  return data.subarray(offset, offset + length);
}

function utf16(data: Buffer, length: number, offset: number): string {
  if (length % 2 !== 0) fail('ERR_HTTPAUTH_KRB_PAC_INVALID');
  return slice(data, length, offset).toString('utf16le');
}

/**
 * Decodes a UPN_DNS_INFO buffer (MS-PAC §2.10). Throws `ERR_HTTPAUTH_KRB_PAC_INVALID` when a length
 * or offset lies outside the buffer.
 */
export function decodeUpnDnsInfo(data: Buffer): UpnDnsInfo {
  if (data.length < 12) fail('ERR_HTTPAUTH_KRB_PAC_INVALID');
  const upn = utf16(data, data.readUInt16LE(0), data.readUInt16LE(2));
  const dnsDomainName = utf16(data, data.readUInt16LE(4), data.readUInt16LE(6));
  const flags = data.readUInt32LE(8);
  let samName: string | undefined;
  let sid: string | undefined;
  if ((flags & UpnDnsFlags.EXTENDED) !== 0) {
    if (data.length < 20) fail('ERR_HTTPAUTH_KRB_PAC_INVALID');
    samName = utf16(data, data.readUInt16LE(12), data.readUInt16LE(14));
    const sidLength = data.readUInt16LE(16);
    if (sidLength > 0) sid = parseBinarySid(slice(data, sidLength, data.readUInt16LE(18)));
  }
  return { upn, dnsDomainName, flags, samName, sid };
}
