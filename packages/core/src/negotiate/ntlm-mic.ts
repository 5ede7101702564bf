/**
 * NTLM's GSS_GetMIC / GSS_VerifyMIC for SPNEGO's mechListMIC (RFC 4178 §5), with extended
 * session security (MS-NLMP §3.4.4.2):
 *
 *   NTLMSSP_MESSAGE_SIGNATURE = Version (01 00 00 00) || Checksum (8) || SeqNum (4, little-endian)
 *   Checksum = HMAC_MD5(SigningKey, SeqNum || Message)[0..7], then, when KEY_EXCH was negotiated,
 *              RC4 under the direction's sealing key.
 *
 * The mechListMIC is the first signed message of the context in either direction, so the sequence
 * number is 0 and the RC4 key stream starts fresh. Without extended session security (the
 * NTLMv1-era §3.4.4.1 signature) there are no signing keys: such contexts cannot produce or verify
 * a mechListMIC here, and Negotiate refuses them when a MIC is required.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { rc4 } from '../crypto/rc4.js';

/** NTLMSSP_NEGOTIATE_KEY_EXCH (MS-NLMP §2.2.2.5, flag W). */
const NEGOTIATE_KEY_EXCH = 0x40000000;
const SIGNATURE_LENGTH = 16;

export interface NtlmMicKeys {
  readonly negotiatedFlags: number;
  readonly signingKey: Buffer | undefined;
  readonly sealingKey: Buffer;
}

/** The signature over `message` with sequence number `seq`, or undefined without signing keys. */
export function ntlmSignature(keys: NtlmMicKeys, message: Buffer, seq = 0): Buffer | undefined {
  if (keys.signingKey === undefined) return undefined;
  const seqBytes = Buffer.alloc(4);
  seqBytes.writeUInt32LE(seq >>> 0, 0);
  let checksum: Buffer = createHmac('md5', keys.signingKey)
    .update(seqBytes)
    .update(message)
    .digest()
    .subarray(0, 8);
  if ((keys.negotiatedFlags & NEGOTIATE_KEY_EXCH) !== 0) checksum = rc4(keys.sealingKey, checksum);
  return Buffer.concat([Buffer.from([1, 0, 0, 0]), checksum, seqBytes]);
}

/** Constant-time check of the peer's first signature (sequence number 0). */
export function ntlmVerifySignature(
  keys: NtlmMicKeys,
  signature: Buffer,
  message: Buffer,
): boolean {
  const expected = ntlmSignature(keys, message, 0);
  if (expected === undefined || signature.length !== SIGNATURE_LENGTH) return false;
  return timingSafeEqual(expected, signature);
}
