/**
 * AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3), the client's last leg ("Type 3").
 *
 *    0  Signature "NTLMSSP\0"                 8
 *    8  MessageType = 3                       4
 *   12  LmChallengeResponseFields             8
 *   20  NtChallengeResponseFields             8
 *   28  DomainNameFields                      8
 *   36  UserNameFields                        8
 *   44  WorkstationFields                     8
 *   52  EncryptedRandomSessionKeyFields       8
 *   60  NegotiateFlags                        4
 *   64  Version                               8   (present when the payload starts at >= 72)
 *   72  MIC                                  16   (present when the payload starts at >= 88)
 *   ..  Payload
 *
 * Whether Version and MIC are present is not signalled by a flag in this message: the client's
 * AV pairs say whether a MIC was computed (MsvAvFlags 0x2), and the fixed header simply ends
 * where the first payload field begins. The decoder reports what is physically there; the
 * verifier decides what must be.
 */
import { fail } from '../errors.js';
import { NTLMSSP_NEGOTIATE_UNICODE, hasFlag } from './flags.js';
import type { NtlmVersion } from './version.js';
import { VERSION_LENGTH, decodeVersion, encodeVersion } from './version.js';
import {
  MESSAGE_TYPE_AUTHENTICATE,
  NTLMSSP_SIGNATURE,
  PayloadWriter,
  decodeString,
  encodeString,
  expectMessage,
  fieldBytes,
  payloadStart,
  readField,
} from './wire.js';

const BASE_HEADER = 64;
export const MIC_OFFSET = BASE_HEADER + VERSION_LENGTH;
export const MIC_LENGTH = 16;
const FULL_HEADER = MIC_OFFSET + MIC_LENGTH;

/**
 * AUTHENTICATE_MESSAGE (MS-NLMP §2.2.1.3), the client's third NTLM message: the LM and NT challenge
 * responses, the domain, user and workstation names, the encrypted random session key and, when
 * present, the Version and the MIC.
 */
export interface AuthenticateMessage {
  readonly flags: number;
  readonly lmChallengeResponse: Buffer;
  readonly ntChallengeResponse: Buffer;
  readonly domain: string;
  readonly user: string;
  readonly workstation: string;
  readonly encryptedRandomSessionKey: Buffer;
  readonly version?: NtlmVersion;
  /** The 16 bytes at offset 72, when the header is long enough to hold them. */
  readonly mic?: Buffer;
}

/**
 * Decodes an AUTHENTICATE_MESSAGE (MS-NLMP §2.2.1.3), names in UTF-16LE or OEM per the flags.
 * Throws `ERR_HTTPAUTH_NTLM_MALFORMED` for a short header, a wrong signature or message type, or a
 * field outside the message.
 */
export function decodeAuthenticateMessage(bytes: Buffer): AuthenticateMessage {
  expectMessage(bytes, MESSAGE_TYPE_AUTHENTICATE, BASE_HEADER);
  const lmField = readField(bytes, 12, BASE_HEADER);
  const ntField = readField(bytes, 20, BASE_HEADER);
  const domainField = readField(bytes, 28, BASE_HEADER);
  const userField = readField(bytes, 36, BASE_HEADER);
  const workstationField = readField(bytes, 44, BASE_HEADER);
  const keyField = readField(bytes, 52, BASE_HEADER);
  const flags = bytes.readUInt32LE(60);
  const start = payloadStart(
    [lmField, ntField, domainField, userField, workstationField, keyField],
    bytes.length,
  );
  const unicode = hasFlag(flags, NTLMSSP_NEGOTIATE_UNICODE);
  // Copies: the decoded message must not keep the (possibly pooled) input alive or change with it.
  const message: AuthenticateMessage = {
    flags,
    lmChallengeResponse: Buffer.from(fieldBytes(bytes, lmField)),
    ntChallengeResponse: Buffer.from(fieldBytes(bytes, ntField)),
    domain: decodeString(fieldBytes(bytes, domainField), unicode),
    user: decodeString(fieldBytes(bytes, userField), unicode),
    workstation: decodeString(fieldBytes(bytes, workstationField), unicode),
    encryptedRandomSessionKey: Buffer.from(fieldBytes(bytes, keyField)),
  };
  const version = start >= MIC_OFFSET ? decodeVersion(bytes, BASE_HEADER) : undefined;
  const mic =
    start >= FULL_HEADER ? Buffer.from(bytes.subarray(MIC_OFFSET, FULL_HEADER)) : undefined;
  return {
    ...message,
    ...(version === undefined ? {} : { version }),
    ...(mic === undefined ? {} : { mic }),
  };
}

/** Options of `encodeAuthenticateMessage`, which clients and tests use to build an AUTHENTICATE. */
export interface EncodeAuthenticateOptions {
  /** Lay out the Version field even when `version` is absent (zeros), as Chromium does. */
  readonly withVersionField?: boolean;
}

/**
 * Encodes an AUTHENTICATE. Payload order follows MS-NLMP 4.2.4.3: domain, user, workstation,
 * LM, NT, session key. A `mic` of 16 bytes adds the MIC field (and the Version field before it).
 */
export function encodeAuthenticateMessage(
  message: AuthenticateMessage,
  options: EncodeAuthenticateOptions = {},
): Buffer {
  if (message.mic !== undefined && message.mic.length !== MIC_LENGTH) {
    fail('ERR_HTTPAUTH_NTLM_MALFORMED');
  }
  const withVersion =
    message.version !== undefined || message.mic !== undefined || options.withVersionField === true;
  const headerLength =
    message.mic !== undefined ? FULL_HEADER : withVersion ? MIC_OFFSET : BASE_HEADER;
  const header = Buffer.alloc(headerLength);
  NTLMSSP_SIGNATURE.copy(header, 0);
  header.writeUInt32LE(MESSAGE_TYPE_AUTHENTICATE, 8);
  header.writeUInt32LE(message.flags >>> 0, 60);
  if (message.version !== undefined) encodeVersion(message.version).copy(header, BASE_HEADER);
  if (message.mic !== undefined) message.mic.copy(header, MIC_OFFSET);
  const unicode = hasFlag(message.flags, NTLMSSP_NEGOTIATE_UNICODE);
  const writer = new PayloadWriter(header);
  writer.field(28, encodeString(message.domain, unicode));
  writer.field(36, encodeString(message.user, unicode));
  writer.field(44, encodeString(message.workstation, unicode));
  writer.field(12, message.lmChallengeResponse);
  writer.field(20, message.ntChallengeResponse);
  writer.field(52, message.encryptedRandomSessionKey);
  return writer.finish();
}

/** A copy of an encoded AUTHENTICATE with its MIC field zeroed: the MIC's own input. */
export function withZeroedMic(bytes: Buffer): Buffer {
  if (bytes.length < FULL_HEADER) fail('ERR_HTTPAUTH_NTLM_MALFORMED');
  const copy = Buffer.from(bytes);
  copy.fill(0, MIC_OFFSET, FULL_HEADER);
  return copy;
}
