/**
 * EncryptedData, EncryptionKey and Checksum (RFC 4120 §5.2.9):
 *
 *   EncryptedData ::= SEQUENCE {
 *     etype  [0] Int32,
 *     kvno   [1] UInt32 OPTIONAL,
 *     cipher [2] OCTET STRING
 *   }
 *   EncryptionKey ::= SEQUENCE { keytype [0] Int32, keyvalue [1] OCTET STRING }
 *   Checksum      ::= SEQUENCE { cksumtype [0] Int32, checksum [1] OCTET STRING }
 */
import {
  contextFields,
  encodeContextSequence,
  encodeInteger,
  encodeOctetString,
  readInt32,
  readOctetString,
  readUInt32,
  type DerNode,
} from '../../asn1/der.js';

/**
 * EncryptedData (RFC 4120 §5.2.9): ciphertext with its enctype and, for data under a long-term key,
 * the key version number.
 */
export interface EncryptedData {
  readonly etype: number;
  readonly kvno: number | undefined;
  readonly cipher: Buffer;
}

/**
 * EncryptionKey (RFC 4120 §5.2.9): a key type (enctype number) and the key bytes, as carried in
 * tickets, authenticators and AP-REPs.
 */
export interface EncryptionKeyValue {
  readonly keytype: number;
  readonly keyvalue: Buffer;
}

export interface ChecksumValue {
  readonly cksumtype: number;
  readonly checksum: Buffer;
}

export function decodeEncryptedData(node: DerNode): EncryptedData {
  const f = contextFields(node, 2, [0, 2]);
  return {
    etype: readInt32(f[0] as DerNode),
    kvno: f[1] === undefined ? undefined : readUInt32(f[1]),
    cipher: readOctetString(f[2] as DerNode),
  };
}

export function encodeEncryptedData(value: EncryptedData): Buffer {
  return encodeContextSequence([
    encodeInteger(value.etype),
    value.kvno === undefined ? undefined : encodeInteger(value.kvno),
    encodeOctetString(value.cipher),
  ]);
}

export function decodeEncryptionKey(node: DerNode): EncryptionKeyValue {
  const f = contextFields(node, 1, [0, 1]);
  return { keytype: readInt32(f[0] as DerNode), keyvalue: readOctetString(f[1] as DerNode) };
}

export function encodeEncryptionKey(value: EncryptionKeyValue): Buffer {
  return encodeContextSequence([encodeInteger(value.keytype), encodeOctetString(value.keyvalue)]);
}

export function decodeChecksum(node: DerNode): ChecksumValue {
  const f = contextFields(node, 1, [0, 1]);
  return { cksumtype: readInt32(f[0] as DerNode), checksum: readOctetString(f[1] as DerNode) };
}

export function encodeChecksum(value: ChecksumValue): Buffer {
  return encodeContextSequence([encodeInteger(value.cksumtype), encodeOctetString(value.checksum)]);
}
