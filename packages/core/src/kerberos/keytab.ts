/**
 * MIT keytab files (the format krb5 writes; documented in MIT's keytab.txt):
 *
 *   keytab  ::= 0x05 version(0x01|0x02) entry*
 *   entry   ::= int32 size  -- negative: a hole of |size| bytes, skipped
 *               uint16 num_components   -- v1: counts the realm too
 *               counted_octet_string realm
 *               counted_octet_string components[num_components]
 *               uint32 name_type        -- v2 only
 *               uint32 timestamp
 *               uint8  vno8
 *               keyblock ::= uint16 type, counted_octet_string key
 *               uint32 vno              -- optional; when present and non-zero it overrides vno8
 *   counted_octet_string ::= uint16 length, octets
 *
 * Version 2 is big-endian; version 1 used the writer's native order, which for every keytab
 * still in existence is little-endian (x86), so we read v1 as little-endian.
 */
import { readFileSync, statSync } from 'node:fs';
import { fail, isHttpAuthError } from '../errors.js';
import { encryptionProfile, makeKey, type KerberosKey } from './crypto/index.js';
import { unparsePrincipal } from './messages/principal-name.js';

/**
 * One key of an MIT keytab: the principal it belongs to, its kvno and enctype, and the key
 * (undefined for enctypes the engine does not implement, such as DES, so lookups can report them).
 */
export interface KeytabEntry {
  readonly realm: string;
  readonly components: readonly string[];
  readonly nameType: number;
  /** The principal as 'HTTP/host@REALM'. */
  readonly principal: string;
  readonly timestamp: number;
  readonly kvno: number;
  readonly enctype: number;
  /** The key, or undefined for enctypes we do not implement (DES): kept so lookups can say so. */
  readonly key: KerberosKey | undefined;
}

/** A keytab larger than this is not a keytab. */
const MAX_KEYTAB_BYTES = 16 * 1024 * 1024;

function malformed(): never {
  fail('ERR_HTTPAUTH_KEYTAB_INVALID');
}

/** Parse keytab bytes. Throws ERR_HTTPAUTH_KEYTAB_INVALID on anything malformed. */
export function parseKeytab(data: Buffer): KeytabEntry[] {
  if (data.length < 2 || data.length > MAX_KEYTAB_BYTES || data[0] !== 0x05) malformed();
  const version = data[1];
  if (version !== 0x01 && version !== 0x02) malformed();
  const little = version === 0x01;
  const u16 = (at: number): number => (little ? data.readUInt16LE(at) : data.readUInt16BE(at));
  const u32 = (at: number): number => (little ? data.readUInt32LE(at) : data.readUInt32BE(at));
  const i32 = (at: number): number => (little ? data.readInt32LE(at) : data.readInt32BE(at));
  const entries: KeytabEntry[] = [];
  let pos = 2;
  while (pos < data.length) {
    // A trailing fragment shorter than a size field is padding some writers leave.
    if (pos + 4 > data.length) break;
    const size = i32(pos);
    pos += 4;
    if (size === 0) break;
    if (size < 0) {
      if (-size > data.length - pos) malformed();
      pos += -size;
      continue;
    }
    if (size > data.length - pos) malformed();
    const end = pos + size;
    let at = pos;
    const need = (n: number): void => {
      if (at + n > end) malformed();
    };
    const counted = (): Buffer => {
      need(2);
      const length = u16(at);
      at += 2;
      need(length);
      const bytes = data.subarray(at, at + length);
      at += length;
      return bytes;
    };
    need(2);
    let count = u16(at);
    at += 2;
    if (version === 0x01) count -= 1;
    if (count < 0 || count > 16) malformed();
    const realm = counted().toString('utf8');
    const components: string[] = [];
    for (let i = 0; i < count; i++) components.push(counted().toString('utf8'));
    let nameType = 1;
    if (version === 0x02) {
      need(4);
      nameType = u32(at);
      at += 4;
    }
    need(4 + 1 + 2);
    const timestamp = u32(at);
    at += 4;
    let kvno = data[at] as number;
    at += 1;
    const enctype = u16(at);
    at += 2;
    const keyBytes = counted();
    if (at + 4 <= end) {
      const vno32 = u32(at);
      if (vno32 !== 0) kvno = vno32;
    }
    let key: KerberosKey | undefined;
    if (encryptionProfile(enctype) !== undefined) {
      try {
        key = makeKey(enctype, keyBytes);
      } catch (error) {
        if (isHttpAuthError(error)) malformed();
        throw error;
      }
    }
    entries.push({
      realm,
      components,
      nameType,
      principal: unparsePrincipal({ nameType, components }, realm),
      timestamp,
      kvno,
      enctype,
      key,
    });
    pos = end;
  }
  return entries;
}

/** Write entries as a version 0x502 keytab (tests, and tools that export keys). */
export function encodeKeytab(
  entries: readonly {
    realm: string;
    components: readonly string[];
    nameType?: number;
    timestamp?: number;
    kvno: number;
    key: KerberosKey;
  }[],
): Buffer {
  const parts: Buffer[] = [Buffer.from([0x05, 0x02])];
  const counted = (bytes: Buffer): Buffer => {
    const length = Buffer.alloc(2);
    length.writeUInt16BE(bytes.length);
    return Buffer.concat([length, bytes]);
  };
  for (const entry of entries) {
    const head = Buffer.alloc(2);
    head.writeUInt16BE(entry.components.length);
    const fixed = Buffer.alloc(4 + 4 + 1 + 2);
    fixed.writeUInt32BE(entry.nameType ?? 1, 0);
    fixed.writeUInt32BE(entry.timestamp ?? 0, 4);
    fixed.writeUInt8(entry.kvno & 0xff, 8);
    fixed.writeUInt16BE(entry.key.enctype, 9);
    const vno = Buffer.alloc(4);
    vno.writeUInt32BE(entry.kvno >>> 0);
    const body = Buffer.concat([
      head,
      counted(Buffer.from(entry.realm, 'utf8')),
      ...entry.components.map((c) => counted(Buffer.from(c, 'utf8'))),
      fixed,
      counted(entry.key.bytes),
      vno,
    ]);
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length);
    parts.push(size, body);
  }
  return Buffer.concat(parts);
}

/** The keys of one keytab, indexed for the acceptor's lookups. */
export class Keytab {
  readonly entries: readonly KeytabEntry[];
  readonly #byPrincipal = new Map<string, KeytabEntry[]>();

  constructor(entries: readonly KeytabEntry[]) {
    this.entries = entries;
    for (const entry of entries) {
      const list = this.#byPrincipal.get(entry.principal);
      if (list === undefined) this.#byPrincipal.set(entry.principal, [entry]);
      else list.push(entry);
    }
  }

  /**
   * Parses MIT keytab bytes (format versions 1 and 2). Throws `ERR_HTTPAUTH_KEYTAB_INVALID` when
   * the data is not a keytab.
   */
  static parse(data: Buffer): Keytab {
    return new Keytab(parseKeytab(data));
  }

  /** Distinct principals ('HTTP/host@REALM'). */
  principals(): string[] {
    return [...this.#byPrincipal.keys()];
  }

  /** Every entry of one principal. */
  entriesFor(principal: string): readonly KeytabEntry[] {
    return this.#byPrincipal.get(principal) ?? [];
  }

  /**
   * The key for a ticket: same principal and enctype, and the ticket's kvno when it names one
   * (else the highest kvno, as MIT does). Undefined when there is none.
   */
  find(principal: string, enctype: number, kvno: number | undefined): KerberosKey | undefined {
    let best: KeytabEntry | undefined;
    for (const entry of this.entriesFor(principal)) {
      if (entry.enctype !== enctype || entry.key === undefined) continue;
      // kvno is stored in 8 bits in old keytabs: compare modulo 256 when only vno8 is known.
      if (kvno !== undefined && entry.kvno !== kvno && entry.kvno !== (kvno & 0xff)) continue;
      if (best === undefined || entry.kvno > best.kvno) best = entry;
    }
    return best?.key;
  }
}

/** 'FILE:/path' or '/path' to the path; other keytab types (MEMORY:, KEYRING:) are refused. */
export function keytabPath(name: string): string {
  if (name.startsWith('FILE:')) return name.slice(5);
  if (name.startsWith('WRFILE:')) return name.slice(7);
  if (/^[A-Za-z]{2,}:/.test(name)) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  return name;
}

/**
 * A keytab file read once and re-read when it changes (a cheap stat per lookup, at most every
 * `checkIntervalMs`): rotating keys with `ktadd` needs no restart.
 */
export class KeytabFile {
  readonly path: string;
  readonly #checkIntervalMs: number;
  #keytab: Keytab | undefined;
  #signature = '';
  #lastCheck = -Infinity;

  constructor(name: string, options: { checkIntervalMs?: number } = {}) {
    this.path = keytabPath(name);
    this.#checkIntervalMs = options.checkIntervalMs ?? 1000;
  }

  /** The current keytab; throws ERR_HTTPAUTH_KEYTAB_INVALID when the file is unreadable. */
  current(now = Date.now()): Keytab {
    // abs(): a clock that steps back must not postpone the next check indefinitely.
    if (this.#keytab !== undefined && Math.abs(now - this.#lastCheck) < this.#checkIntervalMs) {
      return this.#keytab;
    }
    this.#lastCheck = now;
    let signature: string;
    try {
      const stat = statSync(this.path);
      signature = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    } catch (error) {
      if (this.#keytab !== undefined) return this.#keytab; // keep serving the last good keys
      fail('ERR_HTTPAUTH_KEYTAB_INVALID', error);
    }
    if (this.#keytab === undefined || signature !== this.#signature) {
      let data: Buffer;
      try {
        data = readFileSync(this.path);
      } catch (error) {
        if (this.#keytab !== undefined) return this.#keytab;
        fail('ERR_HTTPAUTH_KEYTAB_INVALID', error);
      }
      this.#keytab = Keytab.parse(data);
      this.#signature = signature;
    }
    return this.#keytab;
  }
}
