/**
 * The forwarding headers the gateway sends upstream (RFC 7239 Forwarded and the de-facto
 * X-Forwarded-For/-Proto/-Host), describing the client as the gateway takes it (proxy-trust.ts):
 * from the socket, or behind a trusted front proxy from the hops that proxy reported. Every
 * client copy of these headers was dropped by the header filter; what the client claimed beyond
 * the trusted hops is never passed on.
 */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { AuthRequest } from '@httpauth/core';
import { toAuthRequest } from '@httpauth/core/adapter';
import type { ResolvedAdapterOptions } from '@httpauth/core/adapter';
import { ProxyTrust } from './proxy-trust.js';
import type { ClientView } from './proxy-trust.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The last comma-separated member of a header (all copies joined), trimmed; undefined if none. */
export function lastListMember(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  const members = text
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m !== '');
  return members[members.length - 1];
}

/** A boolean is the older `trustProxy` (true: the TCP peer is believed, whatever its address). */
function trustOf(trust: ProxyTrust | boolean): ProxyTrust {
  return typeof trust === 'boolean' ? new ProxyTrust(trust) : trust;
}

/** The scheme the client used: the socket's, or the one a trusted front proxy reported. */
export function clientProto(req: IncomingMessage, trust: ProxyTrust | boolean): 'http' | 'https' {
  return trustOf(trust).view(req).proto;
}

function forNode(address: string): string {
  return address.includes(':') ? `"[${address}]"` : address;
}

export function forwardingHeaders(
  req: IncomingMessage,
  trust: ProxyTrust | boolean | ClientView,
): OutgoingHttpHeaders {
  const view =
    typeof trust === 'object' && !(trust instanceof ProxyTrust) ? trust : trustOf(trust).view(req);
  const headers: OutgoingHttpHeaders = {};
  setForwardingHeaders(headers, view);
  return headers;
}

/** A quoted-string host without `"` and `\\` (RFC 7239 §4: the value is a quoted-string). */
const QUOTE_BREAKING = /["\\]/;

/** The forwarding headers for `view`, written into `headers` (the proxy path's own object). */
export function setForwardingHeaders(headers: OutgoingHttpHeaders, view: ClientView): void {
  const host = view.host;
  headers['forwarded'] =
    `for=${forNode(view.address)};proto=${view.proto}` +
    (host === undefined
      ? ''
      : `;host="${QUOTE_BREAKING.test(host) ? host.replace(/["\\]/g, '') : host}"`);
  const { chain } = view;
  headers['x-forwarded-for'] = chain.length === 1 ? (chain[0] as string) : chain.join(', ');
  headers['x-forwarded-proto'] = view.proto;
  if (host !== undefined) headers['x-forwarded-host'] = host;
}

/**
 * The engine's view of a request: `secure`, the client address and whether a proxy stands in
 * front come from the ClientView, never from a header an untrusted peer sent (Basic's and
 * Digest's transport checks and the cookie's Secure flag depend on `secure`).
 */
export function authRequestOf(
  req: IncomingMessage,
  options: ResolvedAdapterOptions,
  view: ClientView = trustOf(options.trustProxy).view(req),
): AuthRequest {
  // toAuthRequest's object is fresh and has these members already: set them rather than copy it.
  const request: Mutable<AuthRequest> = toAuthRequest(req, options);
  request.secure = view.proto === 'https';
  request.clientAddress = view.address;
  request.viaTrustedProxy = view.viaProxy;
  return request;
}
