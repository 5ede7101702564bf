/**
 * What every framework adapter shares, so each adapter stays a few dozen lines: resolving the
 * authenticator and the adapter options, turning a Node request into an AuthRequest, turning a
 * decision into a response, draining the body of a challenged request, and disposing of the
 * impersonation context when the response is over.
 *
 * Works on `http.IncomingMessage` / `http.ServerResponse` and on the HTTP/2 compatibility API
 * (`http2.Http2ServerRequest` / `Http2ServerResponse`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { HttpAuthError, isHttpAuthError } from '../errors.js';
import type { AuthRequest, Connection, HeaderBag } from '../security-package.js';
import type {
  AuthDecision,
  AuthInfo,
  Authenticator,
  AuthenticatorOptions,
  Header,
} from '../loop/authenticator.js';
import { createAuthenticator, errorBody } from '../loop/authenticator.js';
import { lastForwardedFor } from '../loop/client-address.js';

/** Options every adapter understands, next to the authenticator's own. */
export interface AdapterOptions {
  /**
   * Trust `X-Forwarded-Proto` from a reverse proxy to say whether the client connection is TLS.
   * Only enable this when every request reaches the server through a proxy that sets the header.
   * The last value counts (the one the nearest proxy set or appended); earlier ones may come from
   * the client.
   */
  readonly trustProxy?: boolean;
  /**
   * Make the request body available to Digest `qop=auth-int` (RFC 7616 §3.4.3 hashes the entity
   * body). `true` buffers up to 1 MiB; `{ maxBytes }` sets the cap. The body is read only when a
   * client actually answers with auth-int; larger bodies get 400 ERR_HTTPAUTH_BODY_TOO_LARGE.
   */
  readonly integrityBody?: boolean | { readonly maxBytes?: number };
  /**
   * The body a challenged request may declare and still keep its connection alive (default
   * 1 MiB): Node reads and discards it so the next request on the connection can be parsed. A
   * larger declared body gets `Connection: close` instead, except during a connection-bound
   * handshake, whose next leg must arrive on the same connection.
   */
  readonly maxDrainBytes?: number;
}

export interface ResolvedAdapterOptions {
  readonly trustProxy: boolean;
  /** 0 when auth-int bodies are not made available. */
  readonly integrityBodyMaxBytes: number;
  readonly maxDrainBytes: number;
}

export const DEFAULT_INTEGRITY_BODY_BYTES = 1024 * 1024;
export const DEFAULT_MAX_DRAIN_BYTES = 1024 * 1024;

/** The adapters take a ready authenticator, or the options to build one. */
export type AuthenticatorSource = Authenticator | AuthenticatorOptions;

export function isAuthenticator(value: unknown): value is Authenticator {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { authenticate?: unknown }).authenticate === 'function'
  );
}

function invalidOptions(): never {
  throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
}

function positiveInteger(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) invalidOptions();
  return value;
}

/** Validate adapter options at registration; throws ERR_HTTPAUTH_INVALID_OPTIONS. */
export function resolveAdapterOptions(options: AdapterOptions = {}): ResolvedAdapterOptions {
  if (typeof options !== 'object' || options === null) invalidOptions();
  const { trustProxy, integrityBody, maxDrainBytes } = options;
  if (trustProxy !== undefined && typeof trustProxy !== 'boolean') invalidOptions();
  let integrityBodyMaxBytes = 0;
  if (integrityBody === true) {
    integrityBodyMaxBytes = DEFAULT_INTEGRITY_BODY_BYTES;
  } else if (typeof integrityBody === 'object' && integrityBody !== null) {
    integrityBodyMaxBytes =
      integrityBody.maxBytes === undefined
        ? DEFAULT_INTEGRITY_BODY_BYTES
        : positiveInteger(integrityBody.maxBytes);
  } else if (integrityBody !== undefined && integrityBody !== false) {
    invalidOptions();
  }
  return {
    trustProxy: trustProxy === true,
    integrityBodyMaxBytes,
    maxDrainBytes:
      maxDrainBytes === undefined ? DEFAULT_MAX_DRAIN_BYTES : positiveInteger(maxDrainBytes),
  };
}

/**
 * Adapter options given inline with the authenticator options (`httpAuth({ packages, trustProxy
 * })`), overridden by those given separately; an Authenticator carries none.
 */
export function resolveAdapterOptionsFrom(
  source: AuthenticatorSource | (AuthenticatorOptions & AdapterOptions),
  override: AdapterOptions = {},
): ResolvedAdapterOptions {
  if (typeof override !== 'object' || override === null) invalidOptions();
  const inline: AdapterOptions =
    typeof source === 'object' && source !== null && !isAuthenticator(source)
      ? (source as AdapterOptions)
      : {};
  const merged: { -readonly [K in keyof AdapterOptions]: AdapterOptions[K] } = {};
  for (const key of ['trustProxy', 'integrityBody', 'maxDrainBytes'] as const) {
    const value = override[key] ?? inline[key];
    if (value !== undefined) Object.assign(merged, { [key]: value });
  }
  return resolveAdapterOptions(merged);
}

/**
 * The authenticator to use: the one given, or a new one built from options (then the adapter
 * owns it and closes it when the framework shuts down, where the framework has such a hook).
 */
export function resolveAuthenticator(source: AuthenticatorSource): {
  authenticator: Authenticator;
  owned: boolean;
} {
  if (typeof source !== 'object' || source === null) invalidOptions();
  if (isAuthenticator(source)) return { authenticator: source, owned: false };
  return { authenticator: createAuthenticator(source), owned: true };
}

/** Requests the adapters accept: Node's HTTP/1.x request or the HTTP/2 compatibility request. */
export type NodeRequest = IncomingMessage | Http2ServerRequest;
export type NodeResponse = ServerResponse | Http2ServerResponse;

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
  const distinct = (req as Partial<IncomingMessage>).headersDistinct;
  if (distinct === undefined) return headers;
  const bag: Record<string, string | readonly string[] | undefined> = { ...headers };
  if (distinct.authorization !== undefined) bag.authorization = distinct.authorization;
  if (distinct['proxy-authorization'] !== undefined) {
    bag['proxy-authorization'] = distinct['proxy-authorization'];
  }
  return bag;
}

/** A lazily started, size-capped, memoised read of a request body (for Digest auth-int). */
export interface BodyLoader {
  /** Reads the whole body once; later calls return the same promise. */
  load(): Promise<Buffer>;
  /** The body, once read completely. */
  readonly body: Buffer | undefined;
  /** True once `load()` was called: the stream now belongs to the loader. */
  readonly started: boolean;
  /** True when reading failed or stopped at the cap, leaving unread bytes on the connection. */
  readonly failed: boolean;
}

function declaredLength(req: NodeRequest): number | undefined {
  const value = req.headers['content-length'];
  if (value === undefined || !/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}

/**
 * A body loader over `stream` (the request itself, or the payload stream a framework hands to
 * its hooks). `req` supplies the declared Content-Length, checked before reading anything.
 */
export function createBodyLoader(req: NodeRequest, stream: Readable, maxBytes: number): BodyLoader {
  let promise: Promise<Buffer> | undefined;
  let body: Buffer | undefined;
  let failed = false;
  const read = (): Promise<Buffer> =>
    new Promise<Buffer>((resolve, reject) => {
      const declared = declaredLength(req);
      if (declared !== undefined && declared > maxBytes) {
        failed = true;
        reject(new HttpAuthError('ERR_HTTPAUTH_BODY_TOO_LARGE'));
        return;
      }
      if (stream.readableEnded || stream.destroyed) {
        // Someone else (a body parser mounted earlier) consumed it: fail closed.
        failed = true;
        reject(new HttpAuthError('ERR_HTTPAUTH_BODY_UNREADABLE'));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      const cleanup = (): void => {
        stream.off('data', onData);
        stream.off('end', onEnd);
        stream.off('error', onError);
        stream.off('close', onClose);
      };
      const onData = (chunk: Buffer | string): void => {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        size += bytes.length;
        if (size > maxBytes) {
          cleanup();
          stream.pause();
          failed = true;
          reject(new HttpAuthError('ERR_HTTPAUTH_BODY_TOO_LARGE'));
          return;
        }
        chunks.push(bytes);
      };
      const onEnd = (): void => {
        cleanup();
        body = Buffer.concat(chunks, size);
        resolve(body);
      };
      const onError = (): void => {
        cleanup();
        failed = true;
        reject(new HttpAuthError('ERR_HTTPAUTH_BODY_UNREADABLE'));
      };
      const onClose = (): void => {
        if (!stream.readableEnded) onError();
      };
      stream.on('data', onData);
      stream.on('end', onEnd);
      stream.on('error', onError);
      stream.on('close', onClose);
      stream.resume();
    });
  return {
    load() {
      promise ??= read();
      return promise;
    },
    get body() {
      return body;
    },
    get started() {
      return promise !== undefined;
    },
    get failed() {
      return failed;
    },
  };
}

/** Build the engine's view of a Node request. */
export function toAuthRequest(
  req: NodeRequest,
  options: ResolvedAdapterOptions,
  body?: BodyLoader,
  /** The request-target as received, when a router has rewritten `req.url` (Express mounts). */
  target?: string,
): AuthRequest {
  const httpVersionMajor = req.httpVersionMajor;
  const socket = req.socket as object | null;
  const secure = isSecure(req, options);
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
    localCertificate: socket === null ? undefined : localCertificateOf(socket),
    body: body === undefined ? undefined : () => body.load(),
    // Behind a trusted proxy the socket's peer is the proxy: the client is what it forwarded.
    clientAddress:
      (options.trustProxy ? lastForwardedFor(req.headers['x-forwarded-for']) : undefined) ??
      req.socket?.remoteAddress,
    viaTrustedProxy: options.trustProxy,
  };
}

/** What to send for a `respond` decision, in framework-neutral form. */
export interface ChallengeResponse {
  readonly status: number;
  /** Header name -> values; several values mean several header lines. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  /** `{"error": CODE, "message": MESSAGE}` */
  readonly body: string;
  /** True when the connection should close after this response instead of being drained. */
  readonly closeConnection: boolean;
}

/** Group decision headers by name, keeping their order (WWW-Authenticate in offer order). */
export function groupHeaders(headers: readonly Header[]): Map<string, string[]> {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    const list = grouped.get(key);
    if (list === undefined) grouped.set(key, [value]);
    else list.push(value);
  }
  return grouped;
}

function hasUnreadBody(req: NodeRequest): boolean {
  if (req.complete) return false;
  const declared = declaredLength(req);
  return (declared !== undefined && declared > 0) || req.headers['transfer-encoding'] !== undefined;
}

/**
 * True while a connection-bound handshake is in progress: the client's next leg must arrive on
 * this same connection, so it may not be closed whatever the body.
 */
function handshakeInProgress(decision: AuthDecision & { type: 'respond' }): boolean {
  return decision.error.code === 'ERR_HTTPAUTH_HANDSHAKE_CONTINUE';
}

export function challengeResponse(
  req: NodeRequest,
  decision: AuthDecision & { type: 'respond' },
  options: ResolvedAdapterOptions,
  body?: BodyLoader,
): ChallengeResponse {
  const headers = groupHeaders(decision.headers);
  headers.set('content-type', ['application/json; charset=utf-8']);
  let closeConnection = false;
  if (req.httpVersionMajor < 2 && !handshakeInProgress(decision)) {
    const declared = declaredLength(req);
    // A body cut short by the auth-int cap leaves bytes Node would have to read and discard.
    if (body?.failed === true) closeConnection = hasUnreadBody(req);
    else if (declared !== undefined && declared > options.maxDrainBytes) {
      closeConnection = hasUnreadBody(req);
    }
  }
  if (closeConnection) headers.set('connection', ['close']);
  return {
    status: decision.status,
    headers,
    body: JSON.stringify(errorBody(decision.error)),
    closeConnection,
  };
}

/**
 * Read and discard the rest of a challenged request's body, so the connection can carry the
 * client's next attempt (HTTP/1.1 keep-alive; NTLM needs the same connection). Node's server
 * would dump an unread body after the response too; doing it here also bounds a chunked body of
 * unknown size: past `maxDrainBytes` the socket is closed once the response is out, except
 * during a handshake.
 */
export function drainRequestBody(
  req: NodeRequest,
  res: NodeResponse,
  response: ChallengeResponse,
  options: ResolvedAdapterOptions,
  keepConnection: boolean,
): void {
  if (req.httpVersionMajor >= 2 || response.closeConnection || !hasUnreadBody(req)) return;
  if (req.readableEnded || req.destroyed) return;
  let size = 0;
  const socket = req.socket;
  const stop = (): void => {
    req.off('data', onData);
    if (res.writableFinished) socket.destroy();
    else res.once('finish', () => socket.destroy());
  };
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    if (!keepConnection && size > options.maxDrainBytes) stop();
  };
  req.on('data', onData);
  req.resume();
}

/** Whether a challenged response must keep its connection whatever the body (handshake leg). */
export function keepsConnection(decision: AuthDecision & { type: 'respond' }): boolean {
  return handshakeInProgress(decision);
}

/**
 * Write a `respond` decision straight to a Node response (node:http handler, Express). Also
 * drains the request body.
 */
export function sendChallenge(
  req: NodeRequest,
  res: NodeResponse,
  decision: AuthDecision & { type: 'respond' },
  options: ResolvedAdapterOptions,
  body?: BodyLoader,
): void {
  const response = challengeResponse(req, decision, options, body);
  if (res.headersSent) {
    res.end();
    return;
  }
  res.statusCode = response.status;
  for (const [name, values] of response.headers) {
    if (name === 'connection' && req.httpVersionMajor >= 2) continue;
    res.setHeader(name, values.length === 1 ? (values[0] as string) : [...values]);
  }
  res.setHeader('content-length', Buffer.byteLength(response.body));
  drainRequestBody(req, res, response, options, keepsConnection(decision));
  res.end(response.body);
}

/** Add the success headers (mutual-authentication token, Authentication-Info) to a response. */
export function applySuccessHeaders(res: NodeResponse, headers: readonly Header[]): void {
  for (const [name, values] of groupHeaders(headers)) {
    const existing = res.getHeader(name);
    const merged: string[] = [];
    if (Array.isArray(existing)) merged.push(...existing.map(String));
    else if (existing !== undefined) merged.push(String(existing));
    merged.push(...values);
    res.setHeader(name, merged.length === 1 ? (merged[0] as string) : merged);
  }
}

/**
 * Call `auth.impersonation.dispose()` once, when the response finishes or the connection closes
 * first (the SSPI RevertToSelf / DeleteSecurityContext step). A failing dispose is reported to
 * `onError` rather than thrown, since nobody is left to catch it.
 */
export function disposeWhenDone(
  res: NodeResponse,
  auth: AuthInfo,
  onError?: (error: unknown) => void,
): void {
  // Listening for the end of every response costs about a tenth of Express's throughput; an
  // identify context has nothing to revert, so there is nothing to wait for.
  if (auth.impersonation.needsDispose === false) return;
  let done = false;
  const dispose = (): void => {
    if (done) return;
    done = true;
    res.off('finish', dispose);
    res.off('close', dispose);
    auth.impersonation.dispose().catch((error: unknown) => onError?.(error));
  };
  if (res.writableFinished || res.destroyed) {
    // Too late to wait for anything: release immediately.
    queueMicrotask(dispose);
    return;
  }
  res.once('finish', dispose);
  res.once('close', dispose);
}

/** Wrap anything thrown by an adapter step into our error type (never a raw 500 with details). */
export function asHttpAuthError(error: unknown): HttpAuthError {
  return isHttpAuthError(error)
    ? error
    : new HttpAuthError('ERR_HTTPAUTH_INTERNAL', { cause: error });
}
