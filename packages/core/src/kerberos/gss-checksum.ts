/**
 * The RFC 4121 §4.1.1 authenticator checksum (cksumtype 0x8003), which carries the GSS context
 * flags, the channel-binding hash and, for delegation, a KRB-CRED:
 *
 *   Octets   Name     Meaning
 *   0..3     Lgth     length of Bnd, always 16 (little-endian)
 *   4..19    Bnd      MD5 of the gss_channel_bindings_struct (RFC 4121 §4.1.1.2), or zeros
 *   20..23   Flags    GSS context flags (little-endian)
 *   24..25   DlgOpt   1 when a KRB-CRED follows (only with GSS_C_DELEG_FLAG)
 *   26..27   Dlgth    length of Deleg
 *   28..     Deleg    KRB-CRED
 *   ...      Exts     extensions (RFC 4121 §4.1.1.1), ignored
 */
import { fail } from '../errors.js';

/**
 * The checksum type 0x8003 (RFC 4121 §4.1.1) that marks an AP-REQ authenticator's checksum field as
 * the GSS-API checksum, which carries channel bindings, context flags and delegation.
 */
export const GSS_CHECKSUM_TYPE = 0x8003;

/** GSS context flags (RFC 2744 §3.10, RFC 4757 §7.1 for DCE style, MS-KILE extensions). */
export const GssFlags = {
  DELEG: 0x01,
  MUTUAL: 0x02,
  REPLAY: 0x04,
  SEQUENCE: 0x08,
  CONF: 0x10,
  INTEG: 0x20,
  ANON: 0x40,
  DCE_STYLE: 0x1000,
  IDENTIFY: 0x2000,
  EXTENDED_ERROR: 0x4000,
} as const;

/**
 * The GSS-API checksum of a Kerberos authenticator (RFC 4121 §4.1.1): the channel-binding hash, the
 * context flags (`GssFlags`) and the delegated KRB-CRED, when any.
 */
export interface GssChecksum {
  /** The 16-byte channel-binding hash; all zeros when the initiator bound no channel. */
  readonly bindings: Buffer;
  readonly flags: number;
  /** The KRB-CRED DER when the initiator delegated (DlgOpt 1). */
  readonly delegation: Buffer | undefined;
}

/**
 * Decodes the authenticator checksum of type 0x8003 (RFC 4121 §4.1.1). Throws
 * `ERR_HTTPAUTH_GSS_MALFORMED` when it is shorter than 24 bytes, its binding length is not 16, or a
 * delegation option is malformed.
 */
export function decodeGssChecksum(data: Buffer): GssChecksum {
  if (data.length < 24 || data.readUInt32LE(0) !== 16) fail('ERR_HTTPAUTH_GSS_MALFORMED');
  const bindings = data.subarray(4, 20);
  const flags = data.readUInt32LE(20);
  let delegation: Buffer | undefined;
  if ((flags & GssFlags.DELEG) !== 0 && data.length >= 28) {
    const option = data.readUInt16LE(24);
    const length = data.readUInt16LE(26);
    if (option !== 1 || 28 + length > data.length) fail('ERR_HTTPAUTH_GSS_MALFORMED');
    delegation = data.subarray(28, 28 + length);
  }
  return { bindings, flags, delegation };
}

/**
 * Encodes the authenticator checksum of type 0x8003 (RFC 4121 §4.1.1), with the delegation option
 * (DlgOpt 1) when a KRB-CRED is given: what an initiator puts in its authenticator (the tests'
 * forged AP-REQs use it).
 */
export function encodeGssChecksum(value: {
  bindings?: Buffer | undefined;
  flags: number;
  delegation?: Buffer | undefined;
}): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(16, 0);
  if (value.bindings !== undefined) value.bindings.copy(head, 4, 0, 16);
  head.writeUInt32LE(value.flags >>> 0, 20);
  if (value.delegation === undefined) return head;
  const dlg = Buffer.alloc(4);
  dlg.writeUInt16LE(1, 0);
  dlg.writeUInt16LE(value.delegation.length, 2);
  return Buffer.concat([head, dlg, value.delegation]);
}

/** True when no binding was sent: RFC 4121 §4.1.1.2 has initiators send 16 zero octets. */
export function isZeroBinding(bindings: Buffer): boolean {
  for (const byte of bindings) if (byte !== 0) return false;
  return true;
}
