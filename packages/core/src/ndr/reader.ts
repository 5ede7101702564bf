/**
 * The NDR20 reader (C706 §14, MS-RPCE §2.2.5) shared by the PAC's type-serialised buffers
 * (MS-PAC §2.5) and NETLOGON stubs (MS-NRPC): little-endian, natural alignment measured from the
 * start of the serialised stream. Every read and every count taken from the wire is bounded;
 * what is out of bounds goes to the caller's `malformed`, which throws the caller's own error.
 */
export interface NdrReaderOptions {
  /** Where the stream starts in the buffer (alignment is relative to it). Default 0. */
  readonly start?: number;
  /** Throws the caller's error for truncated or out-of-bounds input; `what` names the check. */
  readonly malformed: (what: string) => never;
}

export class NdrReader {
  readonly #buf: Buffer;
  readonly #base: number;
  readonly #malformed: (what: string) => never;
  #pos: number;

  constructor(buf: Buffer, options: NdrReaderOptions) {
    this.#buf = buf;
    this.#base = options.start ?? 0;
    this.#pos = this.#base;
    this.#malformed = options.malformed;
  }

  get position(): number {
    return this.#pos;
  }

  get remaining(): number {
    return this.#buf.length - this.#pos;
  }

  #need(n: number): void {
    if (n < 0 || this.#pos + n > this.#buf.length) this.#malformed('truncated');
  }

  align(n: number): void {
    const pad = (n - ((this.#pos - this.#base) % n)) % n;
    this.#need(pad);
    this.#pos += pad;
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

  /** A copy: what the caller keeps never aliases a buffer that may be reused or decrypted in place. */
  bytes(n: number): Buffer {
    this.#need(n);
    const out = Buffer.from(this.#buf.subarray(this.#pos, this.#pos + n));
    this.#pos += n;
    return out;
  }

  /** A count read from the wire, bounded so hostile input cannot make us loop or allocate. */
  count(max: number): number {
    const n = this.u32();
    if (n > max) this.#malformed('count too large');
    return n;
  }
}
