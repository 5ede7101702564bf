/**
 * DER encoding (X.690 §10) of the Kerberos and GSS-API messages the acceptor sends (AP-REP,
 * KRB-ERROR, SPNEGO responses) and the test clients build. Encoders build DER from parts and are
 * only ever fed our own values, so unlike the reader (der.ts) they do not validate their input.
 */
import { contextTag, Tag } from './tags.js';

function lengthOctets(length: number): number {
  if (length < 0x80) return 1;
  let count = 1;
  for (let v = length; v > 0xff; v = Math.floor(v / 256)) count++;
  return 1 + count;
}

/** Bytes of a whole TLV whose content is `length` bytes (X.690 §8.1.3 definite length). */
export function tlvSize(length: number): number {
  return 1 + lengthOctets(length) + length;
}

/**
 * Writes a TLV's tag and definite length (X.690 §8.1.3, minimal) at `pos` of `out`; returns
 * where its content starts. For writers that size a whole message first and fill one Buffer.
 */
export function writeTlvHeader(out: Buffer, pos: number, tag: number, length: number): number {
  out[pos] = tag;
  if (length < 0x80) {
    out[pos + 1] = length;
    return pos + 2;
  }
  const count = lengthOctets(length) - 1;
  out[pos + 1] = 0x80 | count;
  for (let i = count, v = length; i >= 1; i--, v = Math.floor(v / 256)) out[pos + 1 + i] = v & 0xff;
  return pos + 2 + count;
}

/** One TLV from its parts, written into a single allocation (the AP-REP path runs per request). */
export function encodeTlv(tag: number, ...contents: readonly Buffer[]): Buffer {
  let length = 0;
  for (const part of contents) length += part.length;
  const header = 1 + lengthOctets(length);
  const out = Buffer.allocUnsafe(header + length);
  out[0] = tag;
  if (length < 0x80) {
    out[1] = length;
  } else {
    const count = header - 2;
    out[1] = 0x80 | count;
    for (let i = count, v = length; i >= 1; i--, v = Math.floor(v / 256)) out[1 + i] = v & 0xff;
  }
  let pos = header;
  for (const part of contents) {
    part.copy(out, pos);
    pos += part.length;
  }
  return out;
}

export function encodeSequence(...items: readonly Buffer[]): Buffer {
  return encodeTlv(Tag.SEQUENCE, ...items);
}

/** A SEQUENCE of EXPLICIT context-tagged fields; undefined entries are absent OPTIONAL fields. */
export function encodeContextSequence(fields: readonly (Buffer | undefined)[]): Buffer {
  const parts: Buffer[] = [];
  for (let n = 0; n < fields.length; n++) {
    const field = fields[n];
    if (field !== undefined) parts.push(encodeTlv(contextTag(n), field));
  }
  return encodeTlv(Tag.SEQUENCE, ...parts);
}

/** How many content octets the minimal two's complement of a 32-bit signed integer takes. */
function int32Octets(value: number): number {
  let count = 4;
  // Drop a leading octet while the next one's top bit repeats it (0x00 before 0xxxxxxx, 0xff
  // before 1xxxxxxx): the same trimming as the general path below.
  while (count > 1) {
    const shift = (count - 1) * 8;
    const top = (value >> shift) & 0xff;
    const nextTop = (value >> (shift - 8)) & 0x80;
    if ((top === 0 && nextTop === 0) || (top === 0xff && nextTop !== 0)) count--;
    else break;
  }
  return count;
}

/** Two's complement content octets of a 32-bit signed integer, minimal (X.690 §8.3.2). */
function int32Content(value: number): Buffer {
  const count = int32Octets(value);
  const out = Buffer.allocUnsafe(count);
  for (let i = 0; i < count; i++) out[i] = (value >> ((count - 1 - i) * 8)) & 0xff;
  return out;
}

/** Bytes of the INTEGER TLV of a 32-bit signed integer (`value` in -2^31..2^31-1). */
export function int32TlvSize(value: number): number {
  return 2 + int32Octets(value);
}

/** Writes the INTEGER TLV of a 32-bit signed integer at `pos`; returns the offset after it. */
export function writeInt32Tlv(out: Buffer, pos: number, value: number): number {
  const count = int32Octets(value);
  out[pos] = Tag.INTEGER;
  out[pos + 1] = count;
  for (let i = 0; i < count; i++) out[pos + 2 + i] = (value >> ((count - 1 - i) * 8)) & 0xff;
  return pos + 2 + count;
}

export function encodeInteger(value: number | bigint): Buffer {
  // The per-request fields (pvno, msg-type, etype, usec, sequence numbers) are small numbers:
  // no BigInt for them.
  if (
    typeof value === 'number' &&
    Number.isInteger(value) &&
    value >= -0x80000000 &&
    value <= 0x7fffffff
  ) {
    return encodeTlv(Tag.INTEGER, int32Content(value));
  }
  let v = BigInt(value);
  const bytes: number[] = [];
  // Emit two's complement, then trim redundant leading 0x00 / 0xff octets.
  do {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (v !== 0n && v !== -1n);
  const negative = BigInt(value) < 0n;
  const top = bytes[0] as number;
  if (!negative && (top & 0x80) !== 0) bytes.unshift(0);
  if (negative && (top & 0x80) === 0) bytes.unshift(0xff);
  return encodeTlv(Tag.INTEGER, Buffer.from(bytes));
}

export function encodeOctetString(bytes: Buffer): Buffer {
  return encodeTlv(Tag.OCTET_STRING, bytes);
}

export function encodeKerberosString(value: string): Buffer {
  return encodeTlv(Tag.GENERAL_STRING, Buffer.from(value, 'utf8'));
}

/** KerberosTime from milliseconds (the sub-second part is dropped, as the type demands). */
export function encodeKerberosTime(ms: number): Buffer {
  return encodeTlv(Tag.GENERALIZED_TIME, Buffer.from(kerberosTimeText(ms), 'latin1'));
}

/** The GeneralizedTime text of a KerberosTime, "YYYYMMDDHHMMSSZ" (RFC 4120 §5.2.3). */
export function kerberosTimeText(ms: number): string {
  const d = new Date(ms);
  const two = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
  return (
    `${d.getUTCFullYear()}`.padStart(4, '0') +
    two(d.getUTCMonth() + 1) +
    two(d.getUTCDate()) +
    two(d.getUTCHours()) +
    two(d.getUTCMinutes()) +
    two(d.getUTCSeconds()) +
    'Z'
  );
}

/** KerberosFlags as a 32-bit BIT STRING (RFC 4120 §5.2.8 asks for at least 32 bits). */
export function encodeKerberosFlags(flags: number): Buffer {
  const body = Buffer.alloc(5);
  body.writeUInt32BE(flags >>> 0, 1);
  return encodeTlv(Tag.BIT_STRING, body);
}

// The OIDs we encode come from a short fixed list (mechanisms, SPNEGO, Kerberos) or from the
// client's own MechTypeList only after mapping to one of those; memoise their content octets
// (bounded all the same).
const oidContents = new Map<string, Buffer>();
const MAX_CACHED_OIDS = 64;

function cachedOidContent(oid: string): Buffer {
  let content = oidContents.get(oid);
  if (content === undefined) {
    content = computeOidContent(oid);
    if (oidContents.size >= MAX_CACHED_OIDS) oidContents.clear();
    oidContents.set(oid, content);
  }
  return content;
}

/** The content octets of an OID (X.690 §8.19); a fresh Buffer the caller may keep. */
export function encodeOidContent(oid: string): Buffer {
  return Buffer.from(cachedOidContent(oid));
}

function computeOidContent(oid: string): Buffer {
  const arcs = oid.split('.').map((part) => Number(part));
  const [a = 0, b = 0, ...rest] = arcs;
  const bytes: number[] = [];
  for (const arc of [a * 40 + b, ...rest]) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) {
      chunk.unshift(0x80 | (v & 0x7f));
    }
    bytes.push(...chunk);
  }
  return Buffer.from(bytes);
}

export function encodeOid(oid: string): Buffer {
  // encodeTlv copies the content into its own allocation, so the cached octets stay private.
  return encodeTlv(Tag.OID, cachedOidContent(oid));
}
