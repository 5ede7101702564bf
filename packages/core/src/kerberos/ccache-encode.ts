/**
 * Writing a version 4 MIT credential cache (layout in ccache-format.ts): how a forwarded TGT
 * reaches child processes and MIT tools through KRB5CCNAME.
 */
import { fail } from '../errors.js';
import { CCACHE_FILE_FORMAT_V4, CCACHE_TAG_DELTA_TIME } from './ccache-format.js';
import type {
  Ccache,
  CcacheCredential,
  CcachePrincipal,
  CcacheTypedData,
} from './ccache-format.js';

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
