/**
 * Pieces every NTLM message shares (MS-NLMP 2.2): the 8-byte signature "NTLMSSP\0", the 32-bit
 * MessageType, and the 8-byte "fields" descriptors (Len, MaxLen, BufferOffset) that point from
 * the fixed header into the variable payload. Every descriptor read here is bounds-checked
 * against the message and against the fixed header, so a payload can never alias the header.
 */
import { fail } from '../errors.js';

export const NTLMSSP_SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');

export const MESSAGE_TYPE_NEGOTIATE = 1;
export const MESSAGE_TYPE_CHALLENGE = 2;
export const MESSAGE_TYPE_AUTHENTICATE = 3;

/**
 * Largest NTLM message accepted. Real AUTHENTICATE messages are a few hundred bytes (the NTLMv2
 * blob echoes our target info plus a few AV pairs); 16 KiB leaves room for long names while
 * keeping a hostile message from costing much.
 */
export const MAX_MESSAGE_BYTES = 16 * 1024;

/** One Len/MaxLen/BufferOffset descriptor (MS-NLMP 2.2.1.1 DomainNameFields and its siblings). */
export interface PayloadField {
  readonly length: number;
  readonly offset: number;
}

/** The message type of an NTLMSSP token, after checking its signature and size. */
export function messageType(bytes: Buffer): number {
  if (bytes.length < 12 || bytes.length > MAX_MESSAGE_BYTES) fail('ERR_HTTPAUTH_NTLM_MALFORMED');
  if (!bytes.subarray(0, 8).equals(NTLMSSP_SIGNATURE)) fail('ERR_HTTPAUTH_NTLM_MALFORMED');
  return bytes.readUInt32LE(8);
}

/** True when the bytes start with the NTLMSSP signature (raw NTLMSSP under Negotiate). */
export function isNtlmssp(bytes: Buffer): boolean {
  return bytes.length >= 8 && bytes.subarray(0, 8).equals(NTLMSSP_SIGNATURE);
}

/** Checks the signature, size bounds and message type, or fails as malformed. */
export function expectMessage(bytes: Buffer, type: number, minLength: number): void {
  if (bytes.length < minLength) fail('ERR_HTTPAUTH_NTLM_MALFORMED');
  if (messageType(bytes) !== type) fail('ERR_HTTPAUTH_NTLM_MALFORMED');
}

/**
 * Reads the descriptor at `at`. An empty field may point anywhere (clients leave odd offsets in
 * empty fields); a non-empty one must lie wholly inside the message and after `headerEnd`.
 */
export function readField(bytes: Buffer, at: number, headerEnd: number): PayloadField {
  if (at + 8 > bytes.length) fail('ERR_HTTPAUTH_NTLM_MALFORMED');
  const length = bytes.readUInt16LE(at);
  const offset = bytes.readUInt32LE(at + 4);
  if (length === 0) return { length: 0, offset };
  if (offset < headerEnd || offset > bytes.length || length > bytes.length - offset) {
    fail('ERR_HTTPAUTH_NTLM_MALFORMED');
  }
  return { length, offset };
}

/** The bytes a descriptor points to (a view into `bytes`). */
export function fieldBytes(bytes: Buffer, field: PayloadField): Buffer {
  if (field.length === 0) return Buffer.alloc(0);
  return bytes.subarray(field.offset, field.offset + field.length);
}

/** The smallest offset of any non-empty field: where the fixed header must end. */
export function payloadStart(fields: readonly PayloadField[], messageLength: number): number {
  let start = messageLength;
  for (const field of fields) {
    if (field.length > 0 && field.offset < start) start = field.offset;
  }
  return start;
}

/** Decodes a string field: UTF-16LE when UNICODE was negotiated, else OEM (taken as Latin-1). */
export function decodeString(raw: Buffer, unicode: boolean): string {
  if (!unicode) return raw.toString('latin1');
  // UTF-16LE text has an even length; an odd one is a forged or truncated field.
  if (raw.length % 2 !== 0) fail('ERR_HTTPAUTH_NTLM_MALFORMED');
  return raw.toString('utf16le');
}

export function encodeString(value: string, unicode: boolean): Buffer {
  return Buffer.from(value, unicode ? 'utf16le' : 'latin1');
}

/**
 * Lays out payload fields after a fixed header: writes each descriptor at its position and
 * returns the payload bytes. Used by the encoders so offsets are computed in one place.
 */
export class PayloadWriter {
  readonly #header: Buffer;
  readonly #chunks: Buffer[] = [];
  #offset: number;

  constructor(header: Buffer) {
    this.#header = header;
    this.#offset = header.length;
  }

  /** `absent`: an empty field written as all zeros (a structure the flags say is not there). */
  field(at: number, value: Buffer, absent = false): void {
    if (value.length > 0xffff) fail('ERR_HTTPAUTH_NTLM_MALFORMED');
    this.#header.writeUInt16LE(value.length, at);
    this.#header.writeUInt16LE(value.length, at + 2);
    // Empty fields point at the current end of the payload, as Windows writes them.
    this.#header.writeUInt32LE(absent && value.length === 0 ? 0 : this.#offset, at + 4);
    if (value.length === 0) return;
    this.#chunks.push(value);
    this.#offset += value.length;
  }

  finish(): Buffer {
    return Buffer.concat([this.#header, ...this.#chunks]);
  }
}

/** Copies `bytes` into memory of its own (not a view into Node's shared 8 KiB pool slab). */
export function ownCopy(bytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafeSlow(bytes.length);
  out.set(bytes);
  return out;
}
