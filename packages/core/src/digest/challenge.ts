/**
 * The Digest challenge, RFC 7616 §3.3 (WWW-Authenticate / Proxy-Authenticate):
 *
 *   challenge = "Digest" realm, [domain], nonce, [opaque], [stale], [algorithm], [qop],
 *               [charset], [userhash]
 *
 * One challenge per algorithm (§3.7: the client uses the first it supports). encode/decode are
 * paired; decode is what a client (and the tests) use to read our 401s.
 */
import { fail } from '../errors.js';
import { formatChallenge, parseCredentials } from '../grammar/http-auth.js';
import type { DigestQop } from './compute.js';
import { decodeHeaderText, encodeHeaderText } from './ext-value.js';

/** One Digest challenge (RFC 7616 §3.3), the parameters of a `WWW-Authenticate: Digest` header. */
export interface DigestChallenge {
  readonly realm: string;
  readonly nonce: string;
  /** The algorithm token as offered (`SHA-256`, `MD5-sess`, ...). */
  readonly algorithm: string;
  /** Empty for an RFC 2069 challenge. */
  readonly qop: readonly DigestQop[];
  readonly opaque?: string | undefined;
  /** Absolute or relative URIs of the protection space (§3.3 "domain"). */
  readonly domain?: readonly string[] | undefined;
  readonly stale?: boolean | undefined;
  /** Announce that username and password are UTF-8 (§4). */
  readonly charsetUtf8?: boolean | undefined;
  readonly userhash?: boolean | undefined;
}

/**
 * Formats a `WWW-Authenticate: Digest` header value (RFC 7616 §3.3), realm as UTF-8 header text.
 */
export function encodeChallenge(challenge: DigestChallenge): string {
  const params: [string, string, boolean?][] = [['realm', encodeHeaderText(challenge.realm)]];
  if (challenge.domain !== undefined && challenge.domain.length > 0) {
    params.push(['domain', challenge.domain.join(' ')]);
  }
  params.push(['nonce', challenge.nonce]);
  if (challenge.opaque !== undefined) params.push(['opaque', challenge.opaque]);
  if (challenge.stale === true) params.push(['stale', 'true', false]);
  params.push(['algorithm', challenge.algorithm, false]);
  if (challenge.qop.length > 0) params.push(['qop', challenge.qop.join(', ')]);
  if (challenge.charsetUtf8 === true) params.push(['charset', 'UTF-8', false]);
  if (challenge.userhash === true) params.push(['userhash', 'true', false]);
  return formatChallenge('Digest', params);
}

function parseBoolean(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  return fail('ERR_HTTPAUTH_DIGEST_PARAMS');
}

/** Read one Digest challenge header value. */
export function decodeChallenge(header: string): DigestChallenge {
  const parsed = parseCredentials(header);
  if (parsed.scheme.toLowerCase() !== 'digest' || parsed.params === undefined) {
    fail('ERR_HTTPAUTH_DIGEST_PARAMS');
  }
  const p = parsed.params;
  const realm = p.get('realm');
  const nonce = p.get('nonce');
  if (realm === undefined || nonce === undefined) fail('ERR_HTTPAUTH_DIGEST_PARAMS');
  const qop: DigestQop[] = [];
  for (const item of (p.get('qop') ?? '').split(',')) {
    const token = item.trim().toLowerCase();
    if (token === 'auth' || token === 'auth-int') qop.push(token);
  }
  const domain = p.get('domain');
  return {
    realm: decodeHeaderText(realm),
    nonce,
    algorithm: p.get('algorithm') ?? 'MD5',
    qop,
    opaque: p.get('opaque'),
    domain: domain === undefined ? undefined : domain.split(' ').filter((d) => d !== ''),
    stale: parseBoolean(p.get('stale')),
    charsetUtf8: p.get('charset')?.toLowerCase() === 'utf-8' ? true : undefined,
    userhash: parseBoolean(p.get('userhash')),
  };
}
