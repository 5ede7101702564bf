/**
 * `impersonation.fetch(url, init)`: an HTTP request to a Kerberos-protected backend as the user,
 * with a delegated ticket (S4U2Proxy) for the backend's SPN.
 *
 * The request carries `Authorization: Negotiate <token>` from the start (RFC 4559 §4.2 allows an
 * initial token without a 401 first): a SPNEGO NegTokenInit (RFC 4178 §4.2.1) offering only
 * Kerberos, with the AP-REQ as optimistic token. Mutual authentication is required: unless the
 * backend answers 401, its `WWW-Authenticate: Negotiate` must carry the AP-REP (in a
 * NegTokenResp, or a bare krb5 token) that proves it holds the service key
 * (kerberos/client/initiator.ts); a mechListMIC it sends must verify. Otherwise the response is
 * dropped and ERR_HTTPAUTH_MUTUAL_AUTH_FAILED thrown: whoever answered is not the backend.
 */
import { HttpAuthError } from '../errors.js';
import { parsePrincipal } from '../kerberos/messages/principal-name.js';
import { gssVerifyMic } from '../kerberos/gss-mic.js';
import { KRB5_OID } from '../kerberos/gss-token.js';
import { initiateContext, type InitiatorTicket } from '../kerberos/client/initiator.js';
import { encodeMechTypeList, encodeNegTokenInit } from '../negotiate/neg-token-init.js';
import { decodeNegTokenResp, NEG_STATE } from '../negotiate/neg-token-resp.js';

/**
 * The second argument of a delegate context's `fetch(url, init)`: fetch's own `RequestInit`
 * plus the backend's SPN when it is not `HTTP/<host of the URL>`.
 */
export interface DelegatedFetchInit extends RequestInit {
  /**
   * The backend's SPN. Default 'HTTP/<host of the URL>' (no DNS canonicalisation: name the
   * backend as its SPN is registered, or pass this). Its host must be the URL's host (any
   * service class, e.g. 'HTTP/api.example.test' for `https://api.example.test:8443/`), unless
   * `allowServiceHostMismatch` says otherwise.
   */
  readonly service?: string;
  /**
   * Send a ticket for `service` to a URL on another host (a load balancer or alias whose SPN is
   * registered under another name). Unsafe when any part of the URL comes from a client: the
   * AP-REQ is a credential for `service` that whoever answers at the URL can replay to it.
   * Default false.
   */
  readonly allowServiceHostMismatch?: boolean;
  /**
   * Allow an `http:` URL to a host other than loopback. The AP-REQ then crosses the network in
   * clear, where anyone on the path can replay it to the backend within its lifetime (RFC 4120
   * §1.5.2 relies on the replay cache only). Default false; warns once per process when used.
   */
  readonly allowInsecureHttp?: boolean;
}

/** process.emitWarning code when a delegated ticket is sent over plain HTTP. */
export const INSECURE_DELEGATED_FETCH_WARNING = 'HTTPAUTH_DELEGATED_FETCH_INSECURE_HTTP';
let insecureWarned = false;

/** The SPN fetch() asks a ticket for: `service`, else HTTP/<hostname>. */
export function serviceForUrl(url: URL, service: string | undefined): string {
  if (service !== undefined) return service;
  return `HTTP/${hostOf(url)}`;
}

/** The URL's host as an SPN names it: lower case, no IPv6 brackets, no trailing dot. */
function hostOf(url: URL): string {
  return url.hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function notAllowed(reason: string): HttpAuthError {
  return new HttpAuthError('ERR_HTTPAUTH_DELEGATION_TARGET_NOT_ALLOWED', { reason });
}

/**
 * Where a delegated fetch may go and the SPN its ticket is for, checked before any ticket is
 * asked for (ERR_HTTPAUTH_DELEGATION_TARGET_NOT_ALLOWED):
 *  - https:, or http: to loopback; http: elsewhere only with `allowInsecureHttp` (warns once);
 *  - the ticket is for the host the request goes to: the SPN defaults to HTTP/<URL host>, and an
 *    explicit `service` must name that host (its second component, RFC 4120 §6.2 NT-SRV-HST;
 *    loopback names count as one host) unless `allowServiceHostMismatch`, so a URL an attacker
 *    chose never receives a ticket for another backend;
 *  - never a TGS (krbtgt/...): fetch() sends service tickets, not the user's TGTs.
 */
export function delegatedTarget(
  url: string | URL,
  init: DelegatedFetchInit,
): { readonly url: URL; readonly service: string } {
  let target: URL;
  try {
    target = typeof url === 'string' ? new URL(url) : new URL(url.href);
  } catch (cause) {
    throw new HttpAuthError('ERR_HTTPAUTH_DELEGATION_TARGET_NOT_ALLOWED', {
      reason: 'not a URL',
      cause,
    });
  }
  const host = hostOf(target);
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    throw notAllowed(`${target.protocol} is not HTTP`);
  }
  if (target.protocol === 'http:' && !isLoopback(host)) {
    if (init.allowInsecureHttp !== true) {
      throw notAllowed(`http://${host}: the AP-REQ would cross the network in clear (use https)`);
    }
    if (!insecureWarned) {
      insecureWarned = true;
      process.emitWarning(
        'impersonation.fetch() sends a delegated Kerberos ticket over plain HTTP (allowInsecureHttp): anyone on the path can replay it',
        { code: INSECURE_DELEGATED_FETCH_WARNING },
      );
    }
  }
  const service = serviceForUrl(target, init.service);
  if (typeof service !== 'string' || service.length > 512) throw notAllowed('not an SPN');
  const components = parsePrincipal(service).components;
  if (isTgsComponents(components)) throw notAllowed(`${service} is a TGS, not a backend`);
  // 'MSSQLSvc/db.example.test:1433': an SPN's host may carry a port.
  const spnHost = (components[1] ?? '').replace(/\.$/, '').toLowerCase();
  const bare = spnHost === host ? spnHost : spnHost.replace(/:\d+$/, '');
  // Loopback names are one host: 'HTTP/localhost' for http://127.0.0.1:8080/ stays on this machine.
  const sameHost = bare === host || (isLoopback(bare) && isLoopback(host));
  if (!sameHost && init.allowServiceHostMismatch !== true) {
    throw notAllowed(`${service} is not a service of ${host}, where the request goes`);
  }
  return { url: target, service };
}

/** krbtgt/... in any case: the name of a TGS (RFC 4120 §7.3). */
export function isTgsComponents(components: readonly string[]): boolean {
  return components[0]?.toLowerCase() === 'krbtgt';
}

function mutualFailed(reason: string, cause?: unknown): HttpAuthError {
  return new HttpAuthError('ERR_HTTPAUTH_MUTUAL_AUTH_FAILED', {
    reason,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The base64 token of the first `Negotiate <token>` challenge in a WWW-Authenticate value. */
export function negotiateToken(header: string | null): Buffer | undefined {
  if (header === null || header.length > 64 * 1024) return undefined;
  // fetch() joins several WWW-Authenticate headers with ", ": a token68 has no comma or space.
  const match = /(?:^|,)\s*Negotiate\s+([A-Za-z0-9+/]+={0,2})\s*(?:,|$)/i.exec(header);
  return match?.[1] === undefined ? undefined : Buffer.from(match[1], 'base64');
}

/** Checks the backend's answer to our AP-REQ; throws ERR_HTTPAUTH_MUTUAL_AUTH_FAILED. */
function verifyMutual(
  token: Buffer | undefined,
  verifyReply: (apRep: Buffer) => ReturnType<ReturnType<typeof initiateContext>['verifyReply']>,
  mechTypesDer: Buffer,
): void {
  if (token === undefined) throw mutualFailed('no Negotiate token in the response');
  // 0x60: a bare GSS krb5 token; 0xa1: a SPNEGO NegTokenResp (RFC 4178 §4.2.2).
  if (token[0] === 0x60) {
    verifyReply(token);
    return;
  }
  let resp;
  try {
    resp = decodeNegTokenResp(token);
  } catch (error) {
    throw mutualFailed('the Negotiate token is not a NegTokenResp', error);
  }
  if (resp.negState !== undefined && resp.negState !== NEG_STATE.acceptCompleted) {
    throw mutualFailed(`SPNEGO negState ${resp.negState}`);
  }
  if (resp.supportedMech !== undefined && resp.supportedMech !== KRB5_OID) {
    throw mutualFailed(`SPNEGO selected ${resp.supportedMech}`);
  }
  if (resp.responseToken === undefined) throw mutualFailed('no AP-REP in the NegTokenResp');
  const contextKey = verifyReply(resp.responseToken);
  // RFC 4178 §5: a mechListMIC the acceptor sends covers our mechanism list; it must verify.
  if (
    resp.mechListMIC !== undefined &&
    !gssVerifyMic(contextKey, resp.mechListMIC, mechTypesDer, { fromAcceptor: true })
  ) {
    throw mutualFailed('the SPNEGO mechListMIC does not verify');
  }
}

/** fetch() with a Negotiate AP-REQ from `credential` and the backend's AP-REP checked. */
export async function negotiateFetch(
  url: URL,
  init: DelegatedFetchInit,
  credential: InitiatorTicket,
): Promise<Response> {
  const context = initiateContext(credential, Date.now());
  const mechTypes = [KRB5_OID];
  const spnego = encodeNegTokenInit({ mechTypes, mechToken: context.token });
  const headers = new Headers(init.headers);
  headers.set('authorization', `Negotiate ${spnego.toString('base64')}`);
  const {
    service: _service,
    allowServiceHostMismatch: _mismatch,
    allowInsecureHttp: _insecure,
    ...rest
  } = init;
  const response = await fetch(url, { ...rest, headers, redirect: 'manual' });
  // A refusal carries no proof to check; the caller sees the backend's 401.
  if (response.status === 401) return response;
  try {
    verifyMutual(
      negotiateToken(response.headers.get('www-authenticate')),
      (token) => context.verifyReply(token),
      encodeMechTypeList(mechTypes),
    );
  } catch (error) {
    await response.body?.cancel().catch(() => {});
    throw error;
  }
  return response;
}
