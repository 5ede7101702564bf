// Public API of the digest security package: explicit named exports only. Wire helpers carry
// "Digest" in their names so they cannot collide with other packages' exports in core's index.
export { digest } from './digest.js';
export type { DigestOptions } from './options.js';
export { DIGEST_ALGORITHMS, DIGEST_HASHES } from './algorithms.js';
export type { DigestAlgorithm, DigestHash } from './algorithms.js';
export type { DigestQop } from './compute.js';
export {
  clientResponse as digestClientResponse,
  computeHa1 as digestHa1,
  computeUserhash as digestUserhash,
} from './compute.js';
export type { ClientResponseInputs as DigestClientResponseInputs } from './compute.js';
export {
  decodeChallenge as decodeDigestChallenge,
  encodeChallenge as encodeDigestChallenge,
} from './challenge.js';
export type { DigestChallenge } from './challenge.js';
export {
  decodeCredentials as decodeDigestCredentials,
  encodeCredentials as encodeDigestCredentials,
} from './credentials.js';
export type { DigestCredentials, DigestCredentialsInput } from './credentials.js';
export {
  decodeAuthenticationInfo as decodeDigestAuthenticationInfo,
  encodeAuthenticationInfo as encodeDigestAuthenticationInfo,
} from './authentication-info.js';
export type { AuthenticationInfo as DigestAuthenticationInfo } from './authentication-info.js';
export { digestCallback, digestFile, digestFileLine, htdigestFile } from './sources.js';
export type {
  DigestCallbackOptions,
  DigestCredentialCallback,
  DigestCredentialSource,
  DigestSecret,
} from './sources.js';
export type { WatchedFileOptions } from '../credentials/watched-file.js';
