/**
 * Digest algorithms (RFC 7616 §3.2, §6.1 IANA "HTTP Digest Hash Algorithms"): the hash functions
 * and the H / KD helpers every other Digest module computes with.
 *
 *   H(data)          = hex(hash(data))         lower-case hex, RFC 7616 §3.4.1
 *   KD(secret, data) = H(secret ":" data)
 *
 * All strings are hashed as UTF-8 (RFC 7616 §3.4.1 and charset=UTF-8, §4); bodies as raw bytes.
 */
import { createHash, hash as oneShotHash } from 'node:crypto';

/** The hash functions registered for Digest. */
export const DIGEST_HASHES = ['SHA-256', 'SHA-512-256', 'MD5'] as const;
/**
 * A hash function registered for HTTP Digest (RFC 7616 §6.1): SHA-256, SHA-512-256 or MD5.
 * Credential sources say which ones they can serve.
 */
export type DigestHash = (typeof DIGEST_HASHES)[number];

/** Every algorithm token the package can offer: each hash and its session variant (§3.4.2). */
export const DIGEST_ALGORITHMS = [
  'SHA-256',
  'SHA-256-sess',
  'SHA-512-256',
  'SHA-512-256-sess',
  'MD5',
  'MD5-sess',
] as const;
/**
 * An `algorithm` token of an HTTP Digest challenge (RFC 7616 §3.3): a {@link DigestHash} or its
 * `-sess` variant (§3.4.2). `digest({ algorithms })` takes a list of them.
 */
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];

/** OpenSSL names. SHA-512-256 is FIPS 180-4 SHA-512/256 (its own IVs), not truncated SHA-512. */
const OPENSSL_NAME: Readonly<Record<DigestHash, string>> = {
  'SHA-256': 'sha256',
  'SHA-512-256': 'sha512-256',
  MD5: 'md5',
};

/** Length of H(...) in hex characters. */
export const HEX_LENGTH: Readonly<Record<DigestHash, number>> = {
  'SHA-256': 64,
  'SHA-512-256': 64,
  MD5: 32,
};

export interface AlgorithmInfo {
  readonly algorithm: DigestAlgorithm;
  readonly hash: DigestHash;
  /** The -sess variant: HA1 is rekeyed with the nonce and cnonce (RFC 7616 §3.4.2). */
  readonly session: boolean;
}

/** Every algorithm's facts, by its lower-case token: found without a scan or an allocation. */
const BY_TOKEN: ReadonlyMap<string, AlgorithmInfo> = new Map(
  DIGEST_ALGORITHMS.map((algorithm) => {
    const session = algorithm.endsWith('-sess');
    const hash = (session ? algorithm.slice(0, -'-sess'.length) : algorithm) as DigestHash;
    return [algorithm.toLowerCase(), Object.freeze({ algorithm, hash, session })];
  }),
);

/**
 * Find an algorithm by its token, case-insensitively (RFC 7616 §3.3 lists the tokens; clients
 * vary in case). Undefined for anything unknown.
 */
export function algorithmInfo(token: string): AlgorithmInfo | undefined {
  return BY_TOKEN.get(token.toLowerCase());
}

export function isDigestHash(value: unknown): value is DigestHash {
  return typeof value === 'string' && (DIGEST_HASHES as readonly string[]).includes(value);
}

/** H(data): lower-case hex of the hash of the UTF-8 concatenation of `parts` joined by ':'. */
export function hashHex(hash: DigestHash, ...parts: readonly (string | Buffer)[]): string {
  // The common case (every part a string) is one one-shot hash: no Hash object, no Buffers.
  // That is most of the per-request cost of Digest, four hashes per authentication.
  if (parts.every((part) => typeof part === 'string')) {
    return oneShotHash(OPENSSL_NAME[hash], (parts as readonly string[]).join(':'), 'hex');
  }
  const h = createHash(OPENSSL_NAME[hash]);
  parts.forEach((part, index) => {
    if (index > 0) h.update(':');
    h.update(typeof part === 'string' ? Buffer.from(part, 'utf8') : part);
  });
  return h.digest('hex');
}

/** H(text): lower-case hex of the hash of `text` as UTF-8, one one-shot hash. */
export function hashText(hash: DigestHash, text: string): string {
  return oneShotHash(OPENSSL_NAME[hash], text, 'hex');
}

/**
 * The last value isHashHex accepted, per hash. An account's H(A1) comes back request after
 * request, checked by the callback source and again by the package; the answer is a pure function
 * of the hash and the string, so an equal string needs no second look. It holds an H(A1) the
 * credential source holds anyway ('' is never one).
 */
const lastHashHex: Record<DigestHash, string> = { MD5: '', 'SHA-256': '', 'SHA-512-256': '' };

/** True when `value` is a lower-case hex string of the right length for H under `hash`. */
export function isHashHex(hash: DigestHash, value: string): boolean {
  if (value === lastHashHex[hash]) return true;
  if (value.length !== HEX_LENGTH[hash] || !/^[0-9a-f]+$/.test(value)) return false;
  lastHashHex[hash] = value;
  return true;
}
