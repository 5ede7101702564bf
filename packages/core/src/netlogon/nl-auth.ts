/**
 * The schannel security provider's tokens (auth_type 0x44, MS-NRPC §2.2.1.3):
 *
 * NL_AUTH_MESSAGE (§2.2.1.3.1), the bind's auth_value:
 *   MessageType u32 (0 request, 1 response) | Flags u32 | then, per flag, NUL-terminated names:
 *   0x1 NetBIOS domain (OEM), 0x2 NetBIOS computer (OEM), ...
 *
 * The AES signature every request and response carries at auth level 6 is 56 bytes:
 *   SignatureAlgorithm u16 = 0x0013 (HMAC-SHA256) | SealAlgorithm u16 = 0x001A (AES-128) |
 *   Pad u16 = 0xFFFF | Flags u16 = 0 | SequenceNumber (8, encrypted) | Checksum (8) |
 *   Confounder (8, encrypted) | 24 zero bytes.
 * That is NL_AUTH_SIGNATURE's layout, not NL_AUTH_SHA2_SIGNATURE's drawing in §2.2.1.3.3 (32-byte
 * checksum, confounder at 48): Windows and Samba put the 8-byte checksum at 16 and the confounder
 * at 24, and refuse anything shorter than 56 bytes when sealing.
 */
import { RpcError, malformed } from './rpc-error.js';

export const AUTH_TYPE_SCHANNEL = 0x44;
export const AUTH_LEVEL_PRIVACY = 6;
export const NL_AUTH_SIGNATURE_LENGTH = 56;
/** SignatureAlgorithm 0x0013, SealAlgorithm 0x001A, Pad 0xFFFF, Flags 0 (§2.2.1.3.3). */
export const AES_SEAL_HEADER = Buffer.of(0x13, 0x00, 0x1a, 0x00, 0xff, 0xff, 0x00, 0x00);

const NL_NEGOTIATE_REQUEST = 0;
const NL_NEGOTIATE_RESPONSE = 1;
const NETBIOS_DOMAIN_NAME = 0x1;
const NETBIOS_COMPUTER_NAME = 0x2;

function oem(name: string): Buffer {
  // NetBIOS names are ASCII here; anything else would be mangled by an OEM code page.
  if (!/^[\x20-\x7e]{1,15}$/.test(name)) throw new RangeError('not a NetBIOS name');
  return Buffer.from(`${name}\0`, 'latin1');
}

export function encodeNlAuthRequest(domain: string, computer: string): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(NL_NEGOTIATE_REQUEST, 0);
  head.writeUInt32LE(NETBIOS_DOMAIN_NAME | NETBIOS_COMPUTER_NAME, 4);
  return Buffer.concat([head, oem(domain), oem(computer)]);
}

/** The bind_ack's NL_AUTH_MESSAGE: only its type matters (MS-NRPC §3.3.4.1.2). */
export function checkNlAuthResponse(value: Buffer | undefined): void {
  if (value === undefined || value.length < 8) malformed('NL_AUTH_MESSAGE');
  if (value.readUInt32LE(0) !== NL_NEGOTIATE_RESPONSE) {
    throw new RpcError('RPC_BIND_REFUSED', 'schannel bind was not accepted');
  }
}

export interface NlAuthSignature {
  readonly encryptedSequence: Buffer;
  readonly checksum: Buffer;
  readonly encryptedConfounder: Buffer;
}

export function encodeNlAuthSignature(signature: NlAuthSignature): Buffer {
  const out = Buffer.alloc(NL_AUTH_SIGNATURE_LENGTH);
  AES_SEAL_HEADER.copy(out, 0);
  signature.encryptedSequence.copy(out, 8);
  signature.checksum.copy(out, 16);
  signature.encryptedConfounder.copy(out, 24);
  return out;
}

export function decodeNlAuthSignature(value: Buffer): NlAuthSignature {
  if (value.length !== NL_AUTH_SIGNATURE_LENGTH) malformed('NL_AUTH_SIGNATURE (length)');
  if (!value.subarray(0, 8).equals(AES_SEAL_HEADER)) {
    // Another algorithm (RC4/HMAC-MD5) or integrity only: never what we negotiated.
    throw new RpcError('RPC_INTEGRITY', 'unexpected schannel signature algorithm');
  }
  return {
    encryptedSequence: Buffer.from(value.subarray(8, 16)),
    checksum: Buffer.from(value.subarray(16, 24)),
    encryptedConfounder: Buffer.from(value.subarray(24, 32)),
  };
}
