/**
 * NTLMv2_RESPONSE (MS-NLMP 2.2.2.8) and the NTLMv2_CLIENT_CHALLENGE inside it (2.2.2.7):
 *
 *    0  NTProofStr                 16
 *   16  RespType = 1                1
 *   17  HiRespType = 1              1
 *   18  Reserved1                   2
 *   20  Reserved2                   4
 *   24  TimeStamp (FILETIME)        8
 *   32  ChallengeFromClient         8
 *   40  Reserved3                   4
 *   44  AvPairs ... MsvAvEOL, then padding
 *
 * An NT response of exactly 24 bytes is NTLMv1 (DESL); anything longer must parse as this.
 */
import { fail, HttpAuthError } from '../errors.js';
import type { AvPair } from './av-pairs.js';
import { decodeAvPairs, encodeAvPairs, fileTimeToMs } from './av-pairs.js';

export const NTLMV1_RESPONSE_LENGTH = 24;
export const NT_PROOF_LENGTH = 16;
const CLIENT_CHALLENGE_HEADER = 28;
/** The smallest NTLMv2 response: proof, fixed client-challenge header, MsvAvEOL. */
export const MIN_NTLMV2_RESPONSE_LENGTH = NT_PROOF_LENGTH + CLIENT_CHALLENGE_HEADER + 4;

export interface Ntlmv2Response {
  readonly ntProofStr: Buffer;
  /** Everything after NTProofStr: the HMAC input that follows the server challenge. */
  readonly clientChallengeBlob: Buffer;
  readonly timestamp: Buffer;
  readonly clientChallenge: Buffer;
  readonly avPairs: AvPair[];
}

export function decodeNtlmv2Response(bytes: Buffer): Ntlmv2Response {
  if (bytes.length < MIN_NTLMV2_RESPONSE_LENGTH) fail('ERR_HTTPAUTH_NTLM_MALFORMED');
  // RespType and HiRespType are both 1 (MS-NLMP 2.2.2.7).
  if (bytes[16] !== 1 || bytes[17] !== 1) fail('ERR_HTTPAUTH_NTLM_MALFORMED');
  return {
    ntProofStr: bytes.subarray(0, NT_PROOF_LENGTH),
    clientChallengeBlob: bytes.subarray(NT_PROOF_LENGTH),
    timestamp: bytes.subarray(24, 32),
    clientChallenge: bytes.subarray(32, 40),
    avPairs: decodeAvPairs(bytes.subarray(44)),
  };
}

/** The client-challenge blob ("temp" in MS-NLMP 3.3.2) for a timestamp, challenge and AV pairs. */
export function encodeClientChallengeBlob(
  timestamp: Buffer,
  clientChallenge: Buffer,
  avPairs: readonly AvPair[] | Buffer,
): Buffer {
  if (timestamp.length !== 8 || clientChallenge.length !== 8) fail('ERR_HTTPAUTH_NTLM_MALFORMED');
  const head = Buffer.alloc(CLIENT_CHALLENGE_HEADER);
  head[0] = 1;
  head[1] = 1;
  timestamp.copy(head, 8);
  clientChallenge.copy(head, 16);
  const pairs = Buffer.isBuffer(avPairs) ? avPairs : encodeAvPairs(avPairs);
  return Buffer.concat([head, pairs, Buffer.alloc(4)]);
}

/**
 * The NTLMv2 timestamp (MS-NLMP 3.2.5.1.2: the server may refuse a response whose TimeStamp is
 * too far from its clock) within `windowMs` of now. The refusal tells the operator the client's
 * clock minus ours in seconds (positive: the client is ahead).
 */
export function checkNtlmv2Timestamp(
  response: Ntlmv2Response,
  now: number,
  windowMs: number,
): void {
  const clientTime = fileTimeToMs(Buffer.from(response.timestamp));
  if (Math.abs(now - clientTime) > windowMs) {
    throw new HttpAuthError('ERR_HTTPAUTH_NTLM_TIMESTAMP_SKEW', {
      detail: { check: 'timestamp', clockDifferenceSeconds: Math.round((clientTime - now) / 1000) },
    });
  }
}
