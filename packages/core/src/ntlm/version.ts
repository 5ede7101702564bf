/**
 * VERSION structure (MS-NLMP 2.2.2.10): 8 bytes, present in a message when
 * NTLMSSP_NEGOTIATE_VERSION is negotiated; for debugging only, never for decisions.
 *
 *   ProductMajorVersion (1) | ProductMinorVersion (1) | ProductBuild (2, LE) |
 *   Reserved (3) | NTLMRevisionCurrent (1)
 */
import { fail } from '../errors.js';

export const VERSION_LENGTH = 8;
/** NTLMSSP_REVISION_W2K3: the only revision in use (MS-NLMP 2.2.2.10). */
export const NTLMSSP_REVISION_W2K3 = 0x0f;

/**
 * The VERSION structure (MS-NLMP §2.2.2.10) in NTLM messages: the Windows major, minor and build
 * numbers and the NTLMSSP revision.
 */
export interface NtlmVersion {
  readonly major: number;
  readonly minor: number;
  readonly build: number;
  readonly revision: number;
}

/** The version this server announces (Windows Server 2022's numbers, as peers expect a Windows one). */
export const SERVER_VERSION: NtlmVersion = {
  major: 10,
  minor: 0,
  build: 20348,
  revision: NTLMSSP_REVISION_W2K3,
};

export function decodeVersion(bytes: Buffer, offset: number): NtlmVersion {
  if (offset < 0 || offset + VERSION_LENGTH > bytes.length) fail('ERR_HTTPAUTH_NTLM_MALFORMED');
  return {
    major: bytes.readUInt8(offset),
    minor: bytes.readUInt8(offset + 1),
    build: bytes.readUInt16LE(offset + 2),
    revision: bytes.readUInt8(offset + 7),
  };
}

export function encodeVersion(version: NtlmVersion): Buffer {
  const out = Buffer.alloc(VERSION_LENGTH);
  out.writeUInt8(version.major & 0xff, 0);
  out.writeUInt8(version.minor & 0xff, 1);
  out.writeUInt16LE(version.build & 0xffff, 2);
  out.writeUInt8(version.revision & 0xff, 7);
  return out;
}
