/**
 * The certificate phase: before Authorization is read, the TLS connection's client certificate
 * (SSPI's Schannel, IIS's client-certificate logon) is handed to the certificate package:
 *
 *   complete -> authenticated with scheme 'Certificate' (names, session, impersonation as usual)
 *   reject   -> the error's status; `denied` carries the other packages' challenges, so a client
 *               can still try them on a connection without that certificate
 *   none     -> no certificate (or a refused one under 'fall-through'): the HTTP packages run,
 *               which is IIS's "client certificate or Windows authentication"
 *
 * It is a separate option from `packages` because it has a different contract: it answers for the
 * connection, has no auth-scheme, no challenge and no Authorization token to accept.
 */
import type {
  ConnectionResult,
  ConnectionSecurityPackage,
} from '../certificate/client-certificate.js';
import { HttpAuthError } from '../errors.js';
import { publishWarning } from '../events.js';
import type { AuthRequest } from '../security-package.js';
import { complete } from './accept-phase.js';
import type { AuthDecision } from './decision.js';
import type { LoopState } from './options.js';
import { admit } from './success.js';

export const CERTIFICATE_SCHEME = 'Certificate';

/**
 * The decision for a request whose TLS handshake already completed a certificate logon, at once
 * (no chain, no promise), or undefined to run the certificate phase. It holds only while the
 * package's own cache still holds for the connection (`cachedConnectionResult`: the
 * certificates' validity, the revocation data's nextUpdate, the cache TTL, no CRL reload), so a
 * revocation is seen exactly when the certificate phase would see it. The impersonation context
 * is made per request, as for every admitted request; authorization rules run after, as ever.
 */
export function keptCertificate(
  loop: LoopState,
  certificate: ConnectionSecurityPackage,
  request: AuthRequest,
  now: number,
): AuthDecision | Promise<AuthDecision> | undefined {
  const handshake = request.tlsHandshake;
  const connection = request.tlsConnection;
  if (handshake === undefined || connection === undefined || request.viaTrustedProxy === true) {
    return undefined;
  }
  const kept = loop.keptCertificates.get(handshake);
  if (kept === undefined) return undefined;
  if (certificate.cachedConnectionResult?.(connection, now) !== kept.result) {
    loop.keptCertificates.delete(handshake);
    return undefined;
  }
  return admit(loop.makeImpersonation, {
    principal: kept.principal,
    context: kept.context,
    headers: [],
    scheme: CERTIFICATE_SCHEME,
    reused: true,
  });
}

/** Keep a completed certificate logon for the rest of the request's TLS handshake. */
function keep(
  loop: LoopState,
  certificate: ConnectionSecurityPackage,
  request: AuthRequest,
  result: ConnectionResult,
  decision: AuthDecision,
): void {
  const handshake = request.tlsHandshake;
  if (
    handshake === undefined ||
    request.tlsConnection === undefined ||
    certificate.cachedConnectionResult === undefined ||
    decision.type !== 'authenticated'
  ) {
    return;
  }
  const { principal, context } = decision.auth;
  loop.keptCertificates.set(handshake, { result, principal, context });
}

/** The certificate package's decision, or undefined to go on with the HTTP packages. */
export async function certificatePhase(
  loop: LoopState,
  certificate: ConnectionSecurityPackage,
  request: AuthRequest,
  now: number,
): Promise<AuthDecision | undefined> {
  // No TLS, or a trusted proxy in between: the glue passes no chain (node/request.ts), and a
  // chain that came through a proxy anyway is never the client's.
  const given = request.viaTrustedProxy === true ? undefined : request.peerCertificateChain;
  const chain = typeof given === 'function' ? given() : given;
  const result =
    chain === undefined || chain.length === 0
      ? ({ type: 'none' } as const)
      : await certificate.authenticateConnection(chain, now, request.tlsConnection);
  switch (result.type) {
    case 'complete': {
      const { peerCertificate, path } = result.context;
      const decision = await complete(loop, request, now, CERTIFICATE_SCHEME, undefined, {
        type: 'complete',
        principal: result.principal,
        context: { peerCertificate, path },
      });
      keep(loop, certificate, request, result, decision);
      return decision;
    }
    case 'reject': {
      const refusal = loop.responder.refuse(request, now, result.error, CERTIFICATE_SCHEME);
      // Standing alone there is no challenge to send, and a 401 must carry one (RFC 9110
      // §15.5.2): a refused certificate is 403, as IIS answers (403.13 revoked, 403.16 untrusted).
      return loop.packages.length === 0 && refusal.status === loop.responder.headers.status
        ? { ...refusal, status: 403 }
        : refusal;
    }
    case 'none':
      // A certificate refused under 'fall-through' leaves no failure event of its own (the
      // packages decide the request): say it, so an operator sees why certificates do not work.
      if (result.error !== undefined) {
        publishWarning({ code: result.error.code, source: 'certificate-fall-through' });
      }
      if (loop.packages.length > 0) return undefined;
      // Standing alone there is no challenge to offer: 403, as IIS answers (403.7).
      return loop.responder.refuse(
        request,
        now,
        new HttpAuthError('ERR_HTTPAUTH_CERT_REQUIRED', {
          ...(result.error === undefined ? {} : { reason: result.error.code }),
        }),
        CERTIFICATE_SCHEME,
      );
  }
}
