/**
 * NegTokenResp, every SPNEGO token after the first, in both directions (RFC 4178 §4.2.2). It is
 * sent bare, as the NegotiationToken CHOICE tag [1] without the RFC 2743 framing:
 *
 *   NegTokenResp ::= SEQUENCE {
 *       negState       [0] ENUMERATED {
 *           accept-completed    (0),
 *           accept-incomplete   (1),
 *           reject              (2),
 *           request-mic         (3)
 *       }                                 OPTIONAL,
 *       supportedMech   [1] MechType      OPTIONAL,
 *       responseToken   [2] OCTET STRING  OPTIONAL,
 *       mechListMIC     [3] OCTET STRING  OPTIONAL,
 *       ...
 *   }
 */
import {
  MAX_DER_BYTES,
  Tag,
  contextFields,
  contextTag,
  content,
  encodeOid,
  expectTag,
  readOctetString,
  readOid,
  readTlv,
  tlvSize,
  writeTlvHeader,
} from '../asn1/der.js';
import { fail } from '../errors.js';
import { asSpnegoMalformed } from './der-errors.js';

/**
 * The negState values of a NegTokenResp (RFC 4178 §4.2.2): accept-completed, accept-incomplete,
 * reject, request-mic.
 */
export const NEG_STATE = {
  acceptCompleted: 0,
  acceptIncomplete: 1,
  reject: 2,
  requestMic: 3,
} as const;

/** One of the {@link NEG_STATE} values (RFC 4178 §4.2.2). */
export type NegState = (typeof NEG_STATE)[keyof typeof NEG_STATE];

export const NEG_TOKEN_RESP_TAG = contextTag(1);

/**
 * NegTokenResp (RFC 4178 §4.2.2), every SPNEGO token after the first in either direction: the
 * state, the mechanism the acceptor chose, the mechanism's token and the mechListMIC.
 */
export interface NegTokenResp {
  readonly negState?: NegState;
  readonly supportedMech?: string;
  readonly responseToken?: Buffer;
  readonly mechListMIC?: Buffer;
}

function decodeNegState(node: ReturnType<typeof readTlv>): NegState {
  expectTag(node, Tag.ENUMERATED);
  const bytes = content(node);
  // Values 0..3 always fit one octet in DER.
  if (bytes.length !== 1 || (bytes[0] as number) > 3) fail('ERR_HTTPAUTH_SPNEGO_MALFORMED');
  return bytes[0] as NegState;
}

/**
 * Decodes a bare NegTokenResp (RFC 4178 §4.2.2, CHOICE tag [1]). Throws
 * `ERR_HTTPAUTH_SPNEGO_MALFORMED` on bad or oversized DER or an unknown negState.
 */
export function decodeNegTokenResp(token: Buffer): NegTokenResp {
  return asSpnegoMalformed(() => {
    if (token.length > MAX_DER_BYTES) fail('ERR_HTTPAUTH_SPNEGO_MALFORMED');
    const choice = readTlv(token, 0, token.length);
    if (choice.tag !== NEG_TOKEN_RESP_TAG || choice.end !== token.length) {
      fail('ERR_HTTPAUTH_SPNEGO_MALFORMED');
    }
    const sequence = readTlv(token, choice.contentStart, choice.end);
    if (sequence.end !== choice.end) fail('ERR_HTTPAUTH_SPNEGO_MALFORMED');
    const [stateNode, mechNode, tokenNode, micNode] = contextFields(sequence, 3, []);
    const result: {
      negState?: NegState;
      supportedMech?: string;
      responseToken?: Buffer;
      mechListMIC?: Buffer;
    } = {};
    if (stateNode !== undefined) result.negState = decodeNegState(stateNode);
    if (mechNode !== undefined) result.supportedMech = readOid(mechNode);
    if (tokenNode !== undefined) result.responseToken = readOctetString(tokenNode);
    if (micNode !== undefined) result.mechListMIC = readOctetString(micNode);
    return result;
  });
}

/**
 * Encodes a NegTokenResp (RFC 4178 §4.2.2), as the server sends it in `WWW-Authenticate:
 * Negotiate`. Sized from its fields and written into one Buffer: it wraps the AP-REP of every
 * Kerberos request (the same DER as nesting the generic encoders; spnego-codec.test.ts checks).
 */
export function encodeNegTokenResp(fields: NegTokenResp): Buffer {
  const { negState, responseToken, mechListMIC } = fields;
  const mechOid = fields.supportedMech === undefined ? undefined : encodeOid(fields.supportedMech);
  // Each field is [n] EXPLICIT around one TLV; negState's ENUMERATED is one octet (0..3).
  const sequence =
    (negState === undefined ? 0 : tlvSize(tlvSize(1))) +
    (mechOid === undefined ? 0 : tlvSize(mechOid.length)) +
    (responseToken === undefined ? 0 : tlvSize(tlvSize(responseToken.length))) +
    (mechListMIC === undefined ? 0 : tlvSize(tlvSize(mechListMIC.length)));
  const out = Buffer.allocUnsafe(tlvSize(tlvSize(sequence)));
  let pos = writeTlvHeader(out, 0, NEG_TOKEN_RESP_TAG, tlvSize(sequence));
  pos = writeTlvHeader(out, pos, Tag.SEQUENCE, sequence);
  if (negState !== undefined) {
    pos = writeTlvHeader(out, pos, contextTag(0), tlvSize(1));
    pos = writeTlvHeader(out, pos, Tag.ENUMERATED, 1);
    out[pos++] = negState;
  }
  if (mechOid !== undefined) {
    pos = writeTlvHeader(out, pos, contextTag(1), mechOid.length);
    pos += mechOid.copy(out, pos);
  }
  for (const [n, bytes] of [
    [2, responseToken],
    [3, mechListMIC],
  ] as const) {
    if (bytes === undefined) continue;
    pos = writeTlvHeader(out, pos, contextTag(n), tlvSize(bytes.length));
    pos = writeTlvHeader(out, pos, Tag.OCTET_STRING, bytes.length);
    out.set(bytes, pos);
    pos += bytes.length;
  }
  return out;
}
