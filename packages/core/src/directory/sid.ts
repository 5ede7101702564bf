/**
 * Security identifiers (MS-DTYP §2.4.2): the `S-1-5-21-…` string form that principals carry and
 * the self-relative binary form that Active Directory stores in `objectSid` (MS-DTYP §2.4.2.2):
 *
 *   Revision (1) | SubAuthorityCount (1) | IdentifierAuthority (6, big-endian)
 *   | SubAuthority[SubAuthorityCount] (4 each, little-endian)
 */

/** MS-DTYP §2.4.2: at most 15 sub-authorities. */
export const MAX_SUB_AUTHORITIES = 15;
const MAX_AUTHORITY = 2 ** 48 - 1;
const MAX_SUB_AUTHORITY = 2 ** 32 - 1;
const SID_PATTERN = /^S-1-(\d{1,15})((?:-\d{1,10}){0,15})$/i;

/** The binary form of a SID string, or undefined when the string is not a SID. */
export function sidToBytes(sid: string): Buffer | undefined {
  if (typeof sid !== 'string') return undefined;
  const match = SID_PATTERN.exec(sid);
  if (match === null) return undefined;
  const authority = Number(match[1]);
  if (authority > MAX_AUTHORITY) return undefined;
  const subs = (match[2] as string).split('-').slice(1).map(Number);
  if (subs.some((sub) => sub > MAX_SUB_AUTHORITY)) return undefined;
  const bytes = Buffer.alloc(8 + 4 * subs.length);
  bytes[0] = 1;
  bytes[1] = subs.length;
  bytes.writeUIntBE(authority, 2, 6);
  subs.forEach((sub, i) => bytes.writeUInt32LE(sub, 8 + 4 * i));
  return bytes;
}

/** The string form of a binary SID, or undefined when the bytes are not one. */
export function sidFromBytes(bytes: Buffer): string | undefined {
  if (!Buffer.isBuffer(bytes) || bytes.length < 8 || bytes[0] !== 1) return undefined;
  const count = bytes[1] as number;
  if (count > MAX_SUB_AUTHORITIES || bytes.length !== 8 + 4 * count) return undefined;
  let sid = `S-1-${bytes.readUIntBE(2, 6)}`;
  for (let i = 0; i < count; i++) sid += `-${bytes.readUInt32LE(8 + 4 * i)}`;
  return sid;
}

/** The canonical spelling of a SID string (upper-case `S`, no leading zeros), or undefined. */
export function canonicalSid(sid: string): string | undefined {
  const bytes = sidToBytes(sid);
  return bytes === undefined ? undefined : sidFromBytes(bytes);
}
