// Public API of the directory module: names for SIDs.
export { createSidResolver } from './resolver.js';
export type {
  PrincipalDirectory,
  SidNameLookup,
  SidNames,
  SidResolver,
  SidResolverOptions,
} from './resolver.js';
export { canonicalSid, sidFromBytes, sidToBytes } from './sid.js';
export { wellKnownSidName } from './well-known.js';
