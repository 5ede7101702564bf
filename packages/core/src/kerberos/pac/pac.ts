/**
 * The PAC container (MS-PAC §2.3-2.4) and its signatures (MS-PAC §2.8):
 *
 *   PACTYPE      ::= uint32 cBuffers, uint32 Version (0), PAC_INFO_BUFFER Buffers[cBuffers]
 *   PAC_INFO_BUFFER ::= uint32 ulType, uint32 cbBufferSize, uint64 Offset   (little-endian)
 *   PAC_SIGNATURE_DATA ::= int32 SignatureType, Signature (size by type), [uint16 RODCIdentifier]
 *
 * Buffers are located by offset from the start of the PAC (8-byte aligned by writers; we do not
 * require alignment, only that each buffer lies inside the PAC). The server signature is a keyed
 * checksum, with the service's long-term key and usage 17, over the whole PAC with the Signature
 * bytes of both the server and the KDC signature buffers zeroed (MS-PAC §2.8.1).
 */
import { fail } from '../../errors.js';
import { checksumSize, verifyChecksum, KeyUsage, type KerberosKey } from '../crypto/index.js';

/** PAC_INFO_BUFFER ulType values (MS-PAC §2.4): which structure a PAC buffer holds. */
export const PacBufferType = {
  LOGON_INFO: 1,
  CREDENTIALS_INFO: 2,
  SERVER_CHECKSUM: 6,
  PRIVSVR_CHECKSUM: 7,
  CLIENT_INFO: 10,
  CONSTRAINED_DELEGATION: 11,
  UPN_DNS_INFO: 12,
  CLIENT_CLAIMS: 13,
  DEVICE_INFO: 14,
  DEVICE_CLAIMS: 15,
  TICKET_CHECKSUM: 16,
  ATTRIBUTES_INFO: 17,
  REQUESTOR: 18,
  FULL_CHECKSUM: 19,
} as const;

/** Far more buffers than any KDC writes; bounds the work on hostile input. */
const MAX_BUFFERS = 64;
/** Large AD PACs (many groups) reach tens of KiB; the header cap keeps them below 64 KiB. */
export const MAX_PAC_BYTES = 128 * 1024;

/** A PAC_INFO_BUFFER (MS-PAC §2.4): its type ({@link PacBufferType}), location and bytes. */
export interface PacBuffer {
  readonly type: number;
  readonly offset: number;
  readonly size: number;
  readonly data: Buffer;
}

/**
 * PAC_SIGNATURE_DATA (MS-PAC §2.8): a signature's checksum type, the signature bytes and where they
 * are in the PAC.
 */
export interface PacSignature {
  readonly type: number;
  readonly signature: Buffer;
  /** Offset of the Signature bytes inside the PAC (for zeroing during verification). */
  readonly signatureOffset: number;
  readonly rodcIdentifier: number | undefined;
}

/**
 * A decoded PACTYPE (MS-PAC §2.3): the raw bytes, the buffers, and the server and KDC signatures
 * the acceptor verifies.
 */
export interface Pac {
  readonly bytes: Buffer;
  readonly buffers: readonly PacBuffer[];
  readonly serverSignature: PacSignature | undefined;
  readonly kdcSignature: PacSignature | undefined;
}

function malformed(): never {
  fail('ERR_HTTPAUTH_KRB_PAC_INVALID');
}

function parseSignature(pac: Buffer, buffer: PacBuffer): PacSignature {
  if (buffer.size < 4) malformed();
  const type = buffer.data.readInt32LE(0);
  const size = checksumSize(type);
  // Unknown checksum types cannot be verified: the PAC is refused rather than trusted.
  if (size === undefined || buffer.size < 4 + size) malformed();
  const rodc = buffer.size >= 4 + size + 2 ? buffer.data.readUInt16LE(4 + size) : undefined;
  return {
    type,
    signature: pac.subarray(buffer.offset + 4, buffer.offset + 4 + size),
    signatureOffset: buffer.offset + 4,
    rodcIdentifier: rodc,
  };
}

/** Parse a PACTYPE. Throws ERR_HTTPAUTH_KRB_PAC_INVALID when it is malformed. */
export function decodePac(bytes: Buffer): Pac {
  if (bytes.length < 8 || bytes.length > MAX_PAC_BYTES) malformed();
  const count = bytes.readUInt32LE(0);
  const version = bytes.readUInt32LE(4);
  if (version !== 0 || count > MAX_BUFFERS || 8 + count * 16 > bytes.length) malformed();
  const buffers: PacBuffer[] = [];
  let serverSignature: PacSignature | undefined;
  let kdcSignature: PacSignature | undefined;
  for (let i = 0; i < count; i++) {
    const at = 8 + i * 16;
    const type = bytes.readUInt32LE(at);
    const size = bytes.readUInt32LE(at + 4);
    const offsetLow = bytes.readUInt32LE(at + 8);
    const offsetHigh = bytes.readUInt32LE(at + 12);
    if (offsetHigh !== 0 || offsetLow < 8 + count * 16 || size > bytes.length - offsetLow) {
      malformed();
    }
    const buffer = {
      type,
      offset: offsetLow,
      size,
      data: bytes.subarray(offsetLow, offsetLow + size),
    };
    buffers.push(buffer);
    if (type === PacBufferType.SERVER_CHECKSUM) {
      if (serverSignature !== undefined) malformed(); // MS-PAC §2.4: at most one of each
      serverSignature = parseSignature(bytes, buffer);
    } else if (type === PacBufferType.PRIVSVR_CHECKSUM) {
      if (kdcSignature !== undefined) malformed();
      kdcSignature = parseSignature(bytes, buffer);
    }
  }
  return { bytes, buffers, serverSignature, kdcSignature };
}

/** The first buffer of `type`, if any (LOGON_INFO, CLIENT_INFO, UPN_DNS_INFO occur once). */
export function pacBuffer(pac: Pac, type: number): Buffer | undefined {
  return pac.buffers.find((b) => b.type === type)?.data;
}

/** The PAC with both signatures' bytes zeroed: the data the server checksum covers. */
export function pacSigningInput(pac: Pac): Buffer {
  const copy = Buffer.from(pac.bytes);
  for (const signature of [pac.serverSignature, pac.kdcSignature]) {
    if (signature !== undefined) {
      copy.fill(
        0,
        signature.signatureOffset,
        signature.signatureOffset + signature.signature.length,
      );
    }
  }
  return copy;
}

/**
 * Verify the PAC server signature with the service key (MS-PAC §2.8.1, usage 17). The KDC
 * signature needs the krbtgt key, which a service does not have; it is parsed, not verified.
 * A PAC without a server signature fails: the PAC would otherwise be forgeable by the client.
 */
export function verifyPacServerSignature(pac: Pac, serviceKey: KerberosKey): void {
  const server = pac.serverSignature;
  if (server === undefined || pac.kdcSignature === undefined) malformed();
  let ok = false;
  try {
    ok = verifyChecksum(
      server.type,
      serviceKey,
      KeyUsage.KERB_NON_KERB_CKSUM_SALT,
      pacSigningInput(pac),
      server.signature,
    );
  } catch {
    ok = false;
  }
  if (!ok) malformed();
}
