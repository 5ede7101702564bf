// Public API of the digest security package: explicit named exports only.
export { digest } from './digest.js';
export type { DigestOptions } from './digest.js';
export { DIGEST_ALGORITHMS, DIGEST_HASHES } from './algorithms.js';
export type { DigestAlgorithm, DigestHash } from './algorithms.js';
export type { DigestQop } from './compute.js';
export { clientResponse, computeHa1, computeUserhash } from './compute.js';
export type { ClientResponseInputs } from './compute.js';
export { decodeChallenge, encodeChallenge } from './challenge.js';
export type { DigestChallenge } from './challenge.js';
export { decodeCredentials, encodeCredentials } from './credentials.js';
export type { DigestCredentials, DigestCredentialsInput } from './credentials.js';
export { decodeAuthenticationInfo, encodeAuthenticationInfo } from './authentication-info.js';
export type { AuthenticationInfo } from './authentication-info.js';
export { digestCallback, digestFile, digestFileLine, htdigestFile } from './sources.js';
export type {
  DigestCallbackOptions,
  DigestCredentialCallback,
  DigestCredentialSource,
  DigestSecret,
} from './sources.js';
export type { WatchedFileOptions } from './watched-file.js';
