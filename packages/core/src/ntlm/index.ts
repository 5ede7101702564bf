// Public API of the ntlm security package: explicit named exports only.
export { ntlm, NTLMSSP_MECH_OID, decodeNtlmToken } from './ntlm-package.js';
export type { NtlmOptions } from './ntlm-package.js';
export {
  NtlmAcceptor,
  challengeFlagsFor,
  ntlmMessageType,
  MAX_NEGOTIATE_BYTES,
} from './acceptor.js';
export type {
  NtlmAcceptorOptions,
  NtlmBindingOptions,
  NtlmChannelBindingMode,
  NtlmHandshakeState,
  NtlmName,
  NtlmSessionContext,
  NtlmStepInput,
  NtlmStepResult,
} from './acceptor.js';
export { UNBOUND_WARNING_CODE as NTLM_UNBOUND_WARNING_CODE } from './binding-policy.js';
export { ntHashVerifier } from './credentials.js';
export type {
  NtHashEntry,
  NtHashLookup,
  NtlmLogonRequest,
  NtlmLogonResult,
  NtlmVerifier,
} from './credentials.js';
export { smbpasswdFile, parseSmbpasswd } from './smbpasswd.js';
export { winbindVerifier } from './winbind.js';
export type { WinbindOptions, WinbindVerifier } from './winbind.js';
export type { SmbpasswdOptions, SmbpasswdSource } from './smbpasswd.js';
export { ntowfv1, ntowfv2, signKey as ntlmSignKey, sealKey as ntlmSealKey } from './keys.js';
export { NtlmSessionSecurity } from './session-security.js';
export type { SessionKeys as NtlmSessionKeys } from './session-security.js';
export { isNtlmssp } from './wire.js';
export { decodeNegotiateMessage, encodeNegotiateMessage } from './negotiate-message.js';
export type { NegotiateMessage } from './negotiate-message.js';
export { decodeChallengeMessage, encodeChallengeMessage } from './challenge-message.js';
export type { ChallengeMessage } from './challenge-message.js';
export { decodeAuthenticateMessage, encodeAuthenticateMessage } from './authenticate-message.js';
export type { AuthenticateMessage } from './authenticate-message.js';
export * as ntlmFlags from './flags.js';
