/**
 * AS-REQ and TGS-REQ (RFC 4120 §5.4.1), one shape with two application tags:
 *
 *   KDC-REQ ::= SEQUENCE {
 *     -- NOTE: first tag is [1], not [0]
 *     pvno     [1] INTEGER (5),
 *     msg-type [2] INTEGER (10 -- AS -- | 12 -- TGS --),
 *     padata   [3] SEQUENCE OF PA-DATA OPTIONAL,
 *     req-body [4] KDC-REQ-BODY
 *   }
 *   AS-REQ  ::= [APPLICATION 10] KDC-REQ
 *   TGS-REQ ::= [APPLICATION 12] KDC-REQ
 *
 * The request body is passed already encoded: the TGS-REQ's authenticator checksums exactly those
 * bytes (§5.4.1 "checksum over the KDC-REQ-BODY"), so they must not be re-encoded afterwards.
 */
import {
  applicationTag,
  contextFields,
  decodeDer,
  encodeContextSequence,
  encodeInteger,
  encodeTlv,
  readInteger,
  unwrap,
  Tag,
  type DerNode,
} from '../../asn1/der.js';
import { decodeKdcReqBodyNode, type KdcReqBody } from './kdc-req-body.js';
import { decodePaDataSequence, encodePaDataSequence, type PaData } from './pa-data.js';

export const MSG_TYPE_AS_REQ = 10;
export const MSG_TYPE_TGS_REQ = 12;
export const AS_REQ_TAG = applicationTag(MSG_TYPE_AS_REQ);
export const TGS_REQ_TAG = applicationTag(MSG_TYPE_TGS_REQ);

export type KdcReqType = typeof MSG_TYPE_AS_REQ | typeof MSG_TYPE_TGS_REQ;

export interface KdcReq {
  readonly msgType: KdcReqType;
  readonly padata: readonly PaData[];
  readonly body: KdcReqBody & { readonly der: Buffer };
}

/** An AS-REQ or TGS-REQ around an encoded KDC-REQ-BODY. */
export function encodeKdcReq(msgType: KdcReqType, padata: readonly PaData[], body: Buffer): Buffer {
  return encodeTlv(
    applicationTag(msgType),
    encodeContextSequence([
      undefined,
      encodeInteger(5),
      encodeInteger(msgType),
      padata.length === 0 ? undefined : encodePaDataSequence(padata),
      body,
    ]),
  );
}

export function decodeKdcReq(der: Buffer, msgType: KdcReqType): KdcReq {
  const f = contextFields(
    unwrap(decodeDer(der, applicationTag(msgType)), Tag.SEQUENCE),
    4,
    [1, 2, 4],
  );
  readInteger(f[1] as DerNode, 5, 5);
  readInteger(f[2] as DerNode, msgType, msgType);
  return {
    msgType,
    padata: f[3] === undefined ? [] : decodePaDataSequence(f[3]),
    body: decodeKdcReqBodyNode(f[4] as DerNode),
  };
}
