/**
 * The client-certificate security package: SSPI's Secure Channel (Schannel) row, as IIS uses it
 * for certificate logon. It works at the TLS layer, not through WWW-Authenticate: the loop hands
 * it the peer certificate chain of the connection before it looks at Authorization, and the
 * package answers complete (a mapped principal), reject (a bad certificate, a stable code) or
 * none (no certificate, or a refused one when `onInvalidCertificate: 'fall-through'`: the other
 * packages then run). See docs/certificates.md.
 *
 * Checks, in order: the path to a configured trust anchor (chain.ts), revocation of every
 * certificate below the anchor by the configured CRL files (crl-source.ts; fail-closed unless
 * `revocation.failOpen`; OCSP, ocsp-client.ts, for what no CRL covers when configured), then the
 * mapping to a principal (mapping.ts).
 */
import { HttpAuthError, fail, isHttpAuthError } from '../errors.js';
import { publishWarning } from '../events.js';
import type { Principal } from '../principal.js';
import {
  loadPemCertificates,
  loadTrustAnchors,
  validatePath,
  type PathCertificate,
} from './chain.js';
import { CrlSource, type RevocationStatus } from './crl-source.js';
import { OcspClient, type OcspOptions } from './ocsp-client.js';
import {
  checkMappingOptions,
  directoryAnswerLifetime,
  mapCertificate,
  type MappingOptions,
  type MappingRule,
} from './mapping.js';
import { ResultCache } from './result-cache.js';

/**
 * The `revocation` option of {@link clientCertificate}: CRL files re-read when they change, OCSP
 * (RFC 6960) for what no CRL covers, and `failOpen`, the unsafe choice to accept a certificate
 * whose status is unknown.
 */
export interface RevocationOptions {
  /** CRL files (DER or PEM, several CRLs per PEM file allowed), re-read when they change. */
  readonly crlFiles: readonly string[];
  /** How often a file's change is looked for (default 10 s). */
  readonly checkIntervalMs?: number;
  /**
   * Ask the OCSP responder (RFC 6960) about certificates no current CRL covers. Off by default.
   * `{}` uses each certificate's authorityInfoAccess responder; see OcspOptions.
   */
  readonly ocsp?: OcspOptions;
  /**
   * Accept a certificate whose revocation status is unknown (no CRL from its issuer, or only
   * stale ones). Unsafe: a revoked certificate is then accepted until the CRL is back. Each such
   * acceptance publishes an `httpauth:warning` event with ERR_HTTPAUTH_CERT_REVOCATION_UNAVAILABLE.
   * Off by default: the request is refused with 503 instead.
   */
  readonly failOpen?: boolean;
}

/**
 * Options of {@link clientCertificate}, TLS client-certificate logon as IIS does it: the trust
 * anchors and intermediates, revocation checking, the certificate-to-account mapping rules, and
 * whether a bad certificate is refused or lets the other packages run. Bad values throw
 * `ERR_HTTPAUTH_INVALID_OPTIONS` at start-up.
 */
export interface ClientCertificateOptions {
  /** Trust anchors: PEM text (a bundle), or several. */
  readonly ca: string | Buffer | readonly (string | Buffer)[];
  /**
   * Intermediate CA certificates (PEM) to complete a chain the client sent incompletely; a
   * resumed TLS session presents the leaf alone. Intermediates seen in validated chains are
   * remembered too (up to 256), as Windows caches them. Not trust anchors.
   */
  readonly intermediates?: string | Buffer | readonly (string | Buffer)[];
  readonly revocation: RevocationOptions;
  /** Mapping rules in order (default: the SID extension only, the one strong rule needing no table). */
  readonly mapping?: readonly MappingRule[];
  /** Acknowledge weak rules (upn, email, subject); without it they are refused at start-up. */
  readonly allowWeakMappings?: boolean;
  /** Domains whose UPNs and addresses are local accounts: their `user` is the bare name. */
  readonly localDomains?: readonly string[];
  /**
   * What a bad certificate (untrusted, expired, revoked, unmapped...) leads to: 'refuse' (the
   * default: the request is answered with the error) or 'fall-through' (answer `none` with the
   * error attached, so the loop tries the other packages, like IIS's "accept" client certificates).
   * Revocation data being unavailable is always refused: it is not the client's fault.
   */
  readonly onInvalidCertificate?: 'refuse' | 'fall-through';
  /** Per-certificate cache: entries (default 10 000) and lifetime (default 5 minutes). */
  readonly cache?: { readonly maxEntries?: number; readonly ttlMs?: number };
  /** The wall clock pacing CRL file checks (tests). Requests pass their own `now`. */
  readonly now?: () => number;
}

/** What the package hands on besides the principal. */
export interface CertificateContext {
  /** DER of the client's leaf certificate (the gateway may forward its fingerprint). */
  readonly peerCertificate: Buffer;
  /** The validated path's fingerprints, leaf first, anchor last. */
  readonly path: readonly string[];
}

/**
 * What the certificate package answers about a connection's certificate: `complete` with the mapped
 * principal, `reject` with a stable error code, or `none` (no certificate, or a refused one under
 * `onInvalidCertificate: 'fall-through'`), after which the other packages run.
 */
export type ConnectionResult =
  | {
      readonly type: 'complete';
      readonly principal: Principal;
      readonly context: CertificateContext;
    }
  | { readonly type: 'reject'; readonly error: HttpAuthError }
  /** No certificate; or a refused one (`error`) under `onInvalidCertificate: 'fall-through'`. */
  | { readonly type: 'none'; readonly error?: HttpAuthError };

/** A security package that authenticates the TLS connection itself (SSPI's Schannel). */
export interface ConnectionSecurityPackage {
  readonly name: 'Certificate';
  /**
   * Validate and map the peer's chain (leaf first, DER), e.g. `peerChain(socket.getPeerCertificate(true))`.
   * `connection` (the TLS socket) keys a per-connection cache. Never throws.
   */
  authenticateConnection(
    chain: readonly Buffer[],
    now: number,
    connection?: object,
  ): Promise<ConnectionResult>;
  /**
   * The success `authenticateConnection` last answered for `connection`, at once, while it still
   * holds (the same bounds as its cache: the certificates' validity, the revocation data's
   * nextUpdate, the cache TTL, no CRL reload since); otherwise undefined, and the caller runs
   * `authenticateConnection`. The leaf is not compared: the caller vouches that the connection
   * has had no new handshake since (the loop asks only under the request's `tlsHandshake`).
   * The same object while it holds, so a caller can keep what it built from it.
   */
  cachedConnectionResult?(
    connection: object,
    now: number,
  ): Extract<ConnectionResult, { type: 'complete' }> | undefined;
}

type Outcome =
  | {
      readonly type: 'complete';
      readonly principal: Principal;
      readonly context: CertificateContext;
    }
  | { readonly type: 'error'; readonly error: HttpAuthError };

/** How long an acceptance under `failOpen` without revocation data is cached. */
const FAIL_OPEN_RECHECK_MS = 10_000;

/** Most intermediates learned from clients' chains (configured ones do not count). */
const MAX_LEARNED_INTERMEDIATES = 256;

/** The list form of a PEM option. */
function bundles(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

/**
 * Errors that depend on a dependency or will change with time (a certificate not yet valid
 * becomes valid), not on the certificate alone: never cached.
 */
const TRANSIENT = new Set([
  'ERR_HTTPAUTH_CERT_NOT_YET_VALID',
  'ERR_HTTPAUTH_CERT_REVOCATION_UNAVAILABLE',
  'ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED',
  'ERR_HTTPAUTH_INTERNAL',
]);

function invalid(reason: string): never {
  throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS', { reason });
}

function checkOptions(options: ClientCertificateOptions): void {
  if (typeof options !== 'object' || options === null) invalid('options');
  const revocation = options.revocation;
  if (
    typeof revocation !== 'object' ||
    revocation === null ||
    !Array.isArray(revocation.crlFiles)
  ) {
    invalid('revocation.crlFiles is required');
  }
  if (
    revocation.ocsp !== undefined &&
    (typeof revocation.ocsp !== 'object' || revocation.ocsp === null)
  ) {
    invalid('revocation.ocsp');
  }
  if (
    revocation.crlFiles.length === 0 &&
    revocation.ocsp === undefined &&
    revocation.failOpen !== true
  ) {
    // Fail-closed without any CRL or OCSP would refuse every certificate: say so at start-up.
    invalid('revocation.crlFiles is empty and OCSP is off: every certificate would be refused');
  }
  const fallThrough = options.onInvalidCertificate;
  if (fallThrough !== undefined && fallThrough !== 'refuse' && fallThrough !== 'fall-through') {
    invalid('onInvalidCertificate');
  }
}

/** Create the client-certificate package. Throws ERR_HTTPAUTH_INVALID_OPTIONS on bad options. */
export function clientCertificate(options: ClientCertificateOptions): ConnectionSecurityPackage {
  checkOptions(options);
  const clock = options.now ?? Date.now;
  const anchors = loadTrustAnchors(bundles(options.ca));
  const known = new Map<string, PathCertificate>();
  for (const certificate of loadPemCertificates(bundles(options.intermediates))) {
    known.set(certificate.x509.fingerprint256, certificate);
  }
  const configuredCount = known.size;

  /** Remember the intermediates of a validated path for later leaf-only chains. */
  function learn(path: readonly PathCertificate[]): void {
    for (const certificate of path.slice(1, -1)) {
      if (known.size - configuredCount >= MAX_LEARNED_INTERMEDIATES) return;
      if (!known.has(certificate.x509.fingerprint256)) {
        known.set(certificate.x509.fingerprint256, certificate);
      }
    }
  }
  /**
   * The state results depend on besides the certificate (the CRL files' generation, the
   * intermediates known) as one number, which changes whenever either does: a kept-alive
   * request compares it to its cached result's without building a string.
   */
  let seenCrlGeneration = -1;
  let seenKnown = -1;
  let state = 0;
  function stateOf(crlGeneration: number): number {
    if (crlGeneration !== seenCrlGeneration || known.size !== seenKnown) {
      seenCrlGeneration = crlGeneration;
      seenKnown = known.size;
      state++;
    }
    return state;
  }
  const revocation = options.revocation;
  const crls = new CrlSource(revocation.crlFiles, {
    checkIntervalMs: revocation.checkIntervalMs ?? 10_000,
    clock,
  });
  const failOpen = revocation.failOpen === true;
  const ocsp = revocation.ocsp === undefined ? undefined : new OcspClient(revocation.ocsp);
  const mapping: MappingOptions = {
    rules: options.mapping ?? [{ type: 'sid' }],
    allowWeakMappings: options.allowWeakMappings === true,
    localDomains: options.localDomains ?? [],
  };
  checkMappingOptions(mapping);
  // A directory's answer (an account disabled since, a mapping removed) is not kept longer.
  const directoryLifetime = directoryAnswerLifetime(mapping);
  const fallThrough = options.onInvalidCertificate === 'fall-through';
  const ttl = options.cache?.ttlMs ?? 5 * 60_000;
  const cache = new ResultCache<Outcome>(options.cache?.maxEntries ?? 10_000);

  /**
   * Phase: revocation of each certificate below the anchor, from the anchor down (RFC 5280 §6.1
   * order: a revoked CA is reported as such even when its subjects have no revocation data):
   * CRLs, then OCSP for what no current CRL covers.
   */
  async function checkRevocation(path: readonly PathCertificate[], now: number): Promise<number> {
    let freshUntil = Number.POSITIVE_INFINITY;
    for (let i = path.length - 2; i >= 0; i--) {
      const certificate = path[i] as PathCertificate;
      const issuer = path[i + 1] as PathCertificate;
      let status: RevocationStatus = crls.status(certificate.parsed, issuer.x509, now);
      if (status.status === 'unavailable' && ocsp !== undefined) {
        status = await ocsp.status(certificate, issuer, now);
      }
      if (status.status === 'revoked') fail('ERR_HTTPAUTH_CERT_REVOKED');
      if (status.status === 'good') {
        freshUntil = Math.min(freshUntil, status.nextUpdate);
      } else if (failOpen) {
        // Accepted without revocation data: look again soon rather than for the whole cache TTL.
        freshUntil = Math.min(freshUntil, now + FAIL_OPEN_RECHECK_MS);
        publishWarning({
          code: 'ERR_HTTPAUTH_CERT_REVOCATION_UNAVAILABLE',
          source: 'certificate-revocation',
        });
      } else {
        throw new HttpAuthError('ERR_HTTPAUTH_CERT_REVOCATION_UNAVAILABLE', {
          reason: status.reason,
        });
      }
    }
    return freshUntil;
  }

  /** Validate, check revocation, map; returns the outcome and how long it holds. */
  async function evaluate(
    chain: readonly Buffer[],
    now: number,
  ): Promise<{ outcome: Outcome; validUntil: number }> {
    let validUntil = now + Math.min(ttl, directoryLifetime ?? ttl);
    try {
      const path = validatePath(chain, anchors, now, [...known.values()]);
      for (const { parsed } of path) validUntil = Math.min(validUntil, parsed.notAfter + 1);
      validUntil = Math.min(validUntil, await checkRevocation(path, now));
      learn(path);
      const leaf = path[0] as PathCertificate;
      let principal: Principal;
      try {
        principal = await mapCertificate(path, mapping, now);
      } catch (error) {
        if (isHttpAuthError(error)) throw error;
        throw new HttpAuthError('ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED', { cause: error });
      }
      const context = {
        peerCertificate: leaf.x509.raw,
        path: path.map((c) => c.x509.fingerprint256),
      };
      return { outcome: { type: 'complete', principal, context }, validUntil };
    } catch (error) {
      const refusal = isHttpAuthError(error)
        ? error
        : new HttpAuthError('ERR_HTTPAUTH_INTERNAL', { cause: error });
      return { outcome: { type: 'error', error: refusal }, validUntil };
    }
  }

  function answer(outcome: Outcome): ConnectionResult {
    if (outcome.type === 'complete') return outcome;
    const error = outcome.error;
    // A dependency failing (revocation data, a SID resolver) is refused even under fall-through:
    // it is not the client's fault, and falling through would hide the outage.
    if (fallThrough && error.kind !== 'unavailable') return { type: 'none', error };
    return { type: 'reject', error };
  }

  async function authenticateConnection(
    chain: readonly Buffer[],
    now: number,
    connection?: object,
  ): Promise<ConnectionResult> {
    if (!Array.isArray(chain) || chain.length === 0) return { type: 'none' };
    if (!chain.every((der) => Buffer.isBuffer(der))) {
      return answer({ type: 'error', error: new HttpAuthError('ERR_HTTPAUTH_CERT_MALFORMED') });
    }
    // A CRL reload or a newly learned intermediate can change any verdict.
    const crlGeneration = crls.generation();
    const cached = cache.get(chain, connection, now, stateOf(crlGeneration));
    if (cached !== undefined) return answer(cached.result);
    const { outcome, validUntil } = await evaluate(chain, now);
    if (outcome.type === 'complete' || !TRANSIENT.has(outcome.error.code)) {
      const entry = {
        result: outcome,
        success: outcome.type === 'complete',
        evaluatedAt: now,
        validUntil,
        // Read after the evaluation, which may have learned the chain's intermediates.
        generation: stateOf(crlGeneration),
        leaf: chain[0] as Buffer,
      };
      cache.set(chain, connection, entry);
    }
    return answer(outcome);
  }

  function cachedConnectionResult(
    connection: object,
    now: number,
  ): Extract<ConnectionResult, { type: 'complete' }> | undefined {
    const entry = cache.forConnection(connection, now, stateOf(crls.generation()));
    return entry?.result.type === 'complete' ? entry.result : undefined;
  }

  return { name: 'Certificate', authenticateConnection, cachedConnectionResult };
}
