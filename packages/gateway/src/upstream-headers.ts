/**
 * The headers of a forwarded exchange: the request headers the upstream receives (the client's,
 * filtered by header-filter.ts, plus the forwarding and identity headers the gateway sets), and
 * the response headers the client receives (hop-by-hop removed, authentication headers added).
 */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { AuthInfo, Principal } from '@httpauth/core';
import type { GatewayConfig } from './config.js';
import { setForwardingHeaders } from './forwarded.js';
import { HOP_BY_HOP, RequestHeaderFilter } from './header-filter.js';
import { identityValues, signIdentity } from './identity.js';
import { ProxyTrust } from './proxy-trust.js';
import { sessionCookieNames, withoutSessionCookie } from './session-cookie-strip.js';
import type { SessionCookieNames } from './session-cookie-strip.js';
import type { ClientView } from './proxy-trust.js';
import type { IdentityValues } from './identity.js';

export class UpstreamHeaders {
  readonly #config: GatewayConfig;
  readonly #signatureSecret: Buffer | undefined;
  readonly #filter: RequestHeaderFilter;
  /** The gateway's session cookie, removed from what the upstream sees (undefined: no sessions). */
  readonly #sessionCookie: SessionCookieNames | undefined;

  readonly #trust: ProxyTrust;

  constructor(
    config: GatewayConfig,
    signatureSecret: Buffer | undefined,
    trust = new ProxyTrust(config.trustProxy, config.trustedProxies),
    /** Identity headers of other routes: dropped from the client's request here too. */
    alsoDropped: readonly string[] = [],
  ) {
    this.#config = config;
    this.#trust = trust;
    this.#signatureSecret = signatureSecret;
    const { identity } = config;
    this.#filter = new RequestHeaderFilter(
      [
        identity.userHeader,
        identity.groupsHeader,
        identity.mechanismHeader,
        identity.signature?.header,
        identity.certificateFingerprintHeader,
        ...alsoDropped,
      ].filter((h): h is string => h !== undefined),
    );
    this.#sessionCookie =
      config.sessions === undefined ? undefined : sessionCookieNames(config.sessions.cookieName);
  }

  /** Request headers for the upstream: hop-by-hop, identity copies and credentials removed. */
  request(
    req: IncomingMessage,
    auth: AuthInfo | undefined,
    target: string,
    view: ClientView = this.#trust.view(req),
  ): OutgoingHttpHeaders {
    const headers: OutgoingHttpHeaders = {};
    const incoming = req.headers;
    const connectionTokens = RequestHeaderFilter.connectionTokens(incoming.connection);
    for (const name of Object.keys(incoming)) {
      const value = incoming[name];
      if (value === undefined) continue;
      // Identity, signature and forwarding headers (in any spelling), hop-by-hop and framing.
      if (!this.#filter.allows(name, connectionTokens)) continue;
      if (name === 'authorization' && !this.#config.identity.forwardAuthorization) continue;
      if (name === 'cookie' && this.#sessionCookie !== undefined) {
        // Over TLS the cookie carries the __Host- prefix (see SessionCookies): both are removed.
        const kept = withoutSessionCookie(String(value), this.#sessionCookie);
        if (kept !== '') headers['cookie'] = kept;
        continue;
      }
      headers[name] = value;
    }
    setForwardingHeaders(headers, view);
    if (auth !== undefined) {
      this.setIdentity(headers, this.#identityOf(auth.principal), req.method ?? 'GET', target);
      this.setCertificateFingerprint(headers, auth.principal);
    }
    return headers;
  }

  /**
   * The identity header values of a principal. A connection that stays authenticated (NTLM) or
   * a session hands the same principal object to every request, so they are encoded once.
   */
  #identityOf(principal: Principal): IdentityValues {
    let values = this.#identities.get(principal);
    if (values === undefined) {
      values = identityValues(principal, this.#config.identity.userFormat);
      this.#identities.set(principal, values);
    }
    return values;
  }

  readonly #identities = new WeakMap<Principal, IdentityValues>();

  /** The identity headers (and their signature over method and target). */
  setIdentity(
    headers: OutgoingHttpHeaders,
    values: IdentityValues,
    method: string,
    target: string,
  ): void {
    const { identity } = this.#config;
    headers[identity.userHeader] = values.user;
    headers[identity.groupsHeader] = values.groups;
    headers[identity.mechanismHeader] = values.mechanism;
    if (this.#signatureSecret !== undefined && identity.signature !== undefined) {
      headers[identity.signature.header] = signIdentity(
        this.#signatureSecret,
        Math.floor(Date.now() / 1000),
        method,
        target,
        values,
      );
    }
  }

  /**
   * The client certificate's SHA-256 fingerprint, when configured and the logon was by
   * certificate (an upstream pinning certificates, or logging which one was used).
   */
  setCertificateFingerprint(headers: OutgoingHttpHeaders, principal: Principal): void {
    const header = this.#config.identity.certificateFingerprintHeader;
    const fingerprint = principal.certificate?.fingerprint256;
    if (header !== undefined && fingerprint !== undefined) headers[header] = fingerprint;
  }

  /** Response headers for the client, with the authentication step's headers added. */
  response(
    upstream: IncomingMessage,
    extra: readonly (readonly [string, string])[],
  ): OutgoingHttpHeaders {
    const headers: OutgoingHttpHeaders = {};
    const received = upstream.headers;
    const connectionTokens = RequestHeaderFilter.connectionTokens(received.connection);
    for (const name of Object.keys(received)) {
      const value = received[name];
      if (value === undefined || HOP_BY_HOP.has(name) || connectionTokens.has(name)) continue;
      headers[name] = value;
    }
    // Mutual authentication tokens and the session cookie from the authentication step.
    for (const [name, value] of extra) {
      const existing = headers[name];
      if (existing === undefined) headers[name] = value;
      else headers[name] = [...(Array.isArray(existing) ? existing : [String(existing)]), value];
    }
    return headers;
  }
}
