/**
 * MIT Kerberos credential cache, file format version 4 (the FILE: ccache type), so that a
 * forwarded TGT can be handed to child processes and used by MIT tools (`klist`, `kvno`) and any
 * GSS-API program through KRB5CCNAME.
 *
 * Layout (MIT krb5 doc "ccache_file_format"; every integer big-endian in version 4):
 *
 *   file        ::= uint16 version (0x0504) | uint16 headerlen | header tags | principal | credential*
 *   header tag  ::= uint16 tag | uint16 length | value        (tag 1 = DeltaTime: int32 s, int32 us)
 *   principal   ::= uint32 name_type | uint32 count | data realm | data component * count
 *   credential  ::= principal client | principal server | keyblock | uint32 authtime, starttime,
 *                   endtime, renew_till | uint8 is_skey | uint32 ticket_flags | addresses |
 *                   authdata | data ticket | data second_ticket
 *   keyblock    ::= uint16 enctype | data key
 *   addresses   ::= uint32 count | (uint16 addrtype | data address) * count
 *   authdata    ::= uint32 count | (uint16 ad_type | data contents) * count
 *   data        ::= uint32 length | bytes
 *
 * Ticket flags are stored as the 32-bit value of the RFC 4120 KerberosFlags bit string (bit 0, the
 * reserved bit, is the most significant bit): forwardable is 0x40000000.
 *
 * The decoder exists to read caches MIT tools wrote (tests, operators); it bounds every length
 * and throws only HttpAuthError.
 */
import { fail } from '../errors.js';

import { MAX_COMPONENTS, type CcachePrincipal } from './ccache-names.js';

export {
  ccacheTime,
  formatPrincipalName,
  KRB_NT_PRINCIPAL,
  KRB_NT_SRV_INST,
  parsePrincipalName,
} from './ccache-names.js';
export type { CcachePrincipal } from './ccache-names.js';

export const CCACHE_FILE_FORMAT_V4 = 0x0504;
/** Header tag carrying the KDC time offset (DeltaTime). */
export const CCACHE_TAG_DELTA_TIME = 1;

/** RFC 4120 §5.3 TicketFlags as MIT stores them in a ccache. */
export const TICKET_FLAGS = {
  forwardable: 0x40000000,
  forwarded: 0x20000000,
  proxiable: 0x10000000,
  proxy: 0x08000000,
  mayPostdate: 0x04000000,
  postdated: 0x02000000,
  invalid: 0x01000000,
  renewable: 0x00800000,
  initial: 0x00400000,
  preAuthent: 0x00200000,
  hwAuthent: 0x00100000,
  transitedPolicyChecked: 0x00080000,
  okAsDelegate: 0x00040000,
  encPaRep: 0x00010000,
  anonymous: 0x00008000,
} as const;

export interface CcacheKeyblock {
  readonly enctype: number;
  readonly value: Buffer;
}

/** An address or an authorization-data element: a 16-bit type and opaque contents. */
export interface CcacheTypedData {
  readonly type: number;
  readonly data: Buffer;
}

export interface CcacheCredential {
  readonly client: CcachePrincipal;
  readonly server: CcachePrincipal;
  readonly key: CcacheKeyblock;
  /** Seconds since the epoch (uint32). `startTime` 0 means "same as authTime". */
  readonly authTime: number;
  readonly startTime: number;
  readonly endTime: number;
  /** 0 when the ticket is not renewable. */
  readonly renewTill: number;
  readonly isSkey: boolean;
  readonly flags: number;
  readonly addresses: readonly CcacheTypedData[];
  readonly authData: readonly CcacheTypedData[];
  /** DER of the Ticket (RFC 4120 §5.3). */
  readonly ticket: Buffer;
  /** DER of the second ticket for user-to-user; empty otherwise. */
  readonly secondTicket: Buffer;
}

export interface Ccache {
  /** KDC time minus local time, when known (header tag 1). */
  readonly kdcOffset?: { readonly seconds: number; readonly microseconds: number };
  readonly defaultPrincipal: CcachePrincipal;
  readonly credentials: readonly CcacheCredential[];
}

/** Bounds for the decoder: a ccache of a few tickets is a few KiB. */
const MAX_CCACHE_BYTES = 4 * 1024 * 1024;
const MAX_LIST = 256;

// ---------------------------------------------------------------------------------------------
// Encoding

class Writer {
  private readonly chunks: Buffer[] = [];

  uint8(value: number): void {
    checkUint(value, 0xff);
    this.chunks.push(Buffer.from([value]));
  }

  uint16(value: number): void {
    checkUint(value, 0xffff);
    const b = Buffer.alloc(2);
    b.writeUInt16BE(value);
    this.chunks.push(b);
  }

  uint32(value: number): void {
    checkUint(value, 0xffffffff);
    const b = Buffer.alloc(4);
    b.writeUInt32BE(value);
    this.chunks.push(b);
  }

  int32(value: number): void {
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
      fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    }
    const b = Buffer.alloc(4);
    b.writeInt32BE(value);
    this.chunks.push(b);
  }

  data(bytes: Buffer): void {
    this.uint32(bytes.length);
    this.chunks.push(bytes);
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function checkUint(value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
}

function writePrincipal(w: Writer, principal: CcachePrincipal): void {
  w.uint32(principal.nameType);
  w.uint32(principal.components.length);
  w.data(Buffer.from(principal.realm, 'utf8'));
  for (const component of principal.components) w.data(Buffer.from(component, 'utf8'));
}

function writeTypedList(w: Writer, list: readonly CcacheTypedData[]): void {
  w.uint32(list.length);
  for (const item of list) {
    w.uint16(item.type);
    w.data(item.data);
  }
}

function writeCredential(w: Writer, credential: CcacheCredential): void {
  writePrincipal(w, credential.client);
  writePrincipal(w, credential.server);
  w.uint16(credential.key.enctype);
  w.data(credential.key.value);
  w.uint32(credential.authTime);
  w.uint32(credential.startTime);
  w.uint32(credential.endTime);
  w.uint32(credential.renewTill);
  w.uint8(credential.isSkey ? 1 : 0);
  w.uint32(credential.flags >>> 0);
  writeTypedList(w, credential.addresses);
  writeTypedList(w, credential.authData);
  w.data(credential.ticket);
  w.data(credential.secondTicket);
}

/**
 * Encode a credential cache in file format version 4. Values out of range for their field throw
 * ERR_HTTPAUTH_INVALID_OPTIONS (the input comes from our own acceptor, never from a client).
 */
export function encodeCcache(cache: Ccache): Buffer {
  const w = new Writer();
  w.uint16(CCACHE_FILE_FORMAT_V4);
  // One header tag: the DeltaTime, 8 bytes. MIT writes it even when the offset is zero.
  w.uint16(4 + 8);
  w.uint16(CCACHE_TAG_DELTA_TIME);
  w.uint16(8);
  w.int32(cache.kdcOffset?.seconds ?? 0);
  w.int32(cache.kdcOffset?.microseconds ?? 0);
  writePrincipal(w, cache.defaultPrincipal);
  for (const credential of cache.credentials) writeCredential(w, credential);
  return w.bytes();
}

// ---------------------------------------------------------------------------------------------
// Decoding

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
