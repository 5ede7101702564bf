/**
 * NegTokenInit, the initiator's first SPNEGO token (RFC 4178 §4.2.1), inside the RFC 2743 framing
 * with the SPNEGO OID and the NegotiationToken CHOICE tag [0]:
 *
 *   NegTokenInit ::= SEQUENCE {
 *       mechTypes       [0] MechTypeList,
 *       reqFlags        [1] ContextFlags  OPTIONAL,
 *       mechToken       [2] OCTET STRING  OPTIONAL,
 *       mechListMIC     [3] OCTET STRING  OPTIONAL,
 *       ...
 *   }
 *   MechTypeList ::= SEQUENCE OF MechType      -- MechType ::= OBJECT IDENTIFIER
 *
 * The decoder keeps the exact DER of the MechTypeList as received: the mechListMIC is computed
 * over those bytes (RFC 4178 §5), so re-encoding them could never be trusted to match.
 */
import {
  MAX_DER_BYTES,
  Tag,
  children,
  contextFields,
  contextTag,
  encodeOctetString,
  encodeOid,
  encodeTlv,
  encodeContextSequence,
  raw,
  readOctetString,
  readOid,
  readTlv,
} from '../asn1/der.js';
import { fail } from '../errors.js';
import { decodeContextFlags, encodeContextFlags } from './context-flags.js';
import { asSpnegoMalformed } from './der-errors.js';
import { decodeInitialContextToken, encodeInitialContextToken } from './initial-context-token.js';
import { SPNEGO_OID } from './oids.js';

/** More mechanisms than any client offers (Windows lists four): a bound on the list. */
export const MAX_MECH_TYPES = 32;

/**
 * NegTokenInit (RFC 4178 §4.2.1), the client's first SPNEGO token: the mechanisms it offers, most
 * preferred first, and usually an optimistic token for the first one.
 */
export interface NegTokenInit {
  /** The initiator's mechanisms, most preferred first (dotted OIDs). */
  readonly mechTypes: readonly string[];
  /** The DER of the MechTypeList exactly as received (or as encoded), for mechListMIC. */
  readonly mechTypesDer: Buffer;
  readonly reqFlags?: number;
  /** The optimistic token for mechTypes[0]. */
  readonly mechToken?: Buffer;
  readonly mechListMIC?: Buffer;
}

function decodeMechTypeList(node: ReturnType<typeof readTlv>): string[] {
  if (node.tag !== Tag.SEQUENCE) fail('ERR_HTTPAUTH_SPNEGO_MALFORMED');
  const items = children(node);
  // RFC 4178 §4.2.1: the list is non-empty; an empty list could select nothing anyway.
  if (items.length === 0 || items.length > MAX_MECH_TYPES) fail('ERR_HTTPAUTH_SPNEGO_MALFORMED');
  return items.map((item) => readOid(item));
}

/** Decode the inner NegotiationToken `[0] NegTokenInit` (the bytes after the SPNEGO OID). */
export function decodeNegTokenInitBody(body: Buffer): NegTokenInit {
  return asSpnegoMalformed(() => {
    const choice = readTlv(body, 0, body.length);
    if (choice.tag !== contextTag(0) || choice.end !== body.length) {
      fail('ERR_HTTPAUTH_SPNEGO_MALFORMED');
    }
    const sequence = readTlv(body, choice.contentStart, choice.end);
    if (sequence.end !== choice.end) fail('ERR_HTTPAUTH_SPNEGO_MALFORMED');
    const [mechTypesNode, flagsNode, tokenNode, micNode] = contextFields(sequence, 3, [0]);
    const listNode = mechTypesNode as NonNullable<typeof mechTypesNode>;
    const result: {
      mechTypes: string[];
      mechTypesDer: Buffer;
      reqFlags?: number;
      mechToken?: Buffer;
      mechListMIC?: Buffer;
    } = { mechTypes: decodeMechTypeList(listNode), mechTypesDer: Buffer.from(raw(listNode)) };
    if (flagsNode !== undefined) result.reqFlags = decodeContextFlags(flagsNode);
    if (tokenNode !== undefined) result.mechToken = readOctetString(tokenNode);
    if (micNode !== undefined) result.mechListMIC = readOctetString(micNode);
    return result;
  });
}

/** Decode a whole initial SPNEGO token (0x60 framing, SPNEGO OID, [0] NegTokenInit). */
export function decodeNegTokenInit(token: Buffer): NegTokenInit {
  return asSpnegoMalformed(() => {
    if (token.length > MAX_DER_BYTES) fail('ERR_HTTPAUTH_SPNEGO_MALFORMED');
    const framed = decodeInitialContextToken(token);
    if (framed.mechOid !== SPNEGO_OID) fail('ERR_HTTPAUTH_SPNEGO_MALFORMED');
    return decodeNegTokenInitBody(framed.innerToken);
  });
}

/** The DER MechTypeList for a list of OIDs. */
export function encodeMechTypeList(mechTypes: readonly string[]): Buffer {
  return encodeTlv(Tag.SEQUENCE, ...mechTypes.map((oid) => encodeOid(oid)));
}

/**
 * What `encodeNegTokenInit` writes into a NegTokenInit (RFC 4178 §4.2.1); used by initiators and
 * tests.
 */
export interface NegTokenInitFields {
  readonly mechTypes: readonly string[];
  readonly reqFlags?: number;
  readonly mechToken?: Buffer;
  readonly mechListMIC?: Buffer;
}

/** Encode a complete initial token (tests and initiator-side use). */
export function encodeNegTokenInit(fields: NegTokenInitFields): Buffer {
  const sequence = encodeContextSequence([
    encodeMechTypeList(fields.mechTypes),
    fields.reqFlags === undefined ? undefined : encodeContextFlags(fields.reqFlags),
    fields.mechToken === undefined ? undefined : encodeOctetString(fields.mechToken),
    fields.mechListMIC === undefined ? undefined : encodeOctetString(fields.mechListMIC),
  ]);
  return encodeInitialContextToken(SPNEGO_OID, encodeTlv(contextTag(0), sequence));
}
