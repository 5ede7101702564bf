/**
 * Request translation: a Node request (HTTP/1.x `IncomingMessage` or the HTTP/2 compatibility
 * `Http2ServerRequest`) becomes the engine's framework-neutral AuthRequest.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { peerChain } from '../certificate/peer-chain.js';
import { lastForwardedFor } from '../loop/client-address.js';
import type { AuthRequest, Connection, HeaderBag } from '../security-package.js';
import type { BodyLoader } from './body.js';
import type { NodeRequest } from './message.js';
import type { ResolvedAdapterOptions } from './options.js';

const certificateCache = new WeakMap<object, Buffer | null>();

/** DER of the certificate this server presented on a TLS socket (for tls-server-end-point). */
export function localCertificateOf(socket: object): Buffer | undefined {
  const cached = certificateCache.get(socket);
  if (cached !== undefined) return cached ?? undefined;
  let der: Buffer | null = null;
  const tls = socket as Partial<TLSSocket>;
  if (tls.encrypted === true && typeof tls.getCertificate === 'function') {
    const certificate = tls.getCertificate();
    if (certificate !== null && typeof certificate === 'object' && 'raw' in certificate) {
      der = certificate.raw;
    }
    // The certificate is known only once the handshake is done; cache only then.
    certificateCache.set(socket, der);
  }
  return der ?? undefined;
}

/**
 * The TLS socket of a request's connection. HTTP/2's compatibility request exposes a proxy object
 * as `req.socket`; the connection itself is `req.stream.session.socket`, and a client certificate
 * belongs to the connection (RFC 9113 §9.2.3 forbids renegotiation), so all streams share it.
 */
function tlsSocketOf(
  req: NodeRequest,
  requestSocket: Partial<TLSSocket> | null,
  httpVersionMajor: number,
): Partial<TLSSocket> | undefined {
  // HTTP/1.x: the request's socket is the connection (Express's requests make every extra
  // property read cost, a missing one most: `stream` is read only where it exists).
  const stream =
    httpVersionMajor >= 2
      ? (req as { stream?: { session?: { socket?: unknown } } }).stream
      : undefined;
  const socket = (stream?.session?.socket ?? requestSocket) as Partial<TLSSocket> | null;
  if (socket === null || socket === undefined || socket.encrypted !== true) return undefined;
  return typeof socket.getPeerCertificate === 'function' ? socket : undefined;
}

/**
 * What the glue knows of the current handshake of a TLS socket: the client's chain, read once,
 * and the object that stands for the handshake (`AuthRequest.tlsHandshake`).
 */
interface TlsHandshake {
  /**
   * The handshake's Finished message (RFC 5246 §7.4.9), unique to it, so a TLS 1.2 renegotiation
   * (which could bring another certificate) is seen as a new handshake. Undefined for TLS 1.3,
   * which has no renegotiation (RFC 8446 §4.1.2: a ClientHello after the handshake ends the
   * connection): its first handshake is its only one, and nothing needs comparing per request.
   */
  readonly finished: Buffer | undefined;
  readonly key: object;
  /**
   * The client's chain as AuthRequest.peerCertificateChain wants it: a function made once per
   * handshake (not per request), building the chain on its first call and keeping it.
   */
  readonly chain: () => readonly Buffer[];
}

const handshakes = new WeakMap<object, TlsHandshake>();

/**
 * The socket's current handshake, or undefined while it is not done (no Finished message yet:
 * nothing to key a result to). TLS 1.3 costs one WeakMap lookup per request; TLS 1.2 and below
 * also compare the Finished message, which is how a renegotiation shows.
 */
function handshakeOf(socket: Partial<TLSSocket>): TlsHandshake | undefined {
  const known = handshakes.get(socket);
  if (known !== undefined && known.finished === undefined) return known;
  const finished = typeof socket.getFinished === 'function' ? socket.getFinished() : undefined;
  if (finished === undefined) return undefined;
  if (known?.finished?.equals(finished) === true) return known;
  const final = typeof socket.getProtocol === 'function' && socket.getProtocol() === 'TLSv1.3';
  const handshake = { finished: final ? undefined : finished, key: {}, chain: chainOnce(socket) };
  handshakes.set(socket, handshake);
  return handshake;
}

/**
 * The client chain of a TLS handshake, built on first use and kept: `getPeerCertificate(true)`
 * turns every certificate of the chain into a JS object, too costly for each request of a
 * kept-alive connection.
 */
function chainOnce(socket: Partial<TLSSocket>): () => readonly Buffer[] {
  let chain: readonly Buffer[] | undefined;
  return () => (chain ??= peerChain(socket.getPeerCertificate!(true)));
}

/**
 * The protocol the nearest proxy saw: the last element of X-Forwarded-Proto. A proxy that appends
 * (several do, and Node joins repeated header lines with ", ") puts its own value last; anything
 * before it came from further away, possibly from the client itself, which could otherwise claim
 * `https` over plain HTTP and have Basic credentials accepted in clear text.
 */
function lastForwardedProto(value: string | readonly string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value.at(-1) : (value as string | undefined);
  if (text === undefined) return undefined;
  const comma = text.lastIndexOf(',');
  return (comma === -1 ? text : text.slice(comma + 1)).trim().toLowerCase();
}

/** True when the client reached us over TLS (directly, or through a trusted proxy). */
export function isSecure(req: NodeRequest, options: ResolvedAdapterOptions): boolean {
  if (options.trustProxy) {
    const proto = lastForwardedProto(req.headers['x-forwarded-proto']);
    if (proto !== undefined) return proto === 'https';
  }
  return (req.socket as Partial<TLSSocket>).encrypted === true;
}

/** True when an Authorization or Proxy-Authorization line appears more than once. */
function repeatsCredentials(req: NodeRequest): boolean {
  const raw = req.rawHeaders;
  let authorization = 0;
  let proxyAuthorization = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    // Only names of the right length are lower-cased and compared.
    if (name.length === 13 && name.toLowerCase() === 'authorization') authorization++;
    else if (name.length === 19 && name.toLowerCase() === 'proxy-authorization') {
      proxyAuthorization++;
    }
  }
  return authorization > 1 || proxyAuthorization > 1;
}

/**
 * The header bag for the engine. Node folds repeated Authorization headers into one value and
 * drops the rest in `req.headers`; `req.headersDistinct` keeps them all, so the engine can
 * refuse a request carrying two sets of credentials (ERR_HTTPAUTH_MULTIPLE_CREDENTIALS).
 */
export function headerBagOf(req: NodeRequest): HeaderBag {
  const headers = req.headers;
  if (headers.authorization === undefined && headers['proxy-authorization'] === undefined) {
    return headers;
  }
  // HTTP/1.x keeps every line in rawHeaders: counting there is far cheaper than
  // headersDistinct, which builds an array for every header of the request, on every request.
  if (req.httpVersionMajor < 2 && Array.isArray(req.rawHeaders) && !repeatsCredentials(req)) {
    return headers;
  }
  const distinct = (req as Partial<IncomingMessage>).headersDistinct;
  if (distinct === undefined) return headers;
  const bag: Record<string, string | readonly string[] | undefined> = { ...headers };
  if (distinct.authorization !== undefined) bag.authorization = distinct.authorization;
  if (distinct['proxy-authorization'] !== undefined) {
    bag['proxy-authorization'] = distinct['proxy-authorization'];
  }
  return bag;
}

/** Build the engine's view of a Node request. */
export function toAuthRequest(
  req: NodeRequest,
  options: ResolvedAdapterOptions,
  body?: BodyLoader,
  /** The request-target as received, when a router has rewritten `req.url` (Express mounts). */
  target?: string,
): AuthRequest {
  // Each property of `req` is read once: an Express request is a slow object to read from.
  const httpVersionMajor = req.httpVersionMajor;
  const socket = req.socket as (Partial<TLSSocket> & object) | null;
  const encrypted = socket !== null && socket.encrypted === true;
  const secure = options.trustProxy ? isSecure(req, options) : encrypted;
  // Behind a trusted proxy the peer of our socket is the proxy, whose certificate says nothing
  // about the client (forwarded-certificate headers are not trusted either): no chain.
  const tls =
    options.trustProxy || (!encrypted && httpVersionMajor < 2)
      ? undefined
      : tlsSocketOf(req, socket, httpVersionMajor);
  const handshake = tls === undefined ? undefined : handshakeOf(tls);
  // One object shape for every request, the TLS fields undefined without a peer: the engine's
  // property reads stay monomorphic, and no spread copies them in. The chain is a function
  // (called only when a certificate package is configured), made once per handshake; a
  // handshake not done yet has nothing to key it to, and reads it for this request alone.
  return {
    method: req.method ?? 'GET',
    // The raw request-target, not a router's rewritten path: Digest compares its uri to it.
    target: target ?? req.url ?? '/',
    headers: headerBagOf(req),
    // A connection only means something for HTTP/1.x; over HTTP/2 many requests share one.
    connection:
      httpVersionMajor < 2 && socket !== null ? (socket as unknown as Connection) : undefined,
    httpVersionMajor,
    secure,
    localCertificate: encrypted ? localCertificateOf(socket) : undefined,
    peerCertificateChain: tls === undefined ? undefined : (handshake?.chain ?? chainOnce(tls)),
    tlsConnection: tls,
    tlsHandshake: handshake?.key,
    body: body === undefined ? undefined : () => body.load(),
    // Behind a trusted proxy the socket's peer is the proxy: the client is what it forwarded.
    clientAddress:
      (options.trustProxy ? lastForwardedFor(req.headers['x-forwarded-for']) : undefined) ??
      socket?.remoteAddress,
    viaTrustedProxy: options.trustProxy,
  };
}
