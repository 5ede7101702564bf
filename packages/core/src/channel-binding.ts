/**
 * Channel bindings: tie an authentication to the TLS connection it was made on, so a token
 * captured or relayed by a man in the middle cannot be used on another connection (IIS calls this
 * Extended Protection). Both NTLM (MsvAvChannelBindings) and Kerberos (the RFC 4121 §4.1.1 Bnd
 * field) carry the MD5 of a gss_channel_bindings_struct whose application data is the RFC 5929
 * `tls-server-end-point` binding.
 */
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import { HttpAuthError } from './errors.js';

/** none: ignore; allow: verify when the client sent one (IIS "Accept"); require: must be present and match. */
export type ChannelBindingMode = 'none' | 'allow' | 'require';

/**
 * The channel-binding option (IIS's Extended Protection): the mode, and behind a TLS-terminating
 * proxy the certificate the proxy presents, from which the RFC 5929 `tls-server-end-point` binding
 * is computed.
 */
export interface ChannelBindingOptions {
  readonly mode?: ChannelBindingMode;
  /**
   * Behind a TLS-terminating proxy: the DER (or PEM) of the certificate the proxy presents to
   * clients, so the binding can be computed here.
   */
  readonly certificate?: Buffer | string;
}

const TLS_SERVER_END_POINT_PREFIX = Buffer.from('tls-server-end-point:', 'ascii');

// Signature algorithm OIDs -> hash, for RFC 5929 §4.1.
const SIGNATURE_HASH: Record<string, string> = {
  '1.2.840.113549.1.1.4': 'md5', // md5WithRSAEncryption
  '1.2.840.113549.1.1.5': 'sha1', // sha1WithRSAEncryption
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.113549.1.1.14': 'sha224',
  '1.2.840.10045.4.1': 'sha1', // ecdsa-with-SHA1
  '1.2.840.10045.4.3.1': 'sha224',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.10040.4.3': 'sha1', // dsa-with-sha1
  '2.16.840.1.101.3.4.3.2': 'sha256', // dsa-with-sha256
};

// Hash algorithm OIDs that appear inside RSASSA-PSS parameters.
const HASH_OID: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

function pemToDer(certificate: Buffer | string): Buffer {
  if (Buffer.isBuffer(certificate) && certificate[0] === 0x30) return certificate;
  const text = certificate.toString();
  const match = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(text);
  if (match === null) throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  return Buffer.from((match[1] as string).replace(/\s+/g, ''), 'base64');
}

/** The hash RFC 5929 §4.1 picks for a certificate: its signature hash, SHA-256 for MD5/SHA-1. */
export function endPointHashAlgorithm(certificateDer: Buffer): string {
  const parsed = asn1js.fromBER(certificateDer);
  const cert = parsed.result;
  if (parsed.offset === -1 || !(cert instanceof asn1js.Sequence)) {
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const algorithm = cert.valueBlock.value[1];
  if (!(algorithm instanceof asn1js.Sequence))
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  const oidBlock = algorithm.valueBlock.value[0];
  if (!(oidBlock instanceof asn1js.ObjectIdentifier)) {
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const oid = oidBlock.valueBlock.toString();
  let hash = SIGNATURE_HASH[oid];
  if (oid === '1.2.840.113549.1.1.10') {
    // RSASSA-PSS: the hash is in the parameters ([0] hashAlgorithm), SHA-1 when absent.
    hash = 'sha1';
    const params = algorithm.valueBlock.value[1];
    if (params instanceof asn1js.Sequence) {
      for (const field of params.valueBlock.value) {
        if (field.idBlock.tagClass === 3 && field.idBlock.tagNumber === 0) {
          const inner = (field as asn1js.Constructed).valueBlock.value[0];
          const innerOid = inner instanceof asn1js.Sequence ? inner.valueBlock.value[0] : undefined;
          if (innerOid instanceof asn1js.ObjectIdentifier) {
            hash = HASH_OID[innerOid.valueBlock.toString()] ?? 'sha256';
          }
        }
      }
    }
  }
  // Unknown (EdDSA and others): RFC 5929 leaves it undefined; SHA-256 is what peers use.
  if (hash === undefined || hash === 'md5' || hash === 'sha1') return 'sha256';
  return hash;
}

/** `tls-server-end-point:` || H(certificate): the channel binding application data. */
export function tlsServerEndPoint(certificate: Buffer | string): Buffer {
  const der = pemToDer(certificate);
  const digest = createHash(endPointHashAlgorithm(der)).update(der).digest();
  return Buffer.concat([TLS_SERVER_END_POINT_PREFIX, digest]);
}

/**
 * MD5 of the gss_channel_bindings_struct (RFC 4121 §4.1.1.2, MS-NLMP 2.2.2.1 MsvAvChannelBindings)
 * with no addresses: initiator and acceptor address types and lengths are zero, then the
 * application data length (uint32 little-endian) and the data itself.
 */
export function channelBindingHash(applicationData: Buffer): Buffer {
  const header = Buffer.alloc(20);
  header.writeUInt32LE(applicationData.length, 16);
  return createHash('md5').update(header).update(applicationData).digest();
}

/** A cache for the per-certificate binding, since a server presents the same few certificates. */
export class ChannelBindingCache {
  readonly #cache = new Map<Buffer, Buffer>();
  readonly #byContent = new Map<string, Buffer>();

  applicationData(certificateDer: Buffer): Buffer {
    let value = this.#cache.get(certificateDer);
    if (value !== undefined) return value;
    const key = certificateDer.toString('base64');
    value = this.#byContent.get(key);
    if (value === undefined) {
      value = tlsServerEndPoint(certificateDer);
      if (this.#byContent.size > 64) this.#byContent.clear();
      this.#byContent.set(key, value);
    }
    if (this.#cache.size > 64) this.#cache.clear();
    this.#cache.set(certificateDer, value);
    return value;
  }
}
