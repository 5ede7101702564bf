/**
 * @httpauth/core: what an application uses. Explicit named exports only, curated the way jose
 * curates its root: the authenticator, the security packages and their options, credential
 * sources, stores, sessions, impersonation, authorization rules, errors and events.
 *
 * Message codecs and primitives (NTLM, SPNEGO and Kerberos messages, DER, keytab and ccache
 * formats, crypto profiles, header grammar) are `@httpauth/core/wire`; the Node glue adapters
 * are built on is `@httpauth/core/adapter`; the plain node:http handler is `@httpauth/core/node`.
 *
 * @module @httpauth/core
 */
export { ERROR_CODES, HttpAuthError, isHttpAuthError, statusForKind } from './errors.js';
export type { ErrorCode, ErrorKind, ErrorSpec } from './errors.js';

export type { CertificateMapping, LogonInfo, Mechanism, Principal } from './principal.js';

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

export { clientCertificate, peerChain } from './certificate/index.js';
export type {
  CertificateAccountLookup,
  CertificateAccountQuery,
  CertificateContext,
  CertificateSidResolver,
  ClientCertificateOptions,
  ConnectionResult,
  ConnectionSecurityPackage,
  DirectoryAccount,
  ExplicitMapping,
  MappingRule,
  OcspOptions,
  PeerCertificateLike,
  RevocationOptions,
} from './certificate/index.js';

export { createAuthenticator, errorBody } from './loop/authenticator.js';
export type {
  AuthDecision,
  AuthInfo,
  Authenticator,
  AuthenticatorOptions,
  Header,
  ImpersonationFactory,
} from './loop/authenticator.js';
export type { ConnectionLimits } from './loop/connections.js';

export type { KeyValueStore } from './store/types.js';
export { MemoryStore } from './store/memory.js';
export type { MemoryStoreOptions } from './store/memory.js';

export type { ChannelBindingMode, ChannelBindingOptions } from './channel-binding.js';

export { CHANNEL_CHALLENGE, CHANNEL_FAILURE, CHANNEL_SUCCESS, CHANNEL_WARNING } from './events.js';
export type { ChallengeEvent, FailureEvent, SuccessEvent, WarningEvent } from './events.js';
export { createMetrics } from './metrics/metrics.js';
export type { HttpAuthMetrics, MetricsOptions, MetricsSource } from './metrics/metrics.js';

export { createSidResolver, wellKnownSidName } from './directory/index.js';
export type {
  PrincipalDirectory,
  SidNameLookup,
  SidNames,
  SidResolver,
  SidResolverOptions,
} from './directory/index.js';

export { SessionCookies } from './session/session-cookie.js';
export type {
  SessionData,
  SessionKey,
  SessionOptions,
  SessionRequest,
} from './session/session-cookie.js';
export type { AuthenticatorSessionOptions } from './loop/session-phase.js';

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
export type {
  ConstrainedDelegationOptions,
  ConstrainedDelegationStatus,
} from './impersonation/constrained-delegation.js';
export type { DelegatedFetchInit } from './impersonation/negotiate-fetch.js';
export type { ForwardedTgtOptions } from './impersonation/forwarded-fetch.js';
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

// The security packages, their options and their credential sources.
export { negotiate } from './negotiate/index.js';
export type { NameMappingOptions, NegotiateOptions, NegotiatePackage } from './negotiate/index.js';
export type { NegotiateNtlmOptions } from './negotiate/negotiate.js';
export type { NegotiateKerberosOptions } from './negotiate/kerberos-options.js';
// The mechanisms' acceptors: Negotiate drives them, and they serve protocols other than HTTP.
export {
  KEYTAB_SHARED_KEY_WARNING,
  KerberosAcceptor,
  Keytab,
  KeytabFile,
} from './kerberos/index.js';
export type {
  DelegatedCredential,
  DelegatedTicket,
  KerberosAcceptContext,
  KerberosAcceptorOptions,
  KerberosAcceptResult,
  KerberosPrincipalName,
  KeytabEntry,
} from './kerberos/index.js';
export {
  ntlm,
  NtlmAcceptor,
  NTLM_UNBOUND_WARNING_CODE,
  ntHashVerifier,
  smbpasswdFile,
  winbindVerifier,
} from './ntlm/index.js';
export type {
  NtHashEntry,
  NtHashLookup,
  NtlmAcceptorOptions,
  NtlmBindingOptions,
  NtlmChannelBindingMode,
  NtlmHandshakeState,
  NtlmLogonRequest,
  NtlmLogonResult,
  NtlmName,
  NtlmOptions,
  NtlmSessionContext,
  NtlmStepInput,
  NtlmStepResult,
  NtlmVerifier,
  SmbpasswdOptions,
  SmbpasswdSource,
  WinbindOptions,
  WinbindVerifier,
} from './ntlm/index.js';
export { domainControllerVerifier } from './netlogon/index.js';
export type {
  DomainControllerOptions,
  DomainControllerServer,
  DomainControllerVerifier,
  DomainLogonResult,
  MachineSecretOptions,
  SamInfo4,
} from './netlogon/index.js';
export {
  digest,
  DIGEST_ALGORITHMS,
  DIGEST_HASHES,
  digestCallback,
  digestFile,
  digestFileLine,
  htdigestFile,
} from './digest/index.js';
export type {
  DigestAlgorithm,
  DigestCallbackOptions,
  DigestCredentialCallback,
  DigestCredentialSource,
  DigestHash,
  DigestOptions,
  DigestQop,
  DigestSecret,
  WatchedFileOptions,
} from './digest/index.js';
export { basic, BASIC_KERBEROS_INSECURE_WARNING, htpasswdFile } from './basic/index.js';
export type { BasicKerberosOptions, BasicOptions, BasicVerifier } from './basic/index.js';
export type { SrvRecord, SrvResolver } from './kerberos/client/kdc-discovery.js';
