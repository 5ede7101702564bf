/**
 * @httpauth/core: the public API. Explicit named exports only; everything else is internal.
 */
export { ERROR_CODES, HttpAuthError, isHttpAuthError, statusForKind } from './errors.js';
export type { ErrorCode, ErrorKind } from './errors.js';

export type { LogonInfo, Mechanism, Principal } from './principal.js';
export { splitKerberosName } from './principal.js';

export type {
  AcceptContext,
  AcceptResult,
  AuthRequest,
  Connection,
  Credentials,
  HandshakeSlot,
  HeaderBag,
  SecurityContextData,
  SecurityPackage,
} from './security-package.js';

export { createAuthenticator, errorBody } from './loop/authenticator.js';
export type {
  AuthDecision,
  AuthInfo,
  Authenticator,
  AuthenticatorOptions,
  Header,
  ImpersonationFactory,
} from './loop/authenticator.js';
export {
  DEFAULT_MAX_HEADER_BYTES,
  formatChallenge,
  parseCredentials,
  quote,
} from './grammar/http-auth.js';
export type { ConnectionLimits } from './loop/connections.js';

export type { KeyValueStore } from './store/types.js';
export { MemoryStore } from './store/memory.js';
export type { MemoryStoreOptions } from './store/memory.js';
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

export { channelBindingHash, tlsServerEndPoint } from './channel-binding.js';
export type { ChannelBindingMode, ChannelBindingOptions } from './channel-binding.js';

export { CHANNEL_CHALLENGE, CHANNEL_FAILURE, CHANNEL_SUCCESS, CHANNEL_WARNING } from './events.js';
export type { ChallengeEvent, FailureEvent, SuccessEvent, WarningEvent } from './events.js';
export { createMetrics } from './metrics/metrics.js';
export {
  bounded,
  Counter,
  Gauge,
  Histogram,
  labelText,
  MAX_SERIES,
  PROMETHEUS_CONTENT_TYPE,
  renderFamilies,
} from './metrics/exposition.js';
export type { HttpAuthMetrics, MetricsOptions, MetricsSource } from './metrics/metrics.js';

export * from './directory/index.js';

export { SessionCookies } from './session/session-cookie.js';
export type { SessionData, SessionKey, SessionOptions } from './session/session-cookie.js';

export { actingContext, identifyContext } from './impersonation/context.js';
export type {
  ActingContext,
  ImpersonationContext,
  ImpersonationLevel,
  ImpersonationReason,
} from './impersonation/context.js';
export { createImpersonation } from './impersonation/policy.js';
export type {
  ImpersonationAllowlist,
  ImpersonationFactoryWithResources,
  ImpersonationPolicy,
} from './impersonation/policy.js';
export { createPrincipalMapper, isValidLocalName } from './impersonation/mapping.js';
export type { PrincipalMapper, PrincipalMappingOptions } from './impersonation/mapping.js';
export { systemUserDatabase } from './impersonation/posix.js';
export type {
  CachingUserDatabase,
  PosixIdentity,
  SystemUserDatabaseOptions,
  UserDatabase,
} from './impersonation/posix.js';
export type {
  ExecResult,
  ImpersonatedExecOptions,
  ImpersonatedSpawnOptions,
  RunAsSettings,
} from './impersonation/run-as.js';
export type { PlainDelegatedTicket } from './impersonation/delegated.js';
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
  allOf,
  anyOf,
  combineRules,
  requireGroup,
  requireMechanism,
  requireRealm,
  requireThat,
  requireUser,
} from './authorization/authorization.js';
export type { AuthorizationRule, AuthorizationSubject } from './authorization/authorization.js';

export * from './digest/index.js';
export * from './basic/index.js';
export * from './ntlm/index.js';
export * from './netlogon/index.js';
export * from './kerberos/index.js';
export * from './negotiate/index.js';
