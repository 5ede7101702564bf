/**
 * Reading a version 4 MIT credential cache (layout in ccache-format.ts), as MIT tools write it:
 * every length is bounded and the only error is ERR_HTTPAUTH_CCACHE_MALFORMED.
 */
import { fail } from '../errors.js';
import {
  CCACHE_FILE_FORMAT_V4,
  CCACHE_TAG_DELTA_TIME,
  MAX_CCACHE_BYTES,
  MAX_COMPONENTS,
  MAX_LIST,
} from './ccache-format.js';
import type {
  Ccache,
  CcacheCredential,
  CcachePrincipal,
  CcacheTypedData,
} from './ccache-format.js';

class Reader {
  private offset = 0;
  constructor(private readonly buffer: Buffer) {}

  get remaining(): number {
    return this.buffer.length - this.offset;
  }

  private need(n: number): void {
    if (n < 0 || this.remaining < n) fail('ERR_HTTPAUTH_CCACHE_MALFORMED');
  }

  uint8(): number {
    this.need(1);
    return this.buffer.readUInt8(this.offset++);
  }

  uint16(): number {
    this.need(2);
    const value = this.buffer.readUInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  uint32(): number {
    this.need(4);
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  int32(): number {
    this.need(4);
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  take(n: number): Buffer {
    this.need(n);
    const slice = Buffer.from(this.buffer.subarray(this.offset, this.offset + n));
    this.offset += n;
    return slice;
  }

  data(): Buffer {
    return this.take(this.uint32());
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function readString(r: Reader): string {
  const bytes = r.data();
  try {
    return utf8.decode(bytes);
  } catch {
    return fail('ERR_HTTPAUTH_CCACHE_MALFORMED');
  }
}

function readPrincipal(r: Reader): CcachePrincipal {
  const nameType = r.uint32();
  const count = r.uint32();
  if (count > MAX_COMPONENTS) fail('ERR_HTTPAUTH_CCACHE_MALFORMED');
  const realm = readString(r);
  const components: string[] = [];
  for (let i = 0; i < count; i++) components.push(readString(r));
  return { nameType, realm, components };
}

function readTypedList(r: Reader): CcacheTypedData[] {
  const count = r.uint32();
  if (count > MAX_LIST) fail('ERR_HTTPAUTH_CCACHE_MALFORMED');
  const list: CcacheTypedData[] = [];
  for (let i = 0; i < count; i++) {
    const type = r.uint16();
    list.push({ type, data: r.data() });
  }
  return list;
}

function readCredential(r: Reader): CcacheCredential {
  const client = readPrincipal(r);
  const server = readPrincipal(r);
  const enctype = r.uint16();
  const value = r.data();
  const authTime = r.uint32();
  const startTime = r.uint32();
  const endTime = r.uint32();
  const renewTill = r.uint32();
  const skey = r.uint8();
  if (skey > 1) fail('ERR_HTTPAUTH_CCACHE_MALFORMED');
  const flags = r.uint32();
  const addresses = readTypedList(r);
  const authData = readTypedList(r);
  const ticket = r.data();
  const secondTicket = r.data();
  return {
    client,
    server,
    key: { enctype, value },
    authTime,
    startTime,
    endTime,
    renewTill,
    isSkey: skey === 1,
    flags,
    addresses,
    authData,
    ticket,
    secondTicket,
  };
}

/** Decode a version 4 credential cache. Other versions and any malformation: CCACHE_MALFORMED. */
export function decodeCcache(bytes: Buffer): Ccache {
  if (!Buffer.isBuffer(bytes) || bytes.length > MAX_CCACHE_BYTES) {
    fail('ERR_HTTPAUTH_CCACHE_MALFORMED');
  }
  const r = new Reader(bytes);
  if (r.uint16() !== CCACHE_FILE_FORMAT_V4) fail('ERR_HTTPAUTH_CCACHE_MALFORMED');
  const header = new Reader(r.take(r.uint16()));
  let kdcOffset: Ccache['kdcOffset'];
  while (header.remaining > 0) {
    const tag = header.uint16();
    const value = new Reader(header.take(header.uint16()));
    // Unknown tags are skipped, as MIT does (the format reserves them for later use).
    if (tag === CCACHE_TAG_DELTA_TIME) {
      const seconds = value.int32();
      const microseconds = value.int32();
      if (value.remaining !== 0) fail('ERR_HTTPAUTH_CCACHE_MALFORMED');
      kdcOffset = { seconds, microseconds };
    }
  }
  const defaultPrincipal = readPrincipal(r);
  const credentials: CcacheCredential[] = [];
  while (r.remaining > 0) {
    if (credentials.length >= MAX_LIST) fail('ERR_HTTPAUTH_CCACHE_MALFORMED');
    credentials.push(readCredential(r));
  }
  return kdcOffset === undefined
    ? { defaultPrincipal, credentials }
    : { kdcOffset, defaultPrincipal, credentials };
}
