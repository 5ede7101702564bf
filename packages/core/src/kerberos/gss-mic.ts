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
 * RC4-HMAC keys use the older RFC 1964 / RFC 4757 token format, which is not implemented here:
 * getMIC refuses them (ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED) and verifyMIC answers false.
 */
import { timingSafeEqual } from 'node:crypto';
import { fail } from '../errors.js';
import { encryptionProfile, EncType, KeyUsage, type KerberosKey } from './crypto/index.js';

export const MIC_TOKEN_ID = 0x0404;
export const MicFlags = { SENT_BY_ACCEPTOR: 0x01, SEALED: 0x02, ACCEPTOR_SUBKEY: 0x04 } as const;

function profileFor(key: KerberosKey): NonNullable<ReturnType<typeof encryptionProfile>> {
  const profile = encryptionProfile(key.enctype);
  if (profile === undefined || key.enctype === EncType.RC4_HMAC) {
    fail('ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED');
  }
  return profile;
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
  const parsed = decodeMicHeader(token);
  if (parsed === undefined) return false;
  const profile = encryptionProfile(key.enctype);
  if (profile === undefined || key.enctype === EncType.RC4_HMAC) return false;
  const sentByAcceptor = (parsed.flags & MicFlags.SENT_BY_ACCEPTOR) !== 0;
  if (opts.fromAcceptor !== undefined && opts.fromAcceptor !== sentByAcceptor) return false;
  const usage = sentByAcceptor ? KeyUsage.GSS_ACCEPTOR_SIGN : KeyUsage.GSS_INITIATOR_SIGN;
  const expected = profile.checksum(key, usage, Buffer.concat([data, token.subarray(0, 16)]));
  return expected.length === parsed.checksum.length && timingSafeEqual(expected, parsed.checksum);
}
