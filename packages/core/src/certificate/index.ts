export {
  clientCertificate,
  type CertificateContext,
  type ClientCertificateOptions,
  type ConnectionResult,
  type ConnectionSecurityPackage,
  type RevocationOptions,
} from './client-certificate.js';
export type { ExplicitMapping, MappingRule, CertificateSidResolver } from './mapping.js';
export type {
  CertificateAccountLookup,
  CertificateAccountQuery,
  DirectoryAccount,
} from './directory-mapping.js';
export type { OcspOptions } from './ocsp-client.js';
export { peerChain, type PeerCertificateLike } from './peer-chain.js';
