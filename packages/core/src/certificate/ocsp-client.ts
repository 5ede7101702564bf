/**
 * The OCSP client (RFC 6960 over HTTP POST, Appendix A.1): asked only for certificates no current
 * CRL covers, with a timeout, one request in flight per certificate, answers cached until their
 * nextUpdate and failures for a short while (so a responder outage does not make every request
 * wait out the timeout). The responder is the configured `url`, else the certificate's
 * authorityInfoAccess id-ad-ocsp URI (http only: fetching over https would itself need revocation
 * checks, RFC 5280 §4.2.2.1).
 */
import { X509Certificate } from 'node:crypto';
import type { PathCertificate } from './chain.js';
import type { RevocationStatus } from './crl-source.js';
import {
  MAX_OCSP_RESPONSE_BYTES,
  certId,
  encodeOcspRequest,
  findResponse,
  parseOcspResponse,
  responseSignedFor,
  type CertId,
} from './ocsp.js';

/**
 * The `revocation.ocsp` option of `clientCertificate`: which OCSP responder to ask (RFC 6960;
 * default the certificate's authorityInfoAccess URI), the timeout, and how long answers and
 * failures are cached.
 */
export interface OcspOptions {
  /** The responder to ask, instead of the certificate's authorityInfoAccess URI. */
  readonly url?: string;
  /** How long to wait for the responder (default 3 s). */
  readonly timeoutMs?: number;
  /** Answers kept (default 10 000). */
  readonly cacheEntries?: number;
  /** How long "no answer" is remembered before the responder is asked again (default 10 s). */
  readonly failureCacheMs?: number;
  /** Tolerated clock difference with the responder for thisUpdate (default 5 minutes). */
  readonly clockSkewMs?: number;
}

/** How long a response without nextUpdate counts as current (RFC 6960 §4.2.2.1 leaves it open). */
const NO_NEXT_UPDATE_LIFETIME_MS = 5 * 60_000;

interface Cached {
  readonly status: RevocationStatus;
  readonly until: number;
}

/** The http id-ad-ocsp URIs of a certificate's authorityInfoAccess, as node:crypto prints it. */
export function ocspUrls(certificate: X509Certificate): string[] {
  const access = certificate.infoAccess ?? '';
  return access
    .split('\n')
    .filter((line) => line.startsWith('OCSP - URI:'))
    .map((line) => line.slice('OCSP - URI:'.length).trim())
    .filter((url) => url.startsWith('http://'));
}

export class OcspClient {
  readonly #url: string | undefined;
  readonly #timeout: number;
  readonly #maxEntries: number;
  readonly #failureCache: number;
  readonly #skew: number;
  readonly #cache = new Map<string, Cached>();
  readonly #inFlight = new Map<string, Promise<RevocationStatus>>();

  constructor(options: OcspOptions) {
    this.#url = options.url;
    this.#timeout = options.timeoutMs ?? 3000;
    this.#maxEntries = options.cacheEntries ?? 10_000;
    this.#failureCache = options.failureCacheMs ?? 10_000;
    this.#skew = options.clockSkewMs ?? 5 * 60_000;
  }

  /** The status of `certificate` as its issuer's responder says, or unavailable. Never throws. */
  async status(
    certificate: PathCertificate,
    issuer: PathCertificate,
    now: number,
  ): Promise<RevocationStatus> {
    let id: CertId;
    try {
      id = certId(issuer.x509, certificate.parsed.serialHex);
    } catch {
      return { status: 'unavailable', reason: 'missing' };
    }
    const key = `${id.issuerNameHash.toString('hex')}:${id.issuerKeyHash.toString('hex')}:${id.serialHex}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined && now < cached.until) return cached.status;
    const pending = this.#inFlight.get(key);
    if (pending !== undefined) return pending;
    const url = this.#url ?? ocspUrls(certificate.x509)[0];
    if (url === undefined) return { status: 'unavailable', reason: 'missing' };
    const query = this.#query(url, id, issuer.x509, now).then((answer) => {
      this.#remember(key, answer);
      return answer.status;
    });
    this.#inFlight.set(key, query);
    try {
      return await query;
    } finally {
      this.#inFlight.delete(key);
    }
  }

  #remember(key: string, answer: Cached): void {
    this.#cache.delete(key);
    this.#cache.set(key, answer);
    while (this.#cache.size > this.#maxEntries) {
      this.#cache.delete(this.#cache.keys().next().value as string);
    }
  }

  async #query(url: string, id: CertId, issuer: X509Certificate, now: number): Promise<Cached> {
    const failed: Cached = {
      status: { status: 'unavailable', reason: 'unreachable' },
      until: now + this.#failureCache,
    };
    let body: Buffer;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/ocsp-request',
          accept: 'application/ocsp-response',
        },
        body: encodeOcspRequest(id),
        redirect: 'error',
        signal: AbortSignal.timeout(this.#timeout),
      });
      const length = Number(response.headers.get('content-length') ?? 0);
      if (!response.ok || length > MAX_OCSP_RESPONSE_BYTES) {
        await response.body?.cancel();
        return failed;
      }
      body = Buffer.from(await response.arrayBuffer());
    } catch {
      return failed;
    }
    try {
      const basic = parseOcspResponse(body);
      if (basic === undefined) return failed;
      if (!responseSignedFor(basic, issuer, now, (der) => new X509Certificate(der))) return failed;
      const single = findResponse(basic, id);
      if (single === undefined || single.thisUpdate > now + this.#skew) return failed;
      const until = single.nextUpdate ?? single.thisUpdate + NO_NEXT_UPDATE_LIFETIME_MS;
      if (until <= now) return { ...failed, status: { status: 'unavailable', reason: 'stale' } };
      if (single.status === 'revoked') return { status: { status: 'revoked' }, until };
      if (single.status === 'unknown') return failed; // the responder does not know it: no answer
      return { status: { status: 'good', nextUpdate: until }, until };
    } catch {
      return failed;
    }
  }
}
