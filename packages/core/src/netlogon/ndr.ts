/**
 * NDR20 (C706 §14, MS-RPCE §2.2.5) for NETLOGON stubs: little-endian, natural alignment measured
 * from the start of the stub, 32-bit unique pointers whose referents follow the top-level
 * structure in declaration order. The reader bounds every read and count and throws
 * RpcError('RPC_MALFORMED'); the writer only writes what the callers give it.
 */
import { NdrReader as SharedNdrReader } from '../ndr/reader.js';
import { malformed } from './rpc-error.js';

/** Upper bound on any count read from the wire (strings, groups, SIDs). */
export const MAX_NDR_COUNT = 64 * 1024;

export class NdrWriter {
  #chunks: Buffer[] = [];
  #length = 0;
  #nextReferent = 0x00020000;

  get length(): number {
    return this.#length;
  }

  #push(bytes: Buffer): void {
    this.#chunks.push(bytes);
    this.#length += bytes.length;
  }

  align(n: number): void {
    const pad = (n - (this.#length % n)) % n;
    if (pad > 0) this.#push(Buffer.alloc(pad));
  }

  u8(value: number): void {
    this.#push(Buffer.of(value & 0xff));
  }

  u16(value: number): void {
    this.align(2);
    const b = Buffer.alloc(2);
    b.writeUInt16LE(value);
    this.#push(b);
  }

  u32(value: number): void {
    this.align(4);
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value >>> 0);
    this.#push(b);
  }

  bytes(value: Buffer): void {
    this.#push(Buffer.from(value));
  }

  /** A non-null unique pointer: a fresh referent id (any non-zero value is valid). */
  pointer(): void {
    this.u32(this.#nextReferent);
    this.#nextReferent += 4;
  }

  /** `[unique, string] wchar_t*` at top level: pointer, then the conformant varying string. */
  uniqueString(value: string): void {
    this.pointer();
    this.conformantString(value);
  }

  /** `[string] wchar_t*` referent: max_count, offset 0, actual_count, UTF-16LE with the NUL. */
  conformantString(value: string): void {
    const units = value.length + 1;
    this.u32(units);
    this.u32(0);
    this.u32(units);
    this.bytes(Buffer.from(`${value}\0`, 'utf16le'));
  }

  /** RPC_UNICODE_STRING's fixed part (MS-DTYP §2.3.10); its buffer is written later, deferred. */
  unicodeStringHeader(value: string): void {
    const bytes = value.length * 2;
    this.u16(bytes);
    this.u16(bytes);
    this.pointer();
  }

  /** The deferred buffer of an RPC_UNICODE_STRING: no NUL, counts in UTF-16 units. */
  unicodeStringBuffer(value: string): void {
    this.u32(value.length);
    this.u32(0);
    this.u32(value.length);
    this.bytes(Buffer.from(value, 'utf16le'));
  }

  /** MS-NRPC STRING (counted bytes)'s fixed part; the bytes follow deferred. */
  byteStringHeader(value: Buffer): void {
    this.u16(value.length);
    this.u16(value.length);
    this.pointer();
  }

  byteStringBuffer(value: Buffer): void {
    this.u32(value.length);
    this.u32(0);
    this.u32(value.length);
    this.bytes(value);
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.#chunks, this.#length);
  }
}

/** The shared reader, failing with RpcError('RPC_MALFORMED'); counts bounded by MAX_NDR_COUNT. */
export class NdrReader extends SharedNdrReader {
  constructor(buf: Buffer) {
    super(buf, { malformed: (what) => malformed(`NDR stub (${what})`) });
  }

  override count(max = MAX_NDR_COUNT): number {
    return super.count(max);
  }
}

/** RPC_UNICODE_STRING's fixed part, as read. */
export interface UnicodeStringHeader {
  readonly length: number;
  readonly pointer: number;
}

export function readUnicodeHeader(r: NdrReader): UnicodeStringHeader {
  const length = r.u16();
  const maximumLength = r.u16();
  const pointer = r.u32();
  if (length % 2 !== 0 || length > maximumLength) malformed('RPC_UNICODE_STRING');
  return { length, pointer };
}

export function readUnicodeBuffer(r: NdrReader, header: UnicodeStringHeader): string {
  if (header.pointer === 0) {
    if (header.length !== 0) malformed('RPC_UNICODE_STRING');
    return '';
  }
  const maxCount = r.count();
  const offset = r.u32();
  const actual = r.count();
  if (offset !== 0 || actual > maxCount || actual * 2 !== header.length) {
    malformed('RPC_UNICODE_STRING');
  }
  const text = r.bytes(actual * 2).toString('utf16le');
  return text;
}

/** RPC_SID referent (MS-DTYP §2.4.2.3): conformance, revision, count, authority, sub-authorities. */
export function readSid(r: NdrReader): string {
  const conformance = r.count(15);
  const revision = r.u8();
  const count = r.u8();
  if (count !== conformance) malformed('RPC_SID');
  const authority = r.bytes(6);
  let auth = 0;
  for (const byte of authority) auth = auth * 256 + byte;
  let sid = `S-${revision}-${auth}`;
  for (let i = 0; i < count; i++) sid += `-${r.u32()}`;
  return sid;
}
