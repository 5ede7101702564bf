/**
 * A minimal NDR20 reader (C706 §14, MS-RPCE §2.2.5) for the PAC's type-serialised buffers: little-
 * endian, 32-bit unique pointers whose referents follow the enclosing structure in order, natural
 * alignment measured from the start of the serialised stream. Every read is bounds-checked and
 * fails with ERR_HTTPAUTH_KRB_PAC_INVALID.
 */
import { fail } from '../../errors.js';

export class NdrReader {
  readonly #buf: Buffer;
  readonly #base: number;
  #pos: number;

  constructor(buf: Buffer, start: number) {
    this.#buf = buf;
    this.#base = start;
    this.#pos = start;
  }

  get position(): number {
    return this.#pos;
  }

  align(n: number): void {
    const rel = this.#pos - this.#base;
    const pad = (n - (rel % n)) % n;
    this.#need(pad);
    this.#pos += pad;
  }

  #need(n: number): void {
    if (n < 0 || this.#pos + n > this.#buf.length) fail('ERR_HTTPAUTH_KRB_PAC_INVALID');
  }

  u8(): number {
    this.#need(1);
    return this.#buf[this.#pos++] as number;
  }

  u16(): number {
    this.align(2);
    this.#need(2);
    const v = this.#buf.readUInt16LE(this.#pos);
    this.#pos += 2;
    return v;
  }

  u32(): number {
    this.align(4);
    this.#need(4);
    const v = this.#buf.readUInt32LE(this.#pos);
    this.#pos += 4;
    return v;
  }

  /** FILETIME: two DWORDs, 4-byte aligned. As a bigint of 100 ns ticks since 1601. */
  filetime(): bigint {
    const low = this.u32();
    const high = this.u32();
    return (BigInt(high) << 32n) | BigInt(low);
  }

  bytes(n: number): Buffer {
    this.#need(n);
    const out = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  /** A count read from the wire, bounded so hostile input cannot make us loop or allocate. */
  count(max: number): number {
    const n = this.u32();
    if (n > max) fail('ERR_HTTPAUTH_KRB_PAC_INVALID');
    return n;
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
