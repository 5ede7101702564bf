/**
 * Who is on the other end of a request, for the connection-bound packages: the client's address
 * (per-client handshake quotas count against it) and whether a proxy stands between the client
 * and this server (then one backend connection may carry several clients' requests, so a
 * connection-level authentication must not outlive the request that made it).
 */
import type { AuthRequest, HeaderBag } from '../security-package.js';

/** The last entry of X-Forwarded-For: the one the nearest proxy appended (the client it saw). */
export function lastForwardedFor(
  value: string | readonly string[] | undefined,
): string | undefined {
  const text = typeof value === 'string' ? value : value?.at(-1);
  if (text === undefined) return undefined;
  const entry = text.slice(text.lastIndexOf(',') + 1).trim();
  return entry === '' ? undefined : entry;
}

/**
 * The address a request's handshake counts against: the forwarded client behind a trusted
 * proxy, else the socket's peer; '' when neither is known.
 */
export function clientAddressOf(
  request: AuthRequest,
  connection: { readonly remoteAddress?: unknown } | undefined,
): string {
  if (typeof request.clientAddress === 'string' && request.clientAddress !== '') {
    return request.clientAddress;
  }
  const peer = connection?.remoteAddress;
  return typeof peer === 'string' ? peer : '';
}

/**
 * True when the request came through a proxy: the adapter trusts one (`trustProxy`), or the
 * request carries a header a proxy adds. A direct client that sends such a header only turns
 * persistence off for its own connection.
 */
export function cameThroughProxy(request: AuthRequest): boolean {
  if (request.viaTrustedProxy === true) return true;
  // Headers a proxy adds to the requests it forwards (RFC 7239 §4, de facto, RFC 9110 §7.6.3).
  const headers: HeaderBag = request.headers;
  return (
    headers.forwarded !== undefined ||
    headers['x-forwarded-for'] !== undefined ||
    headers.via !== undefined
  );
}
