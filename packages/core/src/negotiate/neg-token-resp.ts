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
  encodeContextSequence,
  encodeOctetString,
  encodeOid,
  encodeTlv,
  expectTag,
  readOctetString,
  readOid,
  readTlv,
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
 * Negotiate`.
 */
export function encodeNegTokenResp(fields: NegTokenResp): Buffer {
  const sequence = encodeContextSequence([
    fields.negState === undefined
      ? undefined
      : encodeTlv(Tag.ENUMERATED, Buffer.from([fields.negState])),
    fields.supportedMech === undefined ? undefined : encodeOid(fields.supportedMech),
    fields.responseToken === undefined ? undefined : encodeOctetString(fields.responseToken),
    fields.mechListMIC === undefined ? undefined : encodeOctetString(fields.mechListMIC),
  ]);
  return encodeTlv(NEG_TOKEN_RESP_TAG, sequence);
}
