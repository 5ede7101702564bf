/**
 * The connection-oriented DCE/RPC common header (C706 §12.6.3.1) and the split of a PDU into
 * header, body and authentication trailer (C706 §13.2.6.1, MS-RPCE §2.2.2.11):
 *
 *   off 0  rpc_vers 5 | rpc_vers_minor 0 | PTYPE | pfc_flags | drep (10 00 00 00) | frag_length u16
 *          | auth_length u16 | call_id u32
 *   off 16 body ... [auth pad] [sec_trailer (8) | auth_value (auth_length)]
 *
 * Only little-endian, ASCII, IEEE data representation is spoken (what every Windows and Samba
 * peer sends); anything else is RPC_MALFORMED.
 */
import { malformed } from './rpc-error.js';

export const PTYPE_REQUEST = 0;
export const PTYPE_RESPONSE = 2;
export const PTYPE_FAULT = 3;
export const PTYPE_BIND = 11;
export const PTYPE_BIND_ACK = 12;
export const PTYPE_BIND_NAK = 13;

export const PFC_FIRST_FRAG = 0x01;
export const PFC_LAST_FRAG = 0x02;

export const COMMON_HEADER_LENGTH = 16;
export const SEC_TRAILER_LENGTH = 8;
/** Our max_xmit_frag / max_recv_frag (Windows' value); larger PDUs are refused. */
export const MAX_FRAGMENT = 4280;
const DREP_LE = Buffer.of(0x10, 0, 0, 0);

export interface PduHeader {
  readonly type: number;
  readonly flags: number;
  readonly fragLength: number;
  readonly authLength: number;
  readonly callId: number;
}

export function encodeHeader(header: PduHeader): Buffer {
  const out = Buffer.alloc(COMMON_HEADER_LENGTH);
  out[0] = 5;
  out[1] = 0;
  out[2] = header.type;
  out[3] = header.flags;
  DREP_LE.copy(out, 4);
  out.writeUInt16LE(header.fragLength, 8);
  out.writeUInt16LE(header.authLength, 10);
  out.writeUInt32LE(header.callId >>> 0, 12);
  return out;
}

export function decodeHeader(bytes: Buffer): PduHeader {
  if (bytes.length < COMMON_HEADER_LENGTH) malformed('PDU header (truncated)');
  if (bytes[0] !== 5 || bytes[1] !== 0) malformed('PDU header (version)');
  if (!bytes.subarray(4, 8).equals(DREP_LE)) malformed('PDU header (data representation)');
  const fragLength = bytes.readUInt16LE(8);
  const authLength = bytes.readUInt16LE(10);
  if (fragLength < COMMON_HEADER_LENGTH || fragLength > MAX_FRAGMENT) {
    malformed('PDU header (frag_length)');
  }
  if (authLength > 0 && authLength + SEC_TRAILER_LENGTH > fragLength - COMMON_HEADER_LENGTH) {
    malformed('PDU header (auth_length)');
  }
  return {
    type: bytes[2] as number,
    flags: bytes[3] as number,
    fragLength,
    authLength,
    callId: bytes.readUInt32LE(12),
  };
}

/** The sec_trailer (C706 §13.2.6.1) that precedes every auth_value. */
export interface SecTrailer {
  readonly authType: number;
  readonly authLevel: number;
  readonly authPadLength: number;
  readonly authContextId: number;
}

export function encodeSecTrailer(trailer: SecTrailer): Buffer {
  const out = Buffer.alloc(SEC_TRAILER_LENGTH);
  out[0] = trailer.authType;
  out[1] = trailer.authLevel;
  out[2] = trailer.authPadLength;
  out[3] = 0;
  out.writeUInt32LE(trailer.authContextId >>> 0, 4);
  return out;
}

export function decodeSecTrailer(bytes: Buffer): SecTrailer {
  if (bytes.length !== SEC_TRAILER_LENGTH) malformed('sec_trailer');
  return {
    authType: bytes[0] as number,
    authLevel: bytes[1] as number,
    authPadLength: bytes[2] as number,
    authContextId: bytes.readUInt32LE(4),
  };
}

/** A whole PDU split into its parts; `body` excludes the sec_trailer and auth_value. */
export interface Pdu {
  readonly header: PduHeader;
  /** Bytes 0..15, plus the PDU-type fields, as they were on the wire (for header signing). */
  readonly raw: Buffer;
  readonly body: Buffer;
  readonly trailer: SecTrailer | undefined;
  readonly authValue: Buffer | undefined;
}

export function splitPdu(raw: Buffer): Pdu {
  const header = decodeHeader(raw);
  if (raw.length !== header.fragLength) malformed('PDU (length differs from frag_length)');
  if (header.authLength === 0) {
    return {
      header,
      raw,
      body: raw.subarray(COMMON_HEADER_LENGTH),
      trailer: undefined,
      authValue: undefined,
    };
  }
  const trailerStart = raw.length - header.authLength - SEC_TRAILER_LENGTH;
  return {
    header,
    raw,
    body: raw.subarray(COMMON_HEADER_LENGTH, trailerStart),
    trailer: decodeSecTrailer(raw.subarray(trailerStart, trailerStart + SEC_TRAILER_LENGTH)),
    authValue: raw.subarray(raw.length - header.authLength),
  };
}

/** Assemble a PDU from its header fields, body and optional trailer + auth_value. */
export function assemblePdu(
  type: number,
  flags: number,
  callId: number,
  body: Buffer,
  auth?: { trailer: SecTrailer; value: Buffer },
): Buffer {
  const authLength = auth?.value.length ?? 0;
  const fragLength =
    COMMON_HEADER_LENGTH + body.length + (auth === undefined ? 0 : SEC_TRAILER_LENGTH + authLength);
  const parts = [encodeHeader({ type, flags, fragLength, authLength, callId }), body];
  if (auth !== undefined) parts.push(encodeSecTrailer(auth.trailer), auth.value);
  return Buffer.concat(parts, fragLength);
}

/** A DCE UUID in NDR's byte order: the first three fields little-endian (C706 Appendix A). */
export function uuidBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new TypeError('not a UUID');
  const b = Buffer.from(hex, 'hex');
  return Buffer.concat([
    Buffer.from(b.subarray(0, 4)).reverse(),
    Buffer.from(b.subarray(4, 6)).reverse(),
    Buffer.from(b.subarray(6, 8)).reverse(),
    b.subarray(8),
  ]);
}

/** A presentation syntax: interface UUID and version (major in the low 16 bits). */
export interface SyntaxId {
  readonly uuid: string;
  readonly major: number;
  readonly minor: number;
}

export function encodeSyntax(syntax: SyntaxId): Buffer {
  const version = Buffer.alloc(4);
  version.writeUInt16LE(syntax.major, 0);
  version.writeUInt16LE(syntax.minor, 2);
  return Buffer.concat([uuidBytes(syntax.uuid), version]);
}

export const NETLOGON_SYNTAX: SyntaxId = {
  uuid: '12345678-1234-abcd-ef00-01234567cffb',
  major: 1,
  minor: 0,
};
export const EPM_SYNTAX: SyntaxId = {
  uuid: 'e1af8308-5d1f-11c9-91a4-08002b14a0fa',
  major: 3,
  minor: 0,
};
export const NDR_SYNTAX: SyntaxId = {
  uuid: '8a885d04-1ceb-11c9-9fe8-08002b104860',
  major: 2,
  minor: 0,
};
