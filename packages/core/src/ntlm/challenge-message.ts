/**
 * CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2), the server's leg ("Type 2").
 *
 *    0  Signature "NTLMSSP\0"          8
 *    8  MessageType = 2                4
 *   12  TargetNameFields               8   (UNICODE or OEM per the negotiated flags)
 *   20  NegotiateFlags                 4
 *   24  ServerChallenge                8
 *   32  Reserved                       8
 *   40  TargetInfoFields               8   (AV_PAIR list, when NTLMSSP_NEGOTIATE_TARGET_INFO)
 *   48  Version                        8   (when NTLMSSP_NEGOTIATE_VERSION)
 *   56  Payload
 *
 * The decoder exists for tests and for clients built on this package; the acceptor only encodes.
 */
import { fail } from '../errors.js';
import type { AvPair } from './av-pairs.js';
import { decodeAvPairs, encodeAvPairs } from './av-pairs.js';
import {
  NTLMSSP_NEGOTIATE_TARGET_INFO,
  NTLMSSP_NEGOTIATE_UNICODE,
  NTLMSSP_NEGOTIATE_VERSION,
  hasFlag,
} from './flags.js';
import type { NtlmVersion } from './version.js';
import { VERSION_LENGTH, decodeVersion, encodeVersion } from './version.js';
import {
  MESSAGE_TYPE_CHALLENGE,
  NTLMSSP_SIGNATURE,
  PayloadWriter,
  decodeString,
  encodeString,
  expectMessage,
  fieldBytes,
  payloadStart,
  readField,
} from './wire.js';

/** Header up to and including TargetInfoFields. */
const BASE_HEADER = 48;
const FULL_HEADER = BASE_HEADER + VERSION_LENGTH;
export const SERVER_CHALLENGE_OFFSET = 24;
export const SERVER_CHALLENGE_LENGTH = 8;

/**
 * CHALLENGE_MESSAGE (MS-NLMP §2.2.1.2), the server's second NTLM message: the negotiated flags, the
 * target name, the 8-byte server challenge, the TargetInfo AV pairs and the Version.
 */
export interface ChallengeMessage {
  readonly flags: number;
  readonly targetName: string;
  readonly serverChallenge: Buffer;
  /** Raw TargetInfo bytes (AV pairs including MsvAvEOL), empty when absent. */
  readonly targetInfo: Buffer;
  readonly version?: NtlmVersion;
}

/**
 * Decodes a CHALLENGE_MESSAGE (MS-NLMP §2.2.1.2), with its TargetInfo parsed into AV pairs; what an
 * NTLM client reads. Throws `ERR_HTTPAUTH_NTLM_MALFORMED` on a bad header or a field outside the
 * message.
 */
export function decodeChallengeMessage(bytes: Buffer): ChallengeMessage & {
  readonly targetInfoPairs: AvPair[];
} {
  // Early Windows versions end the header before TargetInfoFields; those carry no NTLMv2 data.
  expectMessage(bytes, MESSAGE_TYPE_CHALLENGE, 32);
  const flags = bytes.readUInt32LE(20);
  const serverChallenge = Buffer.from(
    bytes.subarray(SERVER_CHALLENGE_OFFSET, SERVER_CHALLENGE_OFFSET + SERVER_CHALLENGE_LENGTH),
  );
  const hasTargetInfoField = bytes.length >= BASE_HEADER;
  const headerEnd = hasTargetInfoField ? BASE_HEADER : 32;
  const nameField = readField(bytes, 12, headerEnd);
  const infoField = hasTargetInfoField ? readField(bytes, 40, headerEnd) : { length: 0, offset: 0 };
  const start = payloadStart([nameField, infoField], bytes.length);
  const unicode = hasFlag(flags, NTLMSSP_NEGOTIATE_UNICODE);
  const targetInfo = Buffer.from(fieldBytes(bytes, infoField));
  const targetInfoPairs = targetInfo.length === 0 ? [] : decodeAvPairs(targetInfo);
  const message = {
    flags,
    targetName: decodeString(fieldBytes(bytes, nameField), unicode),
    serverChallenge,
    targetInfo,
    targetInfoPairs,
  };
  if (hasFlag(flags, NTLMSSP_NEGOTIATE_VERSION) && start >= FULL_HEADER) {
    return { ...message, version: decodeVersion(bytes, BASE_HEADER) };
  }
  return message;
}

/**
 * Encodes a CHALLENGE_MESSAGE (MS-NLMP §2.2.1.2), as the acceptor sends it. Throws
 * `ERR_HTTPAUTH_NTLM_MALFORMED` when the server challenge is not 8 bytes.
 */
export function encodeChallengeMessage(message: ChallengeMessage): Buffer {
  if (message.serverChallenge.length !== SERVER_CHALLENGE_LENGTH) {
    fail('ERR_HTTPAUTH_NTLM_MALFORMED');
  }
  const header = Buffer.alloc(FULL_HEADER);
  NTLMSSP_SIGNATURE.copy(header, 0);
  header.writeUInt32LE(MESSAGE_TYPE_CHALLENGE, 8);
  header.writeUInt32LE(message.flags >>> 0, 20);
  message.serverChallenge.copy(header, SERVER_CHALLENGE_OFFSET);
  if (message.version !== undefined) encodeVersion(message.version).copy(header, BASE_HEADER);
  const writer = new PayloadWriter(header);
  const unicode = hasFlag(message.flags, NTLMSSP_NEGOTIATE_UNICODE);
  writer.field(12, encodeString(message.targetName, unicode));
  // MS-NLMP 4.2.2.3: without NTLMSSP_NEGOTIATE_TARGET_INFO the TargetInfoFields are all zero.
  writer.field(40, message.targetInfo, !hasFlag(message.flags, NTLMSSP_NEGOTIATE_TARGET_INFO));
  return writer.finish();
}

/** Encodes an AV pair list as TargetInfo (re-exported for callers building a CHALLENGE). */
export function encodeTargetInfo(pairs: readonly AvPair[]): Buffer {
  return encodeAvPairs(pairs);
}
