/**
 * The gateway: authenticate every request with httpauth, then forward it to the upstream over a
 * keep-alive pool, streaming bodies both ways, with the identity in headers.
 *
 *   client --(Negotiate/NTLM/Digest/Basic, TLS)--> gateway --(X-Remote-User ...)--> upstream
 *
 * NTLM authenticates the client's TCP connection, so the gateway keeps that state on the client
 * connection only and sends identity per request; an upstream connection is never "logged in"
 * as anyone, and pooled upstream sockets cannot mix users.
 */
import { readFileSync } from 'node:fs';
import {
  Agent as HttpAgent,
  createServer as createHttpServer,
  request as httpRequest,
} from 'node:http';
import type {
  IncomingHttpHeaders,
  IncomingMessage,
  OutgoingHttpHeaders,
  Server,
  ServerResponse,
} from 'node:http';
import {
  Agent as HttpsAgent,
  createServer as createHttpsServer,
  request as httpsRequest,
} from 'node:https';
import type { Socket } from 'node:net';
import { createAuthenticator, errorBody, HttpAuthError } from '@httpauth/core';
import type {
  AuthDecision,
  AuthInfo,
  Authenticator,
  ErrorCode,
  KeyValueStore,
} from '@httpauth/core';
import {
  applySuccessHeaders,
  disposeWhenDone,
  resolveAdapterOptions,
  sendChallenge,
  toAuthRequest,
} from '@httpauth/core/node';
import type { GatewayConfig } from './config.js';
import { identityValues, signIdentity } from './identity.js';
import type { IdentityValues } from './identity.js';
import { createLogger } from './logger.js';
import type { Logger } from './logger.js';
import { GatewayMetrics } from './metrics.js';
import { buildPackages, readSecret } from './packages.js';
import { PathRules, pathOf } from './rules.js';

/** Hop-by-hop headers (RFC 9110 §7.6.1) never forwarded in either direction. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export interface GatewayOptions {
  /** A shared store (e.g. @httpauth/redis) for several gateway nodes. */
  readonly store?: KeyValueStore;
  /** Where log lines go (default stdout). */
  readonly logWrite?: (line: string) => void;
}

export interface Gateway {
  readonly server: Server;
  readonly authenticator: Authenticator;
  readonly metrics: GatewayMetrics;
  /** Start listening; resolves with the bound address. */
  listen(): Promise<{ host: string; port: number }>;
  /** Stop accepting, let in-flight requests finish (up to the grace period), then close. */
  close(): Promise<void>;
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: OutgoingHttpHeaders = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** The JSON body for a stable code, with that code's one fixed message (core's errorBody). */
function errorJson(code: ErrorCode): { error: string; message: string } {
  return errorBody(new HttpAuthError(code));
}

/** The scheme of an Authorization header, for metric labels (never the token). */
function schemeOf(headers: IncomingHttpHeaders): string {
  const value = headers.authorization;
  if (value === undefined) return 'none';
  const match = /^\s*([A-Za-z0-9!#$%&'*+.^_`|~-]{1,20})/.exec(value);
  return match === null ? 'invalid' : (match[1] as string).toLowerCase();
}

function clientAddress(socket: Socket): string {
  return socket.remoteAddress ?? 'unknown';
}

export function createGateway(config: GatewayConfig, options: GatewayOptions = {}): Gateway {
  const logger: Logger = createLogger(config.log.level, options.logWrite);
  const metrics = new GatewayMetrics();
  const rules = new PathRules(config.rules);
  const upstreamUrl = new URL(config.upstream.url);
  const upstreamTls = upstreamUrl.protocol === 'https:';
  const upstreamBasePath = upstreamUrl.pathname.replace(/\/$/, '');
  const agent = upstreamTls
    ? new HttpsAgent({ keepAlive: true, maxSockets: config.upstream.maxSockets })
    : new HttpAgent({ keepAlive: true, maxSockets: config.upstream.maxSockets });
  const sendRequest = upstreamTls ? httpsRequest : httpRequest;
  const signatureSecret =
    config.identity.signature === undefined
      ? undefined
      : readSecret(config.identity.signature.secretFile, 'identity.signature.secretFile', 32);
  const sessionKeys = config.sessions?.keys.map((k) => ({
    id: k.id,
    secret: readSecret(k.secretFile, `sessions key ${k.id}`, 32),
  }));

  const authenticator = createAuthenticator({
    packages: buildPackages(config),
    maxHeaderBytes: config.maxHeaderBytes,
    ...(options.store === undefined ? {} : { store: options.store }),
    ...(sessionKeys === undefined
      ? {}
      : {
          sessions: {
            keys: sessionKeys,
            ...(config.sessions?.cookieName === undefined
              ? {}
              : { cookieName: config.sessions.cookieName }),
            maxAgeMs: (config.sessions?.maxAgeSec ?? 3600) * 1000,
          },
        }),
  });
  const adapterOptions = resolveAdapterOptions({});
  const identityHeaders = new Set(
    [
      config.identity.userHeader,
      config.identity.groupsHeader,
      config.identity.mechanismHeader,
      config.identity.signature?.header,
    ].filter((h): h is string => h !== undefined),
  );
  const sessionCookieName = config.sessions?.cookieName ?? 'httpauth_session';

  let inFlight = 0;
  let closing = false;

  /** Request headers for the upstream: hop-by-hop, identity copies and credentials removed. */
  function upstreamHeaders(
    req: IncomingMessage,
    auth: AuthInfo | undefined,
    target: string,
  ): OutgoingHttpHeaders {
    const headers: OutgoingHttpHeaders = {};
    const connectionTokens = new Set(
      (req.headers.connection ?? '')
        .toLowerCase()
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== ''),
    );
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined) continue;
      if (HOP_BY_HOP.has(name) || connectionTokens.has(name)) continue;
      // Every incoming copy of an identity header goes, whatever its case (Node lower-cases).
      if (identityHeaders.has(name)) continue;
      if (name === 'authorization' && !config.identity.forwardAuthorization) continue;
      if (name === 'forwarded' || name.startsWith('x-forwarded-')) continue;
      if (name === 'cookie' && sessionKeys !== undefined) {
        const kept = String(value)
          .split(';')
          .map((c) => c.trim())
          // Over TLS the session cookie carries the __Host- prefix (see SessionCookies).
          .filter(
            (c) =>
              c !== '' &&
              !c.startsWith(sessionCookieName + '=') &&
              !c.startsWith('__Host-' + sessionCookieName + '='),
          );
        if (kept.length > 0) headers['cookie'] = kept.join('; ');
        continue;
      }
      headers[name] = value;
    }
    // RFC 7239 Forwarded and the de-facto X-Forwarded-* headers, describing this hop.
    const address = clientAddress(req.socket);
    const proto = (req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
    const host = req.headers.host;
    const forNode = address.includes(':') ? `"[${address}]"` : address;
    headers['forwarded'] =
      `for=${forNode};proto=${proto}` +
      (host === undefined ? '' : `;host="${host.replace(/["\\]/g, '')}"`);
    headers['x-forwarded-for'] = address;
    headers['x-forwarded-proto'] = proto;
    if (host !== undefined) headers['x-forwarded-host'] = host;
    if (auth !== undefined) {
      const values = identityValues(auth.principal, config.identity.userFormat);
      setIdentity(headers, values, req.method ?? 'GET', target);
    }
    return headers;
  }

  function setIdentity(
    headers: OutgoingHttpHeaders,
    values: IdentityValues,
    method: string,
    target: string,
  ): void {
    headers[config.identity.userHeader] = values.user;
    headers[config.identity.groupsHeader] = values.groups;
    headers[config.identity.mechanismHeader] = values.mechanism;
    if (signatureSecret !== undefined && config.identity.signature !== undefined) {
      headers[config.identity.signature.header] = signIdentity(
        signatureSecret,
        Math.floor(Date.now() / 1000),
        method,
        target,
        values,
      );
    }
  }

  function responseHeaders(
    upstream: IncomingMessage,
    extra: readonly (readonly [string, string])[],
  ): OutgoingHttpHeaders {
    const headers: OutgoingHttpHeaders = {};
    const connectionTokens = new Set(
      (upstream.headers.connection ?? '')
        .toLowerCase()
        .split(',')
        .map((t) => t.trim()),
    );
    for (const [name, value] of Object.entries(upstream.headers)) {
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

  function forward(
    req: IncomingMessage,
    res: ServerResponse,
    auth: AuthInfo | undefined,
    extraHeaders: readonly (readonly [string, string])[],
    started: bigint,
  ): void {
    const target = req.url ?? '/';
    const upstreamReq = sendRequest({
      agent,
      protocol: upstreamUrl.protocol,
      hostname: upstreamUrl.hostname,
      port: upstreamUrl.port,
      method: req.method,
      path: upstreamBasePath + target,
      headers: upstreamHeaders(req, auth, target),
      timeout: config.upstream.timeoutSec * 1000,
    });
    upstreamReq.on('timeout', () => upstreamReq.destroy(new Error('upstream timeout')));
    upstreamReq.on('response', (upstreamRes) => {
      res.writeHead(
        upstreamRes.statusCode ?? 502,
        upstreamRes.statusMessage,
        responseHeaders(upstreamRes, extraHeaders),
      );
      // pipe(), not pipeline(): Node 20's pipeline() builds an AbortController and an AbortError
      // (a DOMException with a stack trace) for every stream pair, a measurable cost per request.
      upstreamRes.pipe(res);
      upstreamRes.on('error', () => res.destroy());
      res.on('close', () => {
        if (!upstreamRes.complete) upstreamRes.destroy();
      });
      finish(req, res, auth, upstreamRes.statusCode ?? 502, started);
    });
    upstreamReq.on('error', (error: NodeJS.ErrnoException) => {
      metrics.upstreamError(error.code ?? 'error');
      if (!res.headersSent) {
        logger.log('warn', 'upstream unavailable', { code: error.code ?? 'error' });
        json(res, 502, errorJson('ERR_HTTPAUTH_UPSTREAM_UNAVAILABLE'));
        finish(req, res, auth, 502, started);
      } else {
        res.destroy();
      }
    });
    // Stream the request body without buffering; a client abort aborts the upstream request.
    req.pipe(upstreamReq);
    req.on('error', () => upstreamReq.destroy());
    // A client that goes away mid-request aborts the upstream request too.
    res.on('close', () => {
      if (!res.writableFinished) upstreamReq.destroy();
    });
  }

  function finish(
    req: IncomingMessage,
    _res: ServerResponse,
    auth: AuthInfo | undefined,
    status: number,
    started: bigint,
  ): void {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.request(status, seconds);
    logger.log('info', 'request', {
      method: req.method,
      path: pathOf(req.url ?? '/'),
      status,
      ms: Math.round(seconds * 1000),
      ...(auth === undefined
        ? {}
        : { user: auth.principal.name, mechanism: auth.principal.mechanism }),
    });
  }

  function recordDecision(req: IncomingMessage, decision: AuthDecision): void {
    if (decision.type === 'authenticated') {
      metrics.auth('success', decision.auth.principal.mechanism, 'ok');
    } else {
      const code = decision.error.code;
      const outcome =
        code === 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED' || code === 'ERR_HTTPAUTH_HANDSHAKE_CONTINUE'
          ? 'challenge'
          : 'failure';
      metrics.auth(outcome, schemeOf(req.headers), code);
    }
  }

  /** nginx auth_request: 200 + identity headers, or the challenge (connection-bound NTLM excluded). */
  async function authRequestEndpoint(
    req: IncomingMessage,
    res: ServerResponse,
    started: bigint,
  ): Promise<void> {
    const originalUri = req.headers['x-original-uri'];
    const originalMethod = req.headers['x-original-method'];
    const target =
      typeof originalUri === 'string' && originalUri.startsWith('/')
        ? originalUri
        : (req.url ?? '/');
    const method =
      typeof originalMethod === 'string' && /^[A-Z]{1,16}$/.test(originalMethod)
        ? originalMethod
        : 'GET';
    const base = toAuthRequest(req, adapterOptions);
    // nginx opens a new upstream connection per subrequest: no connection-bound handshakes.
    const decision = await authenticator.authenticate({
      ...base,
      method,
      target,
      connection: undefined,
    });
    recordDecision(req, decision);
    if (decision.type === 'respond') {
      sendChallenge(req, res, decision, adapterOptions);
      finish(req, res, undefined, decision.status, started);
      return;
    }
    const rule = rules.find(pathOf(target));
    if (!PathRules.allows(rule, decision.auth.principal)) {
      json(res, 403, errorJson('ERR_HTTPAUTH_FORBIDDEN'));
      finish(req, res, decision.auth, 403, started);
      return;
    }
    const headers: OutgoingHttpHeaders = {};
    setIdentity(
      headers,
      identityValues(decision.auth.principal, config.identity.userFormat),
      method,
      target,
    );
    for (const [name, value] of decision.headers) headers[name] = value;
    res.writeHead(200, { ...headers, 'content-length': 0 });
    res.end();
    void decision.auth.impersonation.dispose();
    finish(req, res, decision.auth, 200, started);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const path = pathOf(req.url ?? '/');
    if (path === config.healthPath) {
      json(res, closing ? 503 : 200, { status: closing ? 'stopping' : 'ok' });
      return;
    }
    if (path === config.metricsPath) {
      const body = metrics.render(authenticator.pendingHandshakes, inFlight);
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(body);
      return;
    }
    if (config.authRequest !== undefined && path === config.authRequest.path) {
      await authRequestEndpoint(req, res, started);
      return;
    }
    const rule = rules.find(path);
    if (rule?.public === true) {
      forward(req, res, undefined, [], started);
      return;
    }
    const decision = await authenticator.authenticate(toAuthRequest(req, adapterOptions));
    recordDecision(req, decision);
    if (decision.type === 'respond') {
      sendChallenge(req, res, decision, adapterOptions);
      finish(req, res, undefined, decision.status, started);
      return;
    }
    disposeWhenDone(res, decision.auth);
    if (!PathRules.allows(rule, decision.auth.principal)) {
      applySuccessHeaders(res, decision.headers);
      json(res, 403, errorJson('ERR_HTTPAUTH_FORBIDDEN'));
      finish(req, res, decision.auth, 403, started);
      return;
    }
    forward(req, res, decision.auth, decision.headers, started);
  }

  /** WebSocket and other upgrades: authenticated before the upgrade, then spliced to upstream. */
  async function handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const path = pathOf(req.url ?? '/');
    const rule = rules.find(path);
    let auth: AuthInfo | undefined;
    let extra: readonly (readonly [string, string])[] = [];
    if (rule?.public !== true) {
      const decision = await authenticator.authenticate(toAuthRequest(req, adapterOptions));
      recordDecision(req, decision);
      if (decision.type === 'respond') {
        rejectUpgrade(socket, decision.status, decision.headers, decision.error.code);
        return;
      }
      if (!PathRules.allows(rule, decision.auth.principal)) {
        rejectUpgrade(socket, 403, [], 'ERR_HTTPAUTH_FORBIDDEN');
        void decision.auth.impersonation.dispose();
        return;
      }
      auth = decision.auth;
      extra = decision.headers;
    }
    const target = req.url ?? '/';
    const headers = upstreamHeaders(req, auth, target);
    headers['connection'] = 'Upgrade';
    headers['upgrade'] = req.headers.upgrade ?? 'websocket';
    const upstreamReq = sendRequest({
      protocol: upstreamUrl.protocol,
      hostname: upstreamUrl.hostname,
      port: upstreamUrl.port,
      method: req.method,
      path: upstreamBasePath + target,
      headers,
    });
    upstreamReq.on('upgrade', (upstreamRes, upstreamSocket, upstreamHead) => {
      const lines = [
        `HTTP/1.1 ${upstreamRes.statusCode ?? 101} ${upstreamRes.statusMessage ?? 'Switching Protocols'}`,
      ];
      for (let i = 0; i < upstreamRes.rawHeaders.length; i += 2) {
        lines.push(`${upstreamRes.rawHeaders[i]}: ${upstreamRes.rawHeaders[i + 1]}`);
      }
      for (const [name, value] of extra) lines.push(`${name}: ${value}`);
      socket.write(lines.join('\r\n') + '\r\n\r\n');
      if (upstreamHead.length > 0) socket.write(upstreamHead);
      if (head.length > 0) upstreamSocket.write(head);
      upstreamSocket.on('error', () => socket.destroy());
      socket.on('close', () => {
        upstreamSocket.destroy();
        void auth?.impersonation.dispose();
      });
      upstreamSocket.on('close', () => socket.destroy());
      upstreamSocket.pipe(socket);
      socket.pipe(upstreamSocket);
      metrics.request(101, 0);
    });
    upstreamReq.on('response', (upstreamRes) => {
      // The upstream refused the upgrade: relay its answer and close.
      const lines = [
        `HTTP/1.1 ${upstreamRes.statusCode ?? 502} ${upstreamRes.statusMessage ?? ''}`,
      ];
      for (let i = 0; i < upstreamRes.rawHeaders.length; i += 2) {
        const name = (upstreamRes.rawHeaders[i] as string).toLowerCase();
        if (HOP_BY_HOP.has(name)) continue;
        lines.push(`${upstreamRes.rawHeaders[i]}: ${upstreamRes.rawHeaders[i + 1]}`);
      }
      lines.push('connection: close');
      socket.write(lines.join('\r\n') + '\r\n\r\n');
      upstreamRes.pipe(socket);
      void auth?.impersonation.dispose();
    });
    upstreamReq.on('error', (error: NodeJS.ErrnoException) => {
      metrics.upstreamError(error.code ?? 'error');
      rejectUpgrade(socket, 502, [], 'ERR_HTTPAUTH_UPSTREAM_UNAVAILABLE');
      void auth?.impersonation.dispose();
    });
    upstreamReq.end();
  }

  function rejectUpgrade(
    socket: Socket,
    status: number,
    headers: readonly (readonly [string, string])[],
    code: ErrorCode,
  ): void {
    const body = JSON.stringify(errorJson(code));
    const lines = [
      `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Error'}`,
    ];
    for (const [name, value] of headers) lines.push(`${name}: ${value}`);
    lines.push(
      'content-type: application/json; charset=utf-8',
      `content-length: ${Buffer.byteLength(body)}`,
      'connection: close',
    );
    socket.end(lines.join('\r\n') + '\r\n\r\n' + body);
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    inFlight++;
    res.once('close', () => inFlight--);
    if (closing) res.setHeader('connection', 'close');
    handle(req, res).catch((error: unknown) => {
      logger.log('error', 'internal error', {
        error: error instanceof Error ? error.name : 'unknown',
      });
      if (!res.headersSent) json(res, 503, errorJson('ERR_HTTPAUTH_INTERNAL'));
      else res.destroy();
    });
  };

  const serverOptions = {
    maxHeaderSize: config.maxHeaderBytes + 16 * 1024,
    keepAliveTimeout: 65_000,
  };
  const server: Server =
    config.listen.tls === undefined
      ? createHttpServer(serverOptions, listener)
      : (createHttpsServer(
          {
            ...serverOptions,
            cert: readFileSync(config.listen.tls.cert),
            key: readFileSync(config.listen.tls.key),
          },
          listener,
        ) as unknown as Server);
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    handleUpgrade(req, socket, head).catch(() => socket.destroy());
  });
  server.on('clientError', (_error, socket: Socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
  });

  return {
    server,
    authenticator,
    metrics,
    listen() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.listen.port, config.listen.host, () => {
          server.off('error', reject);
          const address = server.address();
          const port =
            typeof address === 'object' && address !== null ? address.port : config.listen.port;
          logger.log('info', 'listening', {
            host: config.listen.host,
            port,
            upstream: config.upstream.url,
          });
          resolve({ host: config.listen.host, port });
        });
      });
    },
    close() {
      closing = true;
      return new Promise<void>((resolve) => {
        const deadline = setTimeout(
          () => server.closeAllConnections(),
          config.shutdownGraceSec * 1000,
        );
        deadline.unref();
        server.close(() => {
          clearTimeout(deadline);
          agent.destroy();
          void authenticator.close();
          logger.log('info', 'stopped');
          resolve();
        });
        // Idle keep-alive connections would hold close() open: end them now; busy ones finish.
        server.closeIdleConnections();
      });
    },
  };
}
