/**
 * NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1), the client's first leg ("Type 1").
 *
 *    0  Signature "NTLMSSP\0"          8
 *    8  MessageType = 1                4
 *   12  NegotiateFlags                 4
 *   16  DomainNameFields               8   (OEM, when NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED)
 *   24  WorkstationFields              8   (OEM, when NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED)
 *   32  Version                        8   (when NTLMSSP_NEGOTIATE_VERSION)
 *   ..  Payload
 *
 * Some old clients send only the first 16 bytes; the fields are then taken as empty.
 */
import { fail } from '../errors.js';
import { NTLMSSP_NEGOTIATE_VERSION, hasFlag } from './flags.js';
import type { NtlmVersion } from './version.js';
import { VERSION_LENGTH, decodeVersion, encodeVersion } from './version.js';
import {
  MESSAGE_TYPE_NEGOTIATE,
  NTLMSSP_SIGNATURE,
  PayloadWriter,
  expectMessage,
  fieldBytes,
  payloadStart,
  readField,
} from './wire.js';

const SHORT_HEADER = 16;
const FIXED_HEADER = 32;

/**
 * NEGOTIATE_MESSAGE (MS-NLMP §2.2.1.1), the client's first NTLM message: its flags and, optionally,
 * its domain, workstation and Version.
 */
export interface NegotiateMessage {
  readonly flags: number;
  readonly domain: string;
  readonly workstation: string;
  readonly version?: NtlmVersion;
}

/**
 * Decodes a NEGOTIATE_MESSAGE (MS-NLMP §2.2.1.1), also the 16-byte form old clients send. Throws
 * `ERR_HTTPAUTH_NTLM_MALFORMED` on a bad header or a field outside the message.
 */
export function decodeNegotiateMessage(bytes: Buffer): NegotiateMessage {
  expectMessage(bytes, MESSAGE_TYPE_NEGOTIATE, SHORT_HEADER);
  const flags = bytes.readUInt32LE(12);
  if (bytes.length === SHORT_HEADER) return { flags, domain: '', workstation: '' };
  if (bytes.length < FIXED_HEADER) fail('ERR_HTTPAUTH_NTLM_MALFORMED');

  const domainField = readField(bytes, 16, FIXED_HEADER);
  const workstationField = readField(bytes, 24, FIXED_HEADER);
  const start = payloadStart([domainField, workstationField], bytes.length);
  const message: NegotiateMessage = {
    flags,
    domain: fieldBytes(bytes, domainField).toString('latin1'),
    workstation: fieldBytes(bytes, workstationField).toString('latin1'),
  };
  if (hasFlag(flags, NTLMSSP_NEGOTIATE_VERSION) && start >= FIXED_HEADER + VERSION_LENGTH) {
    return { ...message, version: decodeVersion(bytes, FIXED_HEADER) };
  }
  return message;
}

/**
 * Encodes a NEGOTIATE_MESSAGE (MS-NLMP §2.2.1.1), with the Version field when `version` is set;
 * what an NTLM client sends first.
 */
export function encodeNegotiateMessage(message: NegotiateMessage): Buffer {
  const withVersion = message.version !== undefined;
  const header = Buffer.alloc(FIXED_HEADER + (withVersion ? VERSION_LENGTH : 0));
  NTLMSSP_SIGNATURE.copy(header, 0);
  header.writeUInt32LE(MESSAGE_TYPE_NEGOTIATE, 8);
  header.writeUInt32LE(message.flags >>> 0, 12);
  if (message.version !== undefined) encodeVersion(message.version).copy(header, FIXED_HEADER);
  const writer = new PayloadWriter(header);
  writer.field(16, Buffer.from(message.domain, 'latin1'));
  writer.field(24, Buffer.from(message.workstation, 'latin1'));
  return writer.finish();
}
