// Public API of the negotiate security package: explicit named exports only.
export { negotiate } from './negotiate.js';
export type {
  NegotiateKerberosOptions,
  NegotiateNtlmOptions,
  NegotiateOptions,
  NegotiatePackage,
} from './negotiate.js';
export { NameMapper } from './name-mapping.js';
export type { NameMappingOptions } from './name-mapping.js';
export {
  KRB5_OID as SPNEGO_KRB5_OID,
  MS_KRB5_OID as SPNEGO_MS_KRB5_OID,
  NTLMSSP_OID as SPNEGO_NTLMSSP_OID,
  SPNEGO_OID,
  mechanismOf,
} from './oids.js';
export type { NegotiateMechanism } from './oids.js';
export { decodeNegTokenInit, encodeNegTokenInit, encodeMechTypeList } from './neg-token-init.js';
export type { NegTokenInit, NegTokenInitFields } from './neg-token-init.js';
export { NEG_STATE, decodeNegTokenResp, encodeNegTokenResp } from './neg-token-resp.js';
export type { NegState, NegTokenResp } from './neg-token-resp.js';
export { CONTEXT_FLAGS } from './context-flags.js';
export { classifyNegotiateToken } from './negotiate-token.js';
export type { NegotiateTokenKind } from './negotiate-token.js';
