/**
 * bind (PTYPE 11) and its answers bind_ack (12) / bind_nak (13), C706 §12.6.4.3-5:
 *
 *   bind:     max_xmit_frag u16 | max_recv_frag u16 | assoc_group_id u32 | n_context_elem u8 |
 *             reserved (3) | p_cont_id u16 | n_transfer_syn u8 | reserved u8 | abstract syntax (20) |
 *             transfer syntax (20)
 *   bind_ack: max_xmit_frag u16 | max_recv_frag u16 | assoc_group_id u32 | sec_addr (u16 length +
 *             string) | pad to 4 | n_results u8 | reserved (3) | results (result u16, reason u16,
 *             transfer syntax (20)) each
 *
 * One presentation context (id 0), NDR20 transfer syntax: all NETLOGON and the endpoint mapper need.
 */
import type { Pdu, SecTrailer, SyntaxId } from './pdu.js';
import {
  COMMON_HEADER_LENGTH,
  MAX_FRAGMENT,
  NDR_SYNTAX,
  PFC_FIRST_FRAG,
  PFC_LAST_FRAG,
  PTYPE_BIND,
  PTYPE_BIND_ACK,
  PTYPE_BIND_NAK,
  assemblePdu,
  encodeSyntax,
} from './pdu.js';
import { RpcError, malformed } from './rpc-error.js';

export function encodeBind(
  callId: number,
  abstract: SyntaxId,
  auth?: { trailer: SecTrailer; value: Buffer },
): Buffer {
  const body = Buffer.alloc(8 + 4 + 4);
  body.writeUInt16LE(MAX_FRAGMENT, 0);
  body.writeUInt16LE(MAX_FRAGMENT, 2);
  body.writeUInt32LE(0, 4); // new association group
  body[8] = 1; // one context element
  body.writeUInt16LE(0, 12); // p_cont_id
  body[14] = 1; // one transfer syntax
  const full = Buffer.concat([body, encodeSyntax(abstract), encodeSyntax(NDR_SYNTAX)]);
  return assemblePdu(PTYPE_BIND, PFC_FIRST_FRAG | PFC_LAST_FRAG, callId, full, auth);
}

export interface BindAck {
  readonly maxXmitFrag: number;
  readonly maxRecvFrag: number;
  readonly assocGroupId: number;
  /** The server's auth_value (NL_AUTH_MESSAGE for schannel), when it sent one. */
  readonly authValue: Buffer | undefined;
}

/** bind_nak reasons and rejected contexts (result != 0) become RPC_PROTOCOL. */
export function decodeBindAck(pdu: Pdu): BindAck {
  if (pdu.header.type === PTYPE_BIND_NAK) {
    const reason = pdu.body.length >= 2 ? pdu.body.readUInt16LE(0) : 0;
    throw new RpcError('RPC_BIND_REFUSED', 'bind refused (bind_nak)', reason);
  }
  if (pdu.header.type !== PTYPE_BIND_ACK) {
    throw new RpcError('RPC_PROTOCOL', `expected bind_ack, got PDU type ${pdu.header.type}`);
  }
  const body = pdu.body;
  if (body.length < 10) malformed('bind_ack (truncated)');
  const secAddrLength = body.readUInt16LE(8);
  let pos = 10 + secAddrLength;
  // Pad to 4 measured from the start of the PDU (C706 §12.6.4.4).
  pos += (4 - ((COMMON_HEADER_LENGTH + pos) % 4)) % 4;
  if (pos + 4 > body.length) malformed('bind_ack (truncated result list)');
  const results = body[pos] as number;
  pos += 4;
  if (results < 1 || pos + 24 * results > body.length) malformed('bind_ack (result list)');
  const result = body.readUInt16LE(pos);
  if (result !== 0) {
    throw new RpcError(
      'RPC_BIND_REFUSED',
      'presentation context rejected',
      body.readUInt16LE(pos + 2),
    );
  }
  const transfer = body.subarray(pos + 4, pos + 24);
  if (!transfer.equals(encodeSyntax(NDR_SYNTAX))) malformed('bind_ack (transfer syntax)');
  return {
    maxXmitFrag: body.readUInt16LE(0),
    maxRecvFrag: body.readUInt16LE(2),
    assocGroupId: body.readUInt32LE(4),
    authValue: pdu.authValue === undefined ? undefined : Buffer.from(pdu.authValue),
  };
}
