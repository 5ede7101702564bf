/**
 * The two unauthenticated NETLOGON calls that set up a secure channel (MS-NRPC §3.1.4.1):
 *
 *   NetrServerReqChallenge (opnum 4, §3.5.4.4.1)
 *     in:  [unique, string] PrimaryName | [string] ComputerName | ClientChallenge (8)
 *     out: ServerChallenge (8) | NTSTATUS
 *   NetrServerAuthenticate3 (opnum 26, §3.5.4.4.2)
 *     in:  [unique, string] PrimaryName | [string] AccountName | SecureChannelType (enum, u16) |
 *          [string] ComputerName | ClientCredential (8) | NegotiateFlags u32
 *     out: ServerCredential (8) | NegotiateFlags u32 | AccountRid u32 | NTSTATUS
 */
import { NdrReader, NdrWriter } from './ndr.js';
import { malformed } from './rpc-error.js';

export const OPNUM_REQ_CHALLENGE = 4;
export const OPNUM_AUTHENTICATE3 = 26;
/** WorkstationSecureChannel (§2.2.1.3.13): what a member server uses. */
export const WORKSTATION_SECURE_CHANNEL = 2;
/**
 * What current Windows members request. The DC needs NETLOGON_NEG_SUPPORTS_AES (0x01000000),
 * or it answers STATUS_DOWNGRADE_DETECTED (§3.1.4.2); 0x40000000 asks for secure RPC (schannel).
 */
export const NEGOTIATE_FLAGS = 0x613fffff;
export const NETLOGON_NEG_SUPPORTS_AES = 0x01000000;

export function encodeReqChallenge(
  primaryName: string,
  computerName: string,
  clientChallenge: Buffer,
): Buffer {
  const w = new NdrWriter();
  w.uniqueString(primaryName);
  w.conformantString(computerName);
  w.bytes(clientChallenge);
  return w.toBuffer();
}

export function decodeReqChallengeResponse(stub: Buffer): {
  serverChallenge: Buffer;
  status: number;
} {
  const r = new NdrReader(stub);
  const serverChallenge = r.bytes(8);
  const status = r.u32();
  if (r.remaining > 0) malformed('NetrServerReqChallenge response (trailing bytes)');
  return { serverChallenge, status };
}

export interface Authenticate3Request {
  readonly primaryName: string;
  readonly accountName: string;
  readonly computerName: string;
  readonly clientCredential: Buffer;
  readonly negotiateFlags: number;
}

export function encodeAuthenticate3(request: Authenticate3Request): Buffer {
  const w = new NdrWriter();
  w.uniqueString(request.primaryName);
  w.conformantString(request.accountName);
  w.u16(WORKSTATION_SECURE_CHANNEL);
  w.conformantString(request.computerName);
  w.bytes(request.clientCredential);
  w.u32(request.negotiateFlags);
  return w.toBuffer();
}

export interface Authenticate3Response {
  readonly serverCredential: Buffer;
  readonly negotiateFlags: number;
  readonly accountRid: number;
  readonly status: number;
}

export function decodeAuthenticate3Response(stub: Buffer): Authenticate3Response {
  const r = new NdrReader(stub);
  const serverCredential = r.bytes(8);
  const negotiateFlags = r.u32();
  const accountRid = r.u32();
  const status = r.u32();
  if (r.remaining > 0) malformed('NetrServerAuthenticate3 response (trailing bytes)');
  return { serverCredential, negotiateFlags, accountRid, status };
}
