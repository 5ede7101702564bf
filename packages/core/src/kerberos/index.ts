// Public API of the kerberos security package: explicit named exports only.
export { KEYTAB_SHARED_KEY_WARNING, KerberosAcceptor } from './acceptor.js';
export type {
  DelegatedCredential,
  DelegatedTicket,
  KerberosAcceptContext,
  KerberosAcceptorOptions,
  KerberosAcceptResult,
  KerberosPrincipalName,
} from './acceptor.js';
export { gssGetMic, gssVerifyMic, MIC_TOKEN_ID, MicFlags } from './gss-mic.js';
export {
  decodeGssToken,
  encodeGssToken,
  isGssFramed,
  KRB5_OID,
  MS_KRB5_OID,
  TokenId,
} from './gss-token.js';
export type { GssToken } from './gss-token.js';
export {
  decodeGssChecksum,
  encodeGssChecksum,
  GSS_CHECKSUM_TYPE,
  GssFlags,
} from './gss-checksum.js';
export type { GssChecksum } from './gss-checksum.js';
export { encodeKeytab, Keytab, KeytabFile, parseKeytab } from './keytab.js';
export type { KeytabEntry } from './keytab.js';
export { replayKey } from './replay-cache.js';
export { decodeKrbError, encodeKrbError, KrbErrorCode } from './messages/krb-error.js';
export type { KrbError } from './messages/krb-error.js';
export { decodeApRep } from './messages/ap-rep.js';
export { decodeEncApRepPart } from './messages/enc-ap-rep-part.js';
export type { EncApRepPart } from './messages/enc-ap-rep-part.js';
export { decodeApReq } from './messages/ap-req.js';
export type { ApReq } from './messages/ap-req.js';
export { decodePac, verifyPacServerSignature, PacBufferType } from './pac/pac.js';
export type { Pac } from './pac/pac.js';
export { decodeLogonInfo } from './pac/logon-info.js';
export type { KerbValidationInfo } from './pac/logon-info.js';
export { decodeUpnDnsInfo } from './pac/upn-dns-info.js';
export type { UpnDnsInfo } from './pac/upn-dns-info.js';
export {
  EncType,
  ChecksumType,
  KeyUsage,
  encryptionProfile,
  makeKey,
  computeChecksum,
  verifyChecksum,
} from './crypto/index.js';
export type { EncryptionProfile, KerberosKey } from './crypto/index.js';
