/**
 * ContextFlags ::= BIT STRING { delegFlag (0), mutualFlag (1), replayFlag (2), sequenceFlag (3),
 *                               anonFlag (4), confFlag (5), integFlag (6) }   (RFC 4178 §4.2.1)
 *
 * Represented as a number whose bit n is ASN.1 bit n (so `flags & CONTEXT_FLAGS.mutual`). RFC 4178
 * says reqFlags SHOULD be omitted and is informational only; we decode it for completeness and
 * never act on it.
 */
import { Tag, encodeTlv, expectTag } from '../asn1/der.js';
import type { DerNode } from '../asn1/der.js';
import { fail } from '../errors.js';

/**
 * The SPNEGO ContextFlags bits (RFC 4178 §4.2.1), as bit masks of the number `reqFlags` decodes to:
 * `flags & CONTEXT_FLAGS.mutual`. Informational only: the engine never acts on them.
 */
export const CONTEXT_FLAGS = {
  deleg: 1 << 0,
  mutual: 1 << 1,
  replay: 1 << 2,
  sequence: 1 << 3,
  anon: 1 << 4,
  conf: 1 << 5,
  integ: 1 << 6,
} as const;

/** Bits beyond the first 4 octets carry no defined flag and are ignored. */
export function decodeContextFlags(node: DerNode): number {
  expectTag(node, Tag.BIT_STRING);
  const length = node.end - node.contentStart;
  if (length < 1) fail('ERR_HTTPAUTH_SPNEGO_MALFORMED');
  const unused = node.buf[node.contentStart] as number;
  if (unused > 7 || (length === 1 && unused !== 0)) fail('ERR_HTTPAUTH_SPNEGO_MALFORMED');
  let flags = 0;
  for (let octet = 0; octet < Math.min(4, length - 1); octet++) {
    const byte = node.buf[node.contentStart + 1 + octet] as number;
    for (let bit = 0; bit < 8; bit++) {
      if ((byte & (0x80 >> bit)) !== 0) flags |= 1 << (octet * 8 + bit);
    }
  }
  return flags >>> 0;
}

/** DER: trailing zero bits dropped and counted as unused (X.690 §11.2.2 for named bit lists). */
export function encodeContextFlags(flags: number): Buffer {
  let highest = -1;
  for (let bit = 0; bit < 32; bit++) if ((flags & (1 << bit)) !== 0) highest = bit;
  if (highest < 0) return encodeTlv(Tag.BIT_STRING, Buffer.from([0]));
  const octets = Math.floor(highest / 8) + 1;
  const body = Buffer.alloc(octets + 1);
  body[0] = octets * 8 - 1 - highest;
  for (let bit = 0; bit <= highest; bit++) {
    if ((flags & (1 << bit)) !== 0) {
      const index = 1 + Math.floor(bit / 8);
      body[index] = (body[index] as number) | (0x80 >> (bit % 8));
    }
  }
  return encodeTlv(Tag.BIT_STRING, body);
}
