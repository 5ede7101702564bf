/**
 * Strict, bounded DER (X.690 §10) for the Kerberos and GSS-API messages.
 *
 * Why a TLV walker and not a generic tree: the messages we accept are fixed shapes, so each
 * decoder asks for exactly the fields it needs and nothing else is materialised (speed matters:
 * an AP-REQ is decoded per request). asn1js is BER-lenient (indefinite lengths, non-minimal
 * lengths); this reader enforces DER instead: definite minimal lengths, single-byte tags (every
 * Kerberos tag is below 31), minimal INTEGERs, ascending unique context tags in SEQUENCEs, and a
 * size cap. Every failure is ERR_HTTPAUTH_ASN1_MALFORMED; nothing else is ever thrown.
 */
import { fail } from '../errors.js';

/** Largest DER input accepted: a header-carried token is capped at 64 KiB of base64 anyway. */
export const MAX_DER_BYTES = 256 * 1024;
/** Deepest nesting a recursive structure (AD-IF-RELEVANT inside AD-IF-RELEVANT...) may reach. */
export const MAX_DER_DEPTH = 16;

export { applicationTag, contextTag, Tag } from './tags.js';
// The writer lives in der-encode.ts; importers take both halves from here.
export {
  encodeContextSequence,
  encodeInteger,
  encodeKerberosFlags,
  encodeKerberosString,
  encodeKerberosTime,
  encodeOctetString,
  encodeOid,
  encodeOidContent,
  encodeSequence,
  encodeTlv,
  int32TlvSize,
  kerberosTimeText,
  tlvSize,
  writeInt32Tlv,
  writeTlvHeader,
} from './der-encode.js';
import { Tag } from './tags.js';

/** One TLV inside `buf`: the tag byte and where its contents start and end. */
export interface DerNode {
  readonly buf: Buffer;
  readonly tag: number;
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

function malformed(): never {
  fail('ERR_HTTPAUTH_ASN1_MALFORMED');
}

/** Read the TLV at `offset`, which must end by `limit`. */
export function readTlv(buf: Buffer, offset: number, limit: number): DerNode {
  if (offset + 2 > limit) malformed();
  const tag = buf[offset] as number;
  // High tag numbers (0x1f) never occur in the messages we parse.
  if ((tag & 0x1f) === 0x1f) malformed();
  let lengthByte = buf[offset + 1] as number;
  let pos = offset + 2;
  let length: number;
  if (lengthByte < 0x80) {
    length = lengthByte;
  } else {
    const count = lengthByte & 0x7f;
    // 0x80 is BER's indefinite length; more than 4 length octets cannot fit our size cap.
    if (count === 0 || count > 4 || pos + count > limit) malformed();
    length = 0;
    for (let i = 0; i < count; i++) {
      lengthByte = buf[pos + i] as number;
      if (i === 0 && lengthByte === 0) malformed(); // leading zero: not minimal
      length = length * 256 + lengthByte;
    }
    if (length < 0x80) malformed(); // long form for a short length: not minimal
    pos += count;
  }
  if (length > limit - pos) malformed();
  return { buf, tag, start: offset, contentStart: pos, end: pos + length };
}

/** Decode a whole buffer as exactly one TLV with `expectedTag` (no trailing bytes). */
export function decodeDer(buf: Buffer, expectedTag: number, maxBytes = MAX_DER_BYTES): DerNode {
  if (!Buffer.isBuffer(buf) || buf.length > maxBytes) malformed();
  const node = readTlv(buf, 0, buf.length);
  if (node.tag !== expectedTag || node.end !== buf.length) malformed();
  return node;
}

/** Check the tag of a node. */
export function expectTag(node: DerNode, tag: number): DerNode {
  if (node.tag !== tag) malformed();
  return node;
}

/** The contents of a constructed node as its list of child TLVs (which must fill it exactly). */
export function children(node: DerNode): DerNode[] {
  if ((node.tag & 0x20) === 0) malformed();
  const out: DerNode[] = [];
  let pos = node.contentStart;
  while (pos < node.end) {
    const child = readTlv(node.buf, pos, node.end);
    out.push(child);
    pos = child.end;
  }
  return out;
}

/** The single child of an EXPLICIT tag or APPLICATION wrapper, with its expected tag. */
export function unwrap(node: DerNode, innerTag: number): DerNode {
  if ((node.tag & 0x20) === 0) malformed();
  const inner = readTlv(node.buf, node.contentStart, node.end);
  if (inner.end !== node.end || inner.tag !== innerTag) malformed();
  return inner;
}

/**
 * The fields of a SEQUENCE of EXPLICIT context-tagged fields `[0] .. [maxTag]`, indexed by tag
 * number, each already unwrapped to its inner TLV. DER requires ascending order; unknown tags and
 * anything not context-constructed are rejected, as is a missing field listed in `required`.
 */
export function contextFields(
  sequence: DerNode,
  maxTag: number,
  required: readonly number[],
): (DerNode | undefined)[] {
  expectTag(sequence, Tag.SEQUENCE);
  const fields: (DerNode | undefined)[] = new Array<DerNode | undefined>(maxTag + 1);
  let last = -1;
  let pos = sequence.contentStart;
  while (pos < sequence.end) {
    const wrapper = readTlv(sequence.buf, pos, sequence.end);
    const number = wrapper.tag - 0xa0;
    if (number < 0 || number > maxTag || number <= last) malformed();
    const inner = readTlv(wrapper.buf, wrapper.contentStart, wrapper.end);
    if (inner.end !== wrapper.end) malformed();
    fields[number] = inner;
    last = number;
    pos = wrapper.end;
  }
  for (const n of required) if (fields[n] === undefined) malformed();
  return fields;
}

/** Bytes of a node's contents (a view, not a copy). */
export function content(node: DerNode): Buffer {
  return node.buf.subarray(node.contentStart, node.end);
}

/** The whole TLV's bytes (a view). */
export function raw(node: DerNode): Buffer {
  return node.buf.subarray(node.start, node.end);
}

/** A DER INTEGER as a bigint, minimal encoding enforced. */
export function readBigInteger(node: DerNode): bigint {
  expectTag(node, Tag.INTEGER);
  const length = node.end - node.contentStart;
  if (length === 0 || length > 16) malformed();
  const first = node.buf[node.contentStart] as number;
  if (length > 1) {
    const second = node.buf[node.contentStart + 1] as number;
    if ((first === 0x00 && second < 0x80) || (first === 0xff && second >= 0x80)) malformed();
  }
  let value = BigInt(first & 0x7f) - BigInt(first & 0x80);
  for (let i = node.contentStart + 1; i < node.end; i++) {
    value = value * 256n + BigInt(node.buf[i] as number);
  }
  return value;
}

/** A DER INTEGER within [min, max] (both safe integers), minimal encoding enforced. */
export function readInteger(node: DerNode, min: number, max: number): number {
  expectTag(node, Tag.INTEGER);
  const length = node.end - node.contentStart;
  if (length === 0 || length > 5) malformed();
  const buf = node.buf;
  const first = buf[node.contentStart] as number;
  if (length > 1) {
    const second = buf[node.contentStart + 1] as number;
    if ((first === 0x00 && second < 0x80) || (first === 0xff && second >= 0x80)) malformed();
  }
  let value = (first & 0x80) !== 0 ? first - 256 : first;
  for (let i = node.contentStart + 1; i < node.end; i++) value = value * 256 + (buf[i] as number);
  if (value < min || value > max) malformed();
  return value;
}

/** Int32 (RFC 4120 §5.2.4). */
export function readInt32(node: DerNode): number {
  return readInteger(node, -0x80000000, 0x7fffffff);
}

/**
 * UInt32 (RFC 4120 §5.2.4). Some implementations encode nonces and sequence numbers as negative
 * Int32 values (RFC 4120 §5.2.4 notes this); they are read back as the same 32 bits, unsigned.
 */
export function readUInt32(node: DerNode): number {
  const value = readInteger(node, -0x80000000, 0xffffffff);
  return value < 0 ? value + 0x100000000 : value;
}

/** Microseconds ::= INTEGER (0..999999). */
export function readMicroseconds(node: DerNode): number {
  return readInteger(node, 0, 999_999);
}

export function readOctetString(node: DerNode): Buffer {
  return content(expectTag(node, Tag.OCTET_STRING));
}

/**
 * KerberosString ::= GeneralString (IA5String) (RFC 4120 §5.2.1). Real clients send UTF-8 (Windows
 * names) in it; we decode as UTF-8 and refuse NUL, which no principal or realm may contain.
 */
export function readKerberosString(node: DerNode): string {
  expectTag(node, Tag.GENERAL_STRING);
  // Read in place: no Buffer view per string (names are short; this runs several times a request).
  const { buf, contentStart, end } = node;
  for (let i = contentStart; i < end; i++) if (buf[i] === 0) malformed();
  return buf.toString('utf8', contentStart, end);
}

/** Days per month of a non-leap year; February of a leap year is checked apart. */
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** KerberosTime ::= GeneralizedTime "YYYYMMDDHHMMSSZ" exactly (RFC 4120 §5.2.3). In ms. */
export function readKerberosTime(node: DerNode): number {
  expectTag(node, Tag.GENERALIZED_TIME);
  const { buf, contentStart } = node;
  if (node.end - contentStart !== 15 || buf[node.end - 1] !== 0x5a) malformed();
  // The 14 digits read in place (this runs for every authenticator's ctime).
  const n = (from: number, count: number): number => {
    let v = 0;
    for (let i = contentStart + from; i < contentStart + from + count; i++) {
      const d = (buf[i] as number) - 0x30;
      if (d < 0 || d > 9) malformed();
      v = v * 10 + d;
    }
    return v;
  };
  const year = n(0, 4);
  const month = n(4, 2);
  const day = n(6, 2);
  const hour = n(8, 2);
  const minute = n(10, 2);
  const second = n(12, 2);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    malformed();
  }
  // No Kerberos time precedes the POSIX epoch (RFC 4120 §5.2.3 times are UTC seconds as krb5's
  // timestamps count them); Date.UTC would also read years 0-99 as 1900-1999.
  if (year < 1970) malformed();
  // A day past the end of its month (February 31st) would silently roll into the next month.
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const monthDays = month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number);
  if (day > monthDays) malformed();
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

/**
 * KerberosFlags ::= BIT STRING (RFC 4120 §5.2.8) as a 32-bit number, bit 0 being the most
 * significant bit of the first octet. Senders may send more or fewer than 32 bits.
 */
export function readKerberosFlags(node: DerNode): number {
  expectTag(node, Tag.BIT_STRING);
  const length = node.end - node.contentStart;
  if (length < 1) malformed();
  const unused = node.buf[node.contentStart] as number;
  if (unused > 7 || (length === 1 && unused !== 0)) malformed();
  let flags = 0;
  for (let i = 0; i < 4; i++) {
    const byte = i + 1 < length ? (node.buf[node.contentStart + 1 + i] as number) : 0;
    flags = flags * 256 + byte;
  }
  return flags >>> 0;
}

// Every SPNEGO token carries the same few OIDs (SPNEGO, Kerberos, MS Kerberos, NTLMSSP): their
// decoded text is remembered by content octets. Only well-formed OIDs are stored, and the map is
// bounded (a client sending arbitrary OIDs only empties it).
const decodedOids = new Map<string, string>();
const MAX_DECODED_OIDS = 64;

/** An OBJECT IDENTIFIER in dotted form. */
export function readOid(node: DerNode): string {
  expectTag(node, Tag.OID);
  // A remembered OID is found by its content octets without a Buffer view of them.
  const length = node.end - node.contentStart;
  if (length > 0 && length <= 64) {
    const known = decodedOids.get(node.buf.toString('latin1', node.contentStart, node.end));
    if (known !== undefined) return known;
  }
  return decodeOidContent(content(node));
}

export function decodeOidContent(bytes: Buffer): string {
  if (bytes.length === 0 || bytes.length > 64) malformed();
  const id = bytes.toString('latin1');
  let oid = decodedOids.get(id);
  if (oid === undefined) {
    oid = parseOidContent(bytes);
    if (decodedOids.size >= MAX_DECODED_OIDS) decodedOids.clear();
    decodedOids.set(id, oid);
  }
  return oid;
}

function parseOidContent(bytes: Buffer): string {
  const arcs: number[] = [];
  let value = 0;
  let started = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    if (!started && byte === 0x80) malformed(); // non-minimal arc
    started = true;
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 256) malformed();
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0;
      started = false;
    }
  }
  if (started) malformed(); // last arc unterminated
  const first = arcs[0] as number;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}
