/**
 * The respond phase: the 401 (or 407 as a proxy, RFC 9110 §11.7) with every package's
 * challenges in the configured order, a continued handshake's `<scheme> <token>`, and the status
 * an error's kind maps to otherwise. The loop's entry publishes the events (publish.ts).
 */
import { HttpAuthError, statusForKind } from '../errors.js';
import type { AuthRequest, SecurityPackage } from '../security-package.js';
import type { Header, RespondDecision } from './decision.js';

/** Where credentials come in and challenges go out: as an origin server or as a proxy. */
export interface ChallengeHeaders {
  readonly credentials: string;
  readonly challenge: string;
  readonly info: string;
  readonly status: number;
}

export function challengeHeaders(proxy: boolean): ChallengeHeaders {
  return proxy
    ? {
        credentials: 'proxy-authorization',
        challenge: 'proxy-authenticate',
        info: 'proxy-authentication-info',
        status: 407,
      }
    : {
        credentials: 'authorization',
        challenge: 'www-authenticate',
        info: 'authentication-info',
        status: 401,
      };
}

/**
 * Connection-bound packages need an HTTP/1.x connection: HTTP/2 multiplexes requests, so a
 * handshake cannot be tied to one (RFC 7540 §9.2.1 HTTP_1_1_REQUIRED).
 */
export function connectionUsable(request: AuthRequest): boolean {
  return request.connection !== undefined && request.httpVersionMajor < 2;
}

/**
 * Whether to offer a package on this request. A connection-bound package (NTLM) is offered over
 * HTTP/2 too, as IIS does: a browser that tries it there gets its stream reset with
 * HTTP_1_1_REQUIRED (RFC 9113 §8.2.3) and retries over HTTP/1.1, where NTLM works. Without the
 * offer, a browser without a Kerberos ticket would never learn that NTLM is accepted.
 */
function offerable(pkg: SecurityPackage, request: AuthRequest): boolean {
  return !pkg.connectionBound || connectionUsable(request) || request.httpVersionMajor >= 2;
}

/**
 * A refusal because the scheme needs a connection: over HTTP/2 it becomes HTTP_1_1_REQUIRED,
 * which the Node glue answers by resetting the stream (RFC 9113 §8.2.3, RFC 7540 §9.2.1) so the
 * client retries over HTTP/1.1; without a connection on HTTP/1.x it stays as it is.
 */
export function http11Required(request: AuthRequest, error: HttpAuthError): HttpAuthError {
  if (error.code !== 'ERR_HTTPAUTH_CONNECTION_REQUIRED' || request.httpVersionMajor < 2) {
    return error;
  }
  return new HttpAuthError('ERR_HTTPAUTH_HTTP11_REQUIRED');
}

/** A package's own challenges for this refusal (Digest `stale=true`, a KRB-ERROR token). */
export interface ChallengeReplacement {
  readonly pkg: SecurityPackage;
  readonly challenges: readonly string[];
}

export class ChallengeResponder {
  readonly #packages: readonly SecurityPackage[];
  readonly headers: ChallengeHeaders;

  constructor(packages: readonly SecurityPackage[], headers: ChallengeHeaders) {
    this.#packages = packages;
    this.headers = headers;
  }

  /** Every offerable package's challenges, one header value each, in the configured order. */
  challenges(request: AuthRequest, now: number, replace?: ChallengeReplacement): Header[] {
    const headers: Header[] = [];
    for (const pkg of this.#packages) {
      if (!offerable(pkg, request)) continue;
      const values =
        replace !== undefined && replace.pkg === pkg
          ? replace.challenges
          : pkg.challenges(request, now);
      for (const value of values) headers.push([this.headers.challenge, value]);
    }
    return headers;
  }

  /**
   * Refuse the request: `denied` is a challenge (401/407 and every package's challenges),
   * anything else the status of its kind; `unavailable` asks the client to retry.
   */
  refuse(
    request: AuthRequest,
    now: number,
    error: HttpAuthError,
    scheme: string | undefined,
    replace?: ChallengeReplacement,
  ): RespondDecision {
    const denied = error.kind === 'denied';
    const status = denied ? this.headers.status : statusForKind(error.kind);
    const headers: Header[] = denied ? this.challenges(request, now, replace) : [];
    if (error.kind === 'unavailable') headers.push(['retry-after', '5']);
    return { type: 'respond', scheme, status, headers, error };
  }

  /** One more leg of a multi-leg handshake (NTLM's CHALLENGE, a SPNEGO continuation). */
  continueHandshake(pkg: SecurityPackage, token: string): RespondDecision {
    return {
      type: 'respond',
      scheme: pkg.scheme,
      status: this.headers.status,
      headers: [[this.headers.challenge, `${pkg.scheme} ${token}`]],
      error: new HttpAuthError('ERR_HTTPAUTH_HANDSHAKE_CONTINUE'),
    };
  }
}
