/**
 * RFC 4121 §4.2.6.1 MIC tokens, which SPNEGO's mechListMIC uses (RFC 4178 §5):
 *
 *   Octet  Name       Description
 *   0..1   TOK_ID     04 04
 *   2      Flags      0x01 SentByAcceptor, 0x02 Sealed, 0x04 AcceptorSubkey
 *   3..7   Filler     FF FF FF FF FF
 *   8..15  SND_SEQ    sequence number, big-endian
 *   16..   SGN_CKSUM  checksum of (message || octets 0..15), with the key's enctype's checksum,
 *                     key usage 23 (acceptor sign) or 25 (initiator sign)
 *
 * RC4-HMAC keys keep the RFC 1964 token format with RFC 4757 §7.2's algorithms, framed with the
 * GSS header (0x60, krb5 OID) as MIT and Windows send it:
 *
 *   Octet  Name       Description
 *   0..1   TOK_ID     01 01
 *   2..3   SGN_ALG    11 00 (HMAC-MD5)
 *   4..7   Filler     FF FF FF FF
 *   8..15  SND_SEQ    RC4(Kseq, seq (big-endian, RFC 4757 §7.2) || direction (00 x4 initiator,
 *                     FF x4 acceptor)), Kseq = HMAC-MD5(HMAC-MD5(K, 0 as int32), SGN_CKSUM)
 *   16..23 SGN_CKSUM  first 8 octets of the HMAC-MD5 checksum (type -138), usage 15, over
 *                     octets 0..7 || message
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { rc4 } from '../crypto/rc4.js';
import { fail } from '../errors.js';
import {
  ChecksumType,
  computeChecksum,
  encryptionProfile,
  EncType,
  KeyUsage,
  type KerberosKey,
} from './crypto/index.js';
import { decodeGssToken, encodeGssToken } from './gss-token.js';

/** The token id 04 04 of an RFC 4121 §4.2.6.1 MIC token (SPNEGO's mechListMIC with an AES key). */
export const MIC_TOKEN_ID = 0x0404;
/**
 * The Flags octet of an RFC 4121 §4.2.6.1 MIC token: sent by the acceptor, sealed, acceptor subkey.
 */
export const MicFlags = { SENT_BY_ACCEPTOR: 0x01, SEALED: 0x02, ACCEPTOR_SUBKEY: 0x04 } as const;

function profileFor(key: KerberosKey): NonNullable<ReturnType<typeof encryptionProfile>> {
  const profile = encryptionProfile(key.enctype);
  if (profile === undefined) fail('ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED');
  return profile;
}

export const RC4_MIC_TOKEN_ID = 0x0101;
/** RFC 4757 §7.2: the Microsoft usage number of a MIC checksum. */
const RC4_SIGN_USAGE = 15;
const RC4_MIC_HEADER = Buffer.from([0x01, 0x01, 0x11, 0x00, 0xff, 0xff, 0xff, 0xff]);

function rc4Checksum(key: KerberosKey, data: Buffer): Buffer {
  return computeChecksum(
    ChecksumType.HMAC_MD5,
    key,
    RC4_SIGN_USAGE,
    Buffer.concat([RC4_MIC_HEADER, data]),
  ).subarray(0, 8);
}

function rc4SequenceKey(key: KerberosKey, checksum: Buffer): Buffer {
  const base = createHmac('md5', key.bytes).update(Buffer.alloc(4)).digest();
  return createHmac('md5', base).update(checksum).digest();
}

function rc4GetMic(key: KerberosKey, data: Buffer, acceptor: boolean, seq: bigint): Buffer {
  const checksum = rc4Checksum(key, data);
  const plainSeq = Buffer.alloc(8, acceptor ? 0xff : 0x00);
  plainSeq.writeUInt32BE(Number(BigInt.asUintN(32, seq)), 0);
  const token = Buffer.concat([
    RC4_MIC_HEADER,
    rc4(rc4SequenceKey(key, checksum), plainSeq),
    checksum,
  ]);
  return encodeGssToken(RC4_MIC_TOKEN_ID, token.subarray(2));
}

function rc4VerifyMic(
  key: KerberosKey,
  token: Buffer,
  data: Buffer,
  fromAcceptor: boolean | undefined,
): boolean {
  let body: Buffer;
  try {
    const framed = decodeGssToken(token);
    if (framed.tokenId !== RC4_MIC_TOKEN_ID) return false;
    body = Buffer.concat([RC4_MIC_HEADER.subarray(0, 2), framed.message]);
  } catch {
    return false;
  }
  if (body.length !== 24 || !body.subarray(0, 8).equals(RC4_MIC_HEADER)) return false;
  const expected = rc4Checksum(key, data);
  if (!timingSafeEqual(expected, body.subarray(16, 24))) return false;
  const plainSeq = rc4(rc4SequenceKey(key, expected), body.subarray(8, 16));
  const direction = plainSeq.subarray(4, 8);
  const sentByAcceptor = direction.equals(Buffer.alloc(4, 0xff));
  if (!sentByAcceptor && !direction.equals(Buffer.alloc(4))) return false;
  return fromAcceptor === undefined || fromAcceptor === sentByAcceptor;
}

function header(flags: number, seq: bigint): Buffer {
  const head = Buffer.alloc(16, 0xff);
  head.writeUInt16BE(MIC_TOKEN_ID, 0);
  head[2] = flags;
  head.writeBigUInt64BE(BigInt.asUintN(64, seq), 8);
  return head;
}

/** Make a MIC token over `data`. */
export function gssGetMic(
  key: KerberosKey,
  data: Buffer,
  opts: { acceptor: boolean; acceptorSubkey: boolean; seq: bigint },
): Buffer {
  if (key.enctype === EncType.RC4_HMAC) return rc4GetMic(key, data, opts.acceptor, opts.seq);
  const profile = profileFor(key);
  const flags =
    (opts.acceptor ? MicFlags.SENT_BY_ACCEPTOR : 0) |
    (opts.acceptorSubkey ? MicFlags.ACCEPTOR_SUBKEY : 0);
  const head = header(flags, opts.seq);
  const usage = opts.acceptor ? KeyUsage.GSS_ACCEPTOR_SIGN : KeyUsage.GSS_INITIATOR_SIGN;
  return Buffer.concat([head, profile.checksum(key, usage, Buffer.concat([data, head]))]);
}

/** The parsed header of a MIC token, or undefined when it is not one. */
export function decodeMicHeader(
  token: Buffer,
): { flags: number; seq: bigint; checksum: Buffer } | undefined {
  if (token.length < 16 + 12 || token.readUInt16BE(0) !== MIC_TOKEN_ID) return undefined;
  for (let i = 3; i < 8; i++) if (token[i] !== 0xff) return undefined;
  const flags = token[2] as number;
  if ((flags & ~0x07) !== 0 || (flags & MicFlags.SEALED) !== 0) return undefined;
  return { flags, seq: token.readBigUInt64BE(8), checksum: token.subarray(16) };
}

/**
 * Verify a MIC token over `data` (constant-time comparison). The direction comes from the token's
 * SentByAcceptor flag; pass `fromAcceptor` to insist on one (an acceptor verifying the
 * initiator's MIC passes false, so a reflected acceptor MIC is refused).
 */
export function gssVerifyMic(
  key: KerberosKey,
  token: Buffer,
  data: Buffer,
  opts: { fromAcceptor?: boolean } = {},
): boolean {
  if (key.enctype === EncType.RC4_HMAC) return rc4VerifyMic(key, token, data, opts.fromAcceptor);
  const parsed = decodeMicHeader(token);
  if (parsed === undefined) return false;
  const profile = encryptionProfile(key.enctype);
  if (profile === undefined) return false;
  const sentByAcceptor = (parsed.flags & MicFlags.SENT_BY_ACCEPTOR) !== 0;
  if (opts.fromAcceptor !== undefined && opts.fromAcceptor !== sentByAcceptor) return false;
  const usage = sentByAcceptor ? KeyUsage.GSS_ACCEPTOR_SIGN : KeyUsage.GSS_INITIATOR_SIGN;
  const expected = profile.checksum(key, usage, Buffer.concat([data, token.subarray(0, 16)]));
  return expected.length === parsed.checksum.length && timingSafeEqual(expected, parsed.checksum);
}
