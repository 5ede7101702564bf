/**
 * The forwarding headers the gateway sends upstream (RFC 7239 Forwarded and the de-facto
 * X-Forwarded-For/-Proto/-Host), describing the client as the gateway knows it.
 *
 * Without `trustProxy` the gateway is the first hop: every client copy was dropped by the header
 * filter and the values come from the socket. With `trustProxy` a proxy the operator controls
 * stands in front: the client address list it sent is kept and the proxy's own peer appended,
 * and the scheme is the one that proxy set — the LAST X-Forwarded-Proto value, because a proxy
 * appends to (or sets) the header and everything before its entry came from the client.
 */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { AuthRequest } from '@httpauth/core';
import { toAuthRequest } from '@httpauth/core/adapter';
import type { ResolvedAdapterOptions } from '@httpauth/core/adapter';

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

/** The scheme the client used: the socket's, or with trustProxy the last X-Forwarded-Proto. */
export function clientProto(req: IncomingMessage, trustProxy: boolean): 'http' | 'https' {
  if (trustProxy) {
    const proto = lastListMember(req.headers['x-forwarded-proto'])?.toLowerCase();
    if (proto === 'https' || proto === 'http') return proto;
  }
  return (req.socket as Partial<TLSSocket>).encrypted === true ? 'https' : 'http';
}

const ADDRESS_LIST = /^[0-9A-Fa-f:.[\], ]{1,1024}$/;

export function forwardingHeaders(req: IncomingMessage, trustProxy: boolean): OutgoingHttpHeaders {
  const address = req.socket.remoteAddress ?? 'unknown';
  const proto = clientProto(req, trustProxy);
  const host = req.headers.host;
  const forNode = address.includes(':') ? `"[${address}]"` : address;
  const headers: OutgoingHttpHeaders = {};
  const ownForwarded =
    `for=${forNode};proto=${proto}` +
    (host === undefined ? '' : `;host="${host.replace(/["\\]/g, '')}"`);
  const incomingFor = req.headers['x-forwarded-for'];
  const chain =
    trustProxy && typeof incomingFor === 'string' && ADDRESS_LIST.test(incomingFor)
      ? `${incomingFor}, ${address}`
      : address;
  headers['forwarded'] = ownForwarded;
  headers['x-forwarded-for'] = chain;
  headers['x-forwarded-proto'] = proto;
  if (host !== undefined) headers['x-forwarded-host'] = host;
  return headers;
}

/**
 * The engine's view of a request, with `secure` from clientProto: behind a trusted proxy the
 * scheme is the one that proxy set (the last X-Forwarded-Proto), never a value the client put
 * first (Basic's and Digest's transport checks and the cookie's Secure flag depend on it).
 */
export function authRequestOf(req: IncomingMessage, options: ResolvedAdapterOptions): AuthRequest {
  return {
    ...toAuthRequest(req, options),
    secure: clientProto(req, options.trustProxy) === 'https',
  };
}
