/**
 * request (PTYPE 0), response (2) and fault (3), C706 §12.6.4.9-10 and §12.6.4.7:
 *
 *   request:  alloc_hint u32 | p_cont_id u16 | opnum u16 | stub
 *   response: alloc_hint u32 | p_cont_id u16 | cancel_count u8 | reserved u8 | stub
 *   fault:    alloc_hint u32 | p_cont_id u16 | cancel_count u8 | reserved u8 | status u32 | reserved
 *
 * With an auth verifier the stub is followed by auth_pad_length pad bytes and the trailer;
 * sealing (./schannel.ts) works on stub ‖ pad, so these codecs take and give that span.
 */
import type { Pdu, SecTrailer } from './pdu.js';
import {
  PFC_FIRST_FRAG,
  PFC_LAST_FRAG,
  PTYPE_FAULT,
  PTYPE_REQUEST,
  PTYPE_RESPONSE,
  assemblePdu,
} from './pdu.js';
import { RpcError, malformed } from './rpc-error.js';

export const REQUEST_HEADER_LENGTH = 8;

export function encodeRequest(
  callId: number,
  opnum: number,
  allocHint: number,
  stubAndPad: Buffer,
  auth?: { trailer: SecTrailer; value: Buffer },
): Buffer {
  const fields = Buffer.alloc(REQUEST_HEADER_LENGTH);
  fields.writeUInt32LE(allocHint >>> 0, 0);
  fields.writeUInt16LE(0, 4);
  fields.writeUInt16LE(opnum, 6);
  return assemblePdu(
    PTYPE_REQUEST,
    PFC_FIRST_FRAG | PFC_LAST_FRAG,
    callId,
    Buffer.concat([fields, stubAndPad]),
    auth,
  );
}

/** The opnum and stub (with any auth pad) of a request PDU; used by tests and the fake DC. */
export function decodeRequest(pdu: Pdu): { opnum: number; stubAndPad: Buffer } {
  if (pdu.header.type !== PTYPE_REQUEST) malformed('request (PDU type)');
  if (pdu.body.length < REQUEST_HEADER_LENGTH) malformed('request (truncated)');
  return { opnum: pdu.body.readUInt16LE(6), stubAndPad: pdu.body.subarray(REQUEST_HEADER_LENGTH) };
}

export function encodeResponse(
  callId: number,
  stubAndPad: Buffer,
  auth?: { trailer: SecTrailer; value: Buffer },
): Buffer {
  const fields = Buffer.alloc(REQUEST_HEADER_LENGTH);
  fields.writeUInt32LE(stubAndPad.length, 0);
  return assemblePdu(
    PTYPE_RESPONSE,
    PFC_FIRST_FRAG | PFC_LAST_FRAG,
    callId,
    Buffer.concat([fields, stubAndPad]),
    auth,
  );
}

export function encodeFault(callId: number, status: number): Buffer {
  const body = Buffer.alloc(16);
  body.writeUInt32LE(status >>> 0, 8);
  return assemblePdu(PTYPE_FAULT, PFC_FIRST_FRAG | PFC_LAST_FRAG, callId, body);
}

/**
 * The stub (with any auth pad) of a response PDU. A fault becomes RpcError('RPC_FAULT') carrying
 * its status; any other type is a protocol error.
 */
export function decodeResponse(pdu: Pdu): Buffer {
  if (pdu.header.type === PTYPE_FAULT) {
    const status = pdu.body.length >= 12 ? pdu.body.readUInt32LE(8) : 0;
    throw new RpcError('RPC_FAULT', `RPC fault 0x${status.toString(16)}`, status);
  }
  if (pdu.header.type !== PTYPE_RESPONSE) {
    throw new RpcError('RPC_PROTOCOL', `expected a response, got PDU type ${pdu.header.type}`);
  }
  if (pdu.body.length < REQUEST_HEADER_LENGTH) malformed('response (truncated)');
  return pdu.body.subarray(REQUEST_HEADER_LENGTH);
}
