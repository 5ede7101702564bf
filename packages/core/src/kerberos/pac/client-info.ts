/**
 * PAC_CLIENT_INFO (MS-PAC §2.7): FILETIME ClientId (the ticket's authtime), USHORT NameLength
 * (bytes), WCHAR Name[NameLength / 2] (the client name, without realm).
 */
import { fail } from '../../errors.js';

export interface PacClientInfo {
  /** ClientId as milliseconds since the Unix epoch. */
  readonly clientId: number;
  readonly name: string;
}

/** 100 ns ticks between 1601-01-01 and 1970-01-01. */
export const FILETIME_UNIX_EPOCH = 116444736000000000n;

export function filetimeToMs(filetime: bigint): number {
  return Number((filetime - FILETIME_UNIX_EPOCH) / 10000n);
}

export function decodeClientInfo(data: Buffer): PacClientInfo {
  if (data.length < 10) fail('ERR_HTTPAUTH_KRB_PAC_INVALID');
  const filetime = data.readBigUInt64LE(0);
  const length = data.readUInt16LE(8);
  if (length % 2 !== 0 || 10 + length > data.length) fail('ERR_HTTPAUTH_KRB_PAC_INVALID');
  return {
    clientId: filetimeToMs(filetime),
    name: data.subarray(10, 10 + length).toString('utf16le'),
  };
}
