/**
 * NDR20 for the PAC's type-serialised buffers (MS-PAC §2.5): the shared reader (../../ndr/reader.ts)
 * failing with ERR_HTTPAUTH_KRB_PAC_INVALID, and the SID formats of MS-DTYP §2.4.2.
 */
import { fail } from '../../errors.js';
import { NdrReader as SharedNdrReader } from '../../ndr/reader.js';

/** The shared reader, failing with ERR_HTTPAUTH_KRB_PAC_INVALID. */
export class NdrReader extends SharedNdrReader {
  constructor(buf: Buffer, start: number) {
    super(buf, { start, malformed: () => fail('ERR_HTTPAUTH_KRB_PAC_INVALID') });
  }
}

/** Format a binary SID (MS-DTYP §2.4.2) as S-R-I-S-S... */
export function formatSid(
  revision: number,
  authority: Buffer,
  subAuthorities: readonly number[],
): string {
  let auth = 0;
  for (const byte of authority) auth = auth * 256 + byte;
  return `S-${revision}-${auth}${subAuthorities.map((s) => `-${s}`).join('')}`;
}

/** A SID in its self-relative binary form (MS-DTYP §2.4.2.2), as UPN_DNS_INFO carries it. */
export function parseBinarySid(bytes: Buffer): string {
  if (bytes.length < 8) fail('ERR_HTTPAUTH_KRB_PAC_INVALID');
  const revision = bytes[0] as number;
  const count = bytes[1] as number;
  if (count > 15 || bytes.length !== 8 + 4 * count) fail('ERR_HTTPAUTH_KRB_PAC_INVALID');
  const subs: number[] = [];
  for (let i = 0; i < count; i++) subs.push(bytes.readUInt32LE(8 + 4 * i));
  return formatSid(revision, bytes.subarray(2, 8), subs);
}
