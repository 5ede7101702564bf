/**
 * The endpoint mapper's ept_map (C706 Appendix O, opnum 3; MS-RPCE §2.2.1.2.5), to find the TCP
 * port NETLOGON listens on. A protocol tower (C706 Appendix L) is a floor count u16 and floors,
 * each `lhs_length u16 | lhs | rhs_length u16 | rhs`:
 *
 *   1. 0x0D + interface UUID + major u16   | minor u16
 *   2. 0x0D + NDR UUID + 2 u16             | 0 u16
 *   3. 0x0B (connection-oriented RPC)      | minor 0 u16
 *   4. 0x07 (TCP)                          | port u16 BIG-endian
 *   5. 0x09 (IP)                           | IPv4 address (4 bytes)
 *
 *   ept_map in:  [unique] object UUID (null) | [unique] twr_t* map_tower | entry_handle (20) |
 *                max_towers u32
 *   out: entry_handle (20) | num_towers u32 | conformant varying array of [unique] twr_t* |
 *        towers (tower_length u32, conformant byte array) | status u32
 */
import type { SyntaxId } from './pdu.js';
import { NDR_SYNTAX, uuidBytes } from './pdu.js';
import { NdrReader, NdrWriter } from './ndr.js';
import { malformed } from './rpc-error.js';

export const EPM_PORT = 135;
export const OPNUM_EPT_MAP = 3;
const PROTOCOL_UUID = 0x0d;
const PROTOCOL_RPC_CO = 0x0b;
const PROTOCOL_TCP = 0x07;
const PROTOCOL_IP = 0x09;
const MAX_TOWERS = 4;

function floor(lhs: Buffer, rhs: Buffer): Buffer {
  const out = Buffer.alloc(4 + lhs.length + rhs.length);
  out.writeUInt16LE(lhs.length, 0);
  lhs.copy(out, 2);
  out.writeUInt16LE(rhs.length, 2 + lhs.length);
  rhs.copy(out, 4 + lhs.length);
  return out;
}

function u16le(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value);
  return b;
}

function syntaxFloor(syntax: SyntaxId): Buffer {
  return floor(
    Buffer.concat([Buffer.of(PROTOCOL_UUID), uuidBytes(syntax.uuid), u16le(syntax.major)]),
    u16le(syntax.minor),
  );
}

export function encodeTower(syntax: SyntaxId, port = 0, ipv4 = '0.0.0.0'): Buffer {
  const portBytes = Buffer.alloc(2);
  portBytes.writeUInt16BE(port);
  return Buffer.concat([
    u16le(5),
    syntaxFloor(syntax),
    syntaxFloor(NDR_SYNTAX),
    floor(Buffer.of(PROTOCOL_RPC_CO), u16le(0)),
    floor(Buffer.of(PROTOCOL_TCP), portBytes),
    floor(Buffer.of(PROTOCOL_IP), Buffer.from(ipv4.split('.').map(Number))),
  ]);
}

/** The TCP port of a tower, or undefined when it is not an ncacn_ip_tcp tower. */
export function towerTcpPort(tower: Buffer): number | undefined {
  if (tower.length < 2) malformed('protocol tower');
  const floors = tower.readUInt16LE(0);
  if (floors > 16) malformed('protocol tower (floor count)');
  let pos = 2;
  for (let i = 0; i < floors; i++) {
    if (pos + 2 > tower.length) malformed('protocol tower (truncated)');
    const lhsLength = tower.readUInt16LE(pos);
    pos += 2;
    if (lhsLength < 1 || pos + lhsLength + 2 > tower.length) malformed('protocol tower (floor)');
    const protocol = tower[pos] as number;
    pos += lhsLength;
    const rhsLength = tower.readUInt16LE(pos);
    pos += 2;
    if (pos + rhsLength > tower.length) malformed('protocol tower (floor)');
    if (protocol === PROTOCOL_TCP) {
      if (rhsLength !== 2) malformed('protocol tower (TCP floor)');
      return tower.readUInt16BE(pos);
    }
    pos += rhsLength;
  }
  return undefined;
}

export function encodeEptMap(syntax: SyntaxId): Buffer {
  const tower = encodeTower(syntax);
  const w = new NdrWriter();
  w.u32(0); // no object UUID
  w.pointer();
  w.u32(tower.length);
  w.u32(tower.length);
  w.bytes(tower);
  w.align(4);
  w.bytes(Buffer.alloc(20)); // entry_handle: a null context handle
  w.u32(MAX_TOWERS);
  return w.toBuffer();
}

/** The ports of the ncacn_ip_tcp towers ept_map returned (empty when the status is not 0). */
export function decodeEptMapResponse(stub: Buffer): { ports: number[]; status: number } {
  const r = new NdrReader(stub);
  r.bytes(20);
  const numTowers = r.count(MAX_TOWERS);
  const maxCount = r.count(MAX_TOWERS);
  const offset = r.u32();
  const actual = r.count(MAX_TOWERS);
  if (offset !== 0 || actual > maxCount || actual !== numTowers) malformed('ept_map response');
  const pointers: number[] = [];
  for (let i = 0; i < actual; i++) pointers.push(r.u32());
  const ports: number[] = [];
  for (const pointer of pointers) {
    if (pointer === 0) continue;
    const length = r.count(4096);
    if (r.count(4096) !== length) malformed('ept_map tower');
    const port = towerTcpPort(r.bytes(length));
    if (port !== undefined && port !== 0) ports.push(port);
  }
  const status = r.u32();
  if (r.remaining > 0) malformed('ept_map response (trailing bytes)');
  return { ports: status === 0 ? ports : [], status };
}
