/**
 * @httpauth/core/wire: message codecs and primitives, for tools, tests and other
 * implementations. Nothing here is needed to authenticate requests: that is the root entry point,
 * `@httpauth/core`. The names are those the root exported before it was curated (CHANGELOG).
 *
 * @module @httpauth/core/wire
 */
export { splitKerberosName } from './principal.js';
export {
  DEFAULT_MAX_HEADER_BYTES,
  formatChallenge,
  parseCredentials,
  quote,
} from './grammar/http-auth.js';
export { channelBindingHash, tlsServerEndPoint } from './channel-binding.js';
export { canonicalSid, sidFromBytes, sidToBytes } from './directory/index.js';

// Kerberos (RFC 4120, RFC 4121, RFC 3961/3962/8009, MS-PAC) and the ccache format of MIT.
export {
  CCACHE_FILE_FORMAT_V4,
  TICKET_FLAGS,
  decodeCcache,
  encodeCcache,
  formatPrincipalName,
  parsePrincipalName,
} from './kerberos/ccache.js';
export type { Ccache, CcacheCredential, CcachePrincipal } from './kerberos/ccache.js';
export {
  gssGetMic,
  gssVerifyMic,
  MIC_TOKEN_ID,
  MicFlags,
  decodeGssToken,
  encodeGssToken,
  isGssFramed,
  KRB5_OID,
  MS_KRB5_OID,
  TokenId,
  decodeGssChecksum,
  encodeGssChecksum,
  GSS_CHECKSUM_TYPE,
  GssFlags,
  encodeKeytab,
  parseKeytab,
  replayKey,
  decodeKrbError,
  encodeKrbError,
  KrbErrorCode,
  decodeApRep,
  decodeEncApRepPart,
  decodeApReq,
  decodePac,
  verifyPacServerSignature,
  PacBufferType,
  decodeLogonInfo,
  decodeUpnDnsInfo,
  EncType,
  ChecksumType,
  KeyUsage,
  encryptionProfile,
  makeKey,
  computeChecksum,
  verifyChecksum,
} from './kerberos/index.js';
export type {
  GssToken,
  GssChecksum,
  KrbError,
  EncApRepPart,
  ApReq,
  Pac,
  KerbValidationInfo,
  UpnDnsInfo,
  EncryptionProfile,
  KerberosKey,
} from './kerberos/index.js';

// SPNEGO (RFC 4178) and the Negotiate name mapping.
export {
  NameMapper,
  SPNEGO_KRB5_OID,
  SPNEGO_MS_KRB5_OID,
  SPNEGO_NTLMSSP_OID,
  SPNEGO_OID,
  mechanismOf,
  decodeNegTokenInit,
  encodeNegTokenInit,
  encodeMechTypeList,
  NEG_STATE,
  decodeNegTokenResp,
  encodeNegTokenResp,
  CONTEXT_FLAGS,
  classifyNegotiateToken,
} from './negotiate/index.js';
export type {
  NegotiateMechanism,
  NegTokenInit,
  NegTokenInitFields,
  NegState,
  NegTokenResp,
  NegotiateTokenKind,
} from './negotiate/index.js';

// NTLM (MS-NLMP).
export {
  NTLMSSP_MECH_OID,
  decodeNtlmToken,
  challengeFlagsFor,
  ntlmMessageType,
  MAX_NEGOTIATE_BYTES,
  parseSmbpasswd,
  ntowfv1,
  ntowfv2,
  ntlmSignKey,
  ntlmSealKey,
  NtlmSessionSecurity,
  isNtlmssp,
  decodeNegotiateMessage,
  encodeNegotiateMessage,
  decodeChallengeMessage,
  encodeChallengeMessage,
  decodeAuthenticateMessage,
  encodeAuthenticateMessage,
  ntlmFlags,
} from './ntlm/index.js';
export type {
  NtlmSessionKeys,
  NegotiateMessage,
  ChallengeMessage,
  AuthenticateMessage,
} from './ntlm/index.js';

// Digest (RFC 7616) and Basic (RFC 7617) messages.
export {
  digestClientResponse,
  digestHa1,
  digestUserhash,
  decodeDigestChallenge,
  encodeDigestChallenge,
  decodeDigestCredentials,
  encodeDigestCredentials,
  decodeDigestAuthenticationInfo,
  encodeDigestAuthenticationInfo,
} from './digest/index.js';
export type {
  DigestClientResponseInputs,
  DigestChallenge,
  DigestCredentials,
  DigestCredentialsInput,
  DigestAuthenticationInfo,
} from './digest/index.js';
export { decodeBasicToken, encodeBasicToken, apr1Crypt } from './basic/index.js';
export type { BasicCredentials } from './basic/index.js';

// The key layout core writes in a KeyValueStore (for store implementations such as @httpauth/redis).
export {
  digestNonceCountKey,
  digestNonceOnceKey,
  digestOwner,
  KERBEROS_REPLAY_PREFIX,
  kerberosReplayKey,
  kerberosReplayOwner,
  ownerQuotaKey,
  sessionRevokedKey,
  STORE_KEY_LAYOUT,
} from './store/keys.js';
export type { StoreKeyKind, StoreKeyName } from './store/keys.js';

// Types the codecs above take or return, so a tool can name what it decodes.
export type { MechanismName } from './mechanism.js';
export type { ApRep } from './kerberos/messages/ap-rep.js';
export type { EncryptedData, EncryptionKeyValue } from './kerberos/messages/encrypted-data.js';
export type { PrincipalName } from './kerberos/messages/principal-name.js';
export type { Ticket } from './kerberos/messages/ticket.js';
export type { CcacheKeyblock, CcacheTypedData } from './kerberos/ccache-format.js';
export type { GroupMembership, SidAndAttributes } from './kerberos/pac/logon-info.js';
export type { PacBuffer, PacSignature } from './kerberos/pac/pac.js';
export type { EncodeAuthenticateOptions } from './ntlm/authenticate-message.js';
export type { AvPair } from './ntlm/av-pairs.js';
export type { Direction } from './ntlm/keys.js';
export type { NtlmVersion } from './ntlm/version.js';
