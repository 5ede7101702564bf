/**
 * @httpauth/gateway: a reverse proxy that authenticates with httpauth and forwards the identity
 * in headers. Explicit named exports only.
 */
export { createGateway } from './gateway.js';
export type { Gateway, GatewayOptions } from './gateway.js';
export { GatewayConfigError, loadConfig, validateConfig, ENVIRONMENT } from './config.js';
export type {
  ConfigOverrides,
  GatewayConfig,
  RedisStoreConfig,
  RouteConfig,
  RuleConfig,
  StoreConfig,
} from './config.js';
export {
  encodeHeaderValue,
  identityValues,
  signIdentity,
  verifyIdentitySignature,
} from './identity.js';
export type {
  IdentityHeaderNames,
  IdentityRequestHeaders,
  IdentityValues,
  VerifyOptions,
} from './identity.js';
export type { GatewayMetrics } from './metrics.js';
export type { PathCase } from './canonical-path.js';
export type {
  BasicConfig,
  CertificateIssuerConfig,
  CertificateMappingConfig,
  ClientCertificatesConfig,
  BasicKerberosConfig,
  DigestConfig,
  DirectoryConfig,
  DomainControllerConfig,
  MechanismName,
  NegotiateConfig,
  NtlmConfig,
} from './config-types.js';
export { main, HELP } from './cli.js';
