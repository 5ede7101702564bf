/**
 * OCSP messages (RFC 6960): the request for one certificate, and the basic response with its
 * signature checked against the issuer or a responder the issuer delegated to (§4.2.2.2). The
 * request carries no nonce (the RFC 5019 lightweight profile CAs serve, which lets responses be
 * cached until nextUpdate). Decoding failures throw ERR_HTTPAUTH_ASN1_MALFORMED only.
 */
import { createHash, verify as verifySignature, type X509Certificate } from 'node:crypto';
import {
  Tag,
  children,
  content,
  contextTag,
  decodeDer,
  encodeOctetString,
  encodeOid,
  encodeSequence,
  encodeTlv,
  expectTag,
  raw,
  readOid,
  readTlv,
  type DerNode,
} from '../asn1/der.js';
import { fail } from '../errors.js';
import { decodeExtKeyUsage, OID_EXT_KEY_USAGE } from './extensions.js';
import { SIGNATURE_DIGESTS } from './crl.js';
import { integerHex, parseCertificate, readX509Time } from './x509.js';

/** An OCSP response larger than this is refused (one status and a responder certificate). */
export const MAX_OCSP_RESPONSE_BYTES = 64 * 1024;
const OID_SHA1 = '1.3.14.3.2.26';
const OID_BASIC_RESPONSE = '1.3.6.1.5.5.7.48.1.1';
/** id-kp-OCSPSigning (RFC 6960 §4.2.2.2). */
const OID_OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';

function malformed(): never {
  fail('ERR_HTTPAUTH_ASN1_MALFORMED');
}

/** CertID (RFC 6960 §4.1.1) with SHA-1, as RFC 5019 §2.1.1 asks of clients. */
export interface CertId {
  readonly issuerNameHash: Buffer;
  readonly issuerKeyHash: Buffer;
  readonly serialHex: string;
}

/** The issuer key hash is over the subjectPublicKey BIT STRING's value, not the whole SPKI. */
function subjectPublicKeyBits(issuer: X509Certificate): Buffer {
  const spki = decodeDer(issuer.publicKey.export({ type: 'spki', format: 'der' }), Tag.SEQUENCE);
  const bits = content(expectTag(children(spki)[1] ?? malformed(), Tag.BIT_STRING));
  return bits.subarray(1);
}

export function certId(issuer: X509Certificate, serialHex: string): CertId {
  const sha1 = (data: Buffer) => createHash('sha1').update(data).digest();
  return {
    issuerNameHash: sha1(parseCertificate(issuer.raw).subjectDer),
    issuerKeyHash: sha1(subjectPublicKeyBits(issuer)),
    serialHex,
  };
}

function encodeSerial(serialHex: string): Buffer {
  let bytes = Buffer.from(serialHex.length % 2 === 0 ? serialHex : `0${serialHex}`, 'hex');
  if (((bytes[0] as number) & 0x80) !== 0) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return encodeTlv(Tag.INTEGER, bytes);
}

/** OCSPRequest ::= SEQUENCE { tbsRequest SEQUENCE { requestList SEQUENCE OF Request } }. */
export function encodeOcspRequest(id: CertId): Buffer {
  const algorithm = encodeSequence(encodeOid(OID_SHA1), encodeTlv(Tag.NULL));
  const reqCert = encodeSequence(
    algorithm,
    encodeOctetString(id.issuerNameHash),
    encodeOctetString(id.issuerKeyHash),
    encodeSerial(id.serialHex),
  );
  return encodeSequence(encodeSequence(encodeSequence(encodeSequence(reqCert))));
}

export type OcspCertStatus = 'good' | 'revoked' | 'unknown';

export interface SingleResponse {
  readonly issuerNameHash: Buffer;
  readonly issuerKeyHash: Buffer;
  readonly hashAlgorithm: string;
  readonly serialHex: string;
  readonly status: OcspCertStatus;
  readonly thisUpdate: number;
  readonly nextUpdate: number | undefined;
}

export interface BasicResponse {
  readonly tbsDer: Buffer;
  readonly signatureAlgorithm: string;
  readonly signature: Buffer;
  readonly certificates: readonly Buffer[];
  readonly responses: readonly SingleResponse[];
}

function readSingleResponse(node: DerNode): SingleResponse {
  const [id, status, thisUpdate, ...rest] = children(expectTag(node, Tag.SEQUENCE));
  if (id === undefined || status === undefined || thisUpdate === undefined) malformed();
  const [algorithm, nameHash, keyHash, serial, ...more] = children(expectTag(id, Tag.SEQUENCE));
  if (algorithm === undefined || nameHash === undefined || keyHash === undefined) malformed();
  if (serial === undefined || more.length > 0) malformed();
  const [algorithmOid] = children(expectTag(algorithm, Tag.SEQUENCE));
  let certStatus: OcspCertStatus;
  if (status.tag === 0x80 && status.end === status.contentStart) certStatus = 'good';
  else if (status.tag === 0xa1) certStatus = 'revoked';
  else if (status.tag === 0x82 && status.end === status.contentStart) certStatus = 'unknown';
  else return malformed();
  let nextUpdate: number | undefined;
  for (const optional of rest) {
    if (optional.tag === contextTag(0) && nextUpdate === undefined) {
      const inner = readTlv(optional.buf, optional.contentStart, optional.end);
      if (inner.end !== optional.end || inner.tag !== Tag.GENERALIZED_TIME) malformed();
      nextUpdate = readX509Time(inner);
    } else if (optional.tag !== contextTag(1)) {
      malformed(); // [1] singleExtensions are ignored (none is critical in practice)
    }
  }
  return {
    hashAlgorithm: readOid(algorithmOid ?? malformed()),
    issuerNameHash: content(expectTag(nameHash, Tag.OCTET_STRING)),
    issuerKeyHash: content(expectTag(keyHash, Tag.OCTET_STRING)),
    serialHex: integerHex(serial),
    status: certStatus,
    thisUpdate: readX509Time(expectTag(thisUpdate, Tag.GENERALIZED_TIME)),
    nextUpdate,
  };
}

/**
 * OCSPResponse (RFC 6960 §4.2.1). Returns undefined for a well-formed response whose status is
 * not successful (tryLater, unauthorized...): the responder cannot answer.
 */
export function parseOcspResponse(der: Buffer): BasicResponse | undefined {
  const response = decodeDer(der, Tag.SEQUENCE, MAX_OCSP_RESPONSE_BYTES);
  const [status, bytes, ...extra] = children(response);
  if (status === undefined || extra.length > 0) malformed();
  const code = content(expectTag(status, Tag.ENUMERATED));
  if (code.length !== 1) malformed();
  if (code[0] !== 0) return bytes === undefined ? undefined : malformed();
  if (bytes === undefined || bytes.tag !== contextTag(0)) return malformed();
  const [responseBytes, ...more] = children(bytes);
  if (responseBytes === undefined || more.length > 0) malformed();
  const [type, octets, ...tail] = children(expectTag(responseBytes, Tag.SEQUENCE));
  if (type === undefined || octets === undefined || tail.length > 0) malformed();
  if (readOid(type) !== OID_BASIC_RESPONSE) malformed();
  const basic = decodeDer(content(expectTag(octets, Tag.OCTET_STRING)), Tag.SEQUENCE);
  const [tbs, algorithm, signature, certs, ...rest] = children(basic);
  if (tbs === undefined || algorithm === undefined || signature === undefined) malformed();
  if (rest.length > 0) malformed();
  const bits = content(expectTag(signature, Tag.BIT_STRING));
  if (bits.length < 2 || bits[0] !== 0) malformed();
  const certificates: Buffer[] = [];
  if (certs !== undefined) {
    if (certs.tag !== contextTag(0)) malformed();
    const [list, ...others] = children(certs);
    if (list === undefined || others.length > 0) malformed();
    for (const certificate of children(expectTag(list, Tag.SEQUENCE))) {
      certificates.push(raw(expectTag(certificate, Tag.SEQUENCE)));
    }
  }
  const fields = children(expectTag(tbs, Tag.SEQUENCE));
  let index = fields[0]?.tag === contextTag(0) ? 1 : 0; // version
  const responder = fields[index++];
  if (responder?.tag !== contextTag(1) && responder?.tag !== contextTag(2)) malformed();
  readX509Time(expectTag(fields[index++] ?? malformed(), Tag.GENERALIZED_TIME)); // producedAt
  const list = children(expectTag(fields[index++] ?? malformed(), Tag.SEQUENCE));
  if (list.length === 0 || list.length > 64) malformed();
  return {
    tbsDer: raw(tbs),
    signatureAlgorithm: readOid(children(expectTag(algorithm, Tag.SEQUENCE))[0] ?? malformed()),
    signature: bits.subarray(1),
    certificates,
    responses: list.map(readSingleResponse),
  };
}

function signedBy(response: BasicResponse, signer: X509Certificate): boolean {
  const digest = SIGNATURE_DIGESTS.get(response.signatureAlgorithm);
  if (digest === undefined) return false;
  try {
    return verifySignature(digest, response.tbsDer, signer.publicKey, response.signature);
  } catch {
    return false;
  }
}

/**
 * True when the issuer signed the response, or a responder certificate included in it that the
 * issuer issued for OCSP signing (RFC 6960 §4.2.2.2) and that is valid at `now`.
 */
export function responseSignedFor(
  response: BasicResponse,
  issuer: X509Certificate,
  now: number,
  load: (der: Buffer) => X509Certificate,
): boolean {
  if (signedBy(response, issuer)) return true;
  for (const der of response.certificates) {
    try {
      const responder = load(der);
      if (!responder.checkIssued(issuer) || !responder.verify(issuer.publicKey)) continue;
      const parsed = parseCertificate(der);
      if (now < parsed.notBefore || now > parsed.notAfter) continue;
      const eku = parsed.extensions.get(OID_EXT_KEY_USAGE);
      if (eku === undefined || !decodeExtKeyUsage(eku.value).includes(OID_OCSP_SIGNING)) continue;
      if (signedBy(response, responder)) return true;
    } catch {
      continue;
    }
  }
  return false;
}

/** The single response about `id` (SHA-1 CertID), if the responder sent one. */
export function findResponse(response: BasicResponse, id: CertId): SingleResponse | undefined {
  return response.responses.find(
    (single) =>
      single.hashAlgorithm === OID_SHA1 &&
      single.serialHex === id.serialHex &&
      single.issuerNameHash.equals(id.issuerNameHash) &&
      single.issuerKeyHash.equals(id.issuerKeyHash),
  );
}
