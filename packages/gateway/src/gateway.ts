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
} from '@httpauth/core/node';
import { canonicalTarget } from './canonical-path.js';
import type { GatewayConfig } from './config.js';
import { authRequestOf, forwardingHeaders } from './forwarded.js';
import { applyFraming, bodyFraming, guardUpstreamSocket } from './framing.js';
import type { BodyFraming } from './framing.js';
import { HOP_BY_HOP, RequestHeaderFilter } from './header-filter.js';
import { identityValues, signIdentity } from './identity.js';
import type { IdentityValues } from './identity.js';
import { createLogger } from './logger.js';
import type { Logger } from './logger.js';
import { GatewayMetrics } from './metrics.js';
import { buildPackages, ntlmWarnings, readSecret } from './packages.js';
import { PathRules } from './rules.js';
import { handleUpgrade } from './upgrade.js';

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

export function createGateway(config: GatewayConfig, options: GatewayOptions = {}): Gateway {
  const logger: Logger = createLogger(config.log.level, options.logWrite);
  const metrics = new GatewayMetrics(config.auth.mechanisms);
  const rules = new PathRules(config.rules, config.pathCase);
  for (const warning of ntlmWarnings(config)) logger.log('warn', warning);
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
  const adapterOptions = resolveAdapterOptions({ trustProxy: config.trustProxy });
  const identityHeaders = new Set(
    [
      config.identity.userHeader,
      config.identity.groupsHeader,
      config.identity.mechanismHeader,
      config.identity.signature?.header,
    ].filter((h): h is string => h !== undefined),
  );
  const headerFilter = new RequestHeaderFilter([...identityHeaders]);
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
    const connectionTokens = RequestHeaderFilter.connectionTokens(req.headers.connection);
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined) continue;
      // Identity, signature and forwarding headers (in any spelling), hop-by-hop and framing.
      if (!headerFilter.allows(name, connectionTokens)) continue;
      if (name === 'authorization' && !config.identity.forwardAuthorization) continue;
      if (name === 'cookie' && sessionKeys !== undefined) {
        const kept = String(value)
          .split(';')
          .map((c) => c.trim())
          .filter((c) => c !== '' && !c.startsWith(sessionCookieName + '='));
        if (kept.length > 0) headers['cookie'] = kept.join('; ');
        continue;
      }
      headers[name] = value;
    }
    Object.assign(headers, forwardingHeaders(req, config.trustProxy));
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

  /** Where a request goes and how its body is framed, decided once before anything is sent. */
  interface Route {
    /** The canonical path the rules judged. */
    readonly path: string;
    /** The canonical target forwarded (and signed). */
    readonly target: string;
    readonly framing: BodyFraming;
  }

  function forward(
    req: IncomingMessage,
    res: ServerResponse,
    auth: AuthInfo | undefined,
    extraHeaders: readonly (readonly [string, string])[],
    started: bigint,
    route: Route,
  ): void {
    const method = req.method ?? 'GET';
    const headers = upstreamHeaders(req, auth, route.target);
    applyFraming(headers, route.framing, method);
    const upstreamReq = sendRequest({
      agent,
      protocol: upstreamUrl.protocol,
      hostname: upstreamUrl.hostname,
      port: upstreamUrl.port,
      method,
      path: upstreamBasePath + route.target,
      headers,
      timeout: config.upstream.timeoutSec * 1000,
      insecureHTTPParser: false,
    });
    guardUpstreamSocket(req, upstreamReq, route.framing);
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
      finish(req, route.path, auth, upstreamRes.statusCode ?? 502, started);
    });
    upstreamReq.on('error', (error: NodeJS.ErrnoException) => {
      metrics.upstreamError(error.code ?? 'error');
      if (!res.headersSent) {
        logger.log('warn', 'upstream unavailable', { code: error.code ?? 'error' });
        json(res, 502, errorJson('ERR_HTTPAUTH_UPSTREAM_UNAVAILABLE'));
        finish(req, route.path, auth, 502, started);
      } else {
        res.destroy();
      }
    });
    // Stream the request body without buffering, framed by applyFraming; no body: none is sent.
    if (route.framing.kind === 'none') {
      upstreamReq.end();
      req.resume();
    } else {
      req.pipe(upstreamReq);
    }
    // A client that goes away mid-request aborts the upstream request too.
    res.on('close', () => {
      if (!res.writableFinished) upstreamReq.destroy();
    });
  }

  function finish(
    req: IncomingMessage,
    path: string,
    auth: AuthInfo | undefined,
    status: number,
    started: bigint,
  ): void {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.request(status, seconds);
    logger.log('info', 'request', {
      method: req.method,
      path,
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

  /** A 400 with a stable code; framing errors also close the connection (the body is unread). */
  function badRequest(
    req: IncomingMessage,
    res: ServerResponse,
    code: ErrorCode,
    started: bigint,
  ): void {
    json(
      res,
      400,
      errorJson(code),
      code === 'ERR_HTTPAUTH_BODY_FRAMING' ? { connection: 'close' } : {},
    );
    finish(req, '-', undefined, 400, started);
  }

  /**
   * nginx auth_request: 200 + identity headers, or the challenge (connection-bound NTLM
   * excluded). X-Original-URI (nginx's $request_uri, raw) is judged in its canonical form.
   */
  async function authRequestEndpoint(
    req: IncomingMessage,
    res: ServerResponse,
    started: bigint,
    own: Route,
  ): Promise<void> {
    const originalUri = req.headers['x-original-uri'];
    const originalMethod = req.headers['x-original-method'];
    const original = typeof originalUri === 'string' ? canonicalTarget(originalUri) : undefined;
    if (original?.ok === false) return badRequest(req, res, 'ERR_HTTPAUTH_PATH_AMBIGUOUS', started);
    // Rules judge the canonical path; Digest's uri and the signature cover the target as nginx
    // received it and passes it on ($request_uri, proxy_pass without a URI part).
    const path = original?.path ?? own.path;
    const target = typeof originalUri === 'string' ? originalUri : own.target;
    const method =
      typeof originalMethod === 'string' && /^[A-Z]{1,16}$/.test(originalMethod)
        ? originalMethod
        : 'GET';
    const base = authRequestOf(req, adapterOptions);
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
      finish(req, path, undefined, decision.status, started);
      return;
    }
    if (!rules.match(path).allows(decision.auth.principal)) {
      json(res, 403, errorJson('ERR_HTTPAUTH_FORBIDDEN'));
      finish(req, path, decision.auth, 403, started);
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
    finish(req, path, decision.auth, 200, started);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const canonical = canonicalTarget(req.url ?? '/');
    if (!canonical.ok) return badRequest(req, res, 'ERR_HTTPAUTH_PATH_AMBIGUOUS', started);
    const framing = bodyFraming(req);
    if (framing.kind === 'refused')
      return badRequest(req, res, 'ERR_HTTPAUTH_BODY_FRAMING', started);
    const route: Route = { path: canonical.path, target: canonical.target, framing };
    const path = canonical.path;
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
      await authRequestEndpoint(req, res, started, route);
      return;
    }
    const rule = rules.match(path);
    if (rule.public) {
      forward(req, res, undefined, [], started, route);
      return;
    }
    const decision = await authenticator.authenticate(authRequestOf(req, adapterOptions));
    recordDecision(req, decision);
    if (decision.type === 'respond') {
      sendChallenge(req, res, decision, adapterOptions);
      finish(req, path, undefined, decision.status, started);
      return;
    }
    disposeWhenDone(res, decision.auth);
    if (!rule.allows(decision.auth.principal)) {
      applySuccessHeaders(res, decision.headers);
      json(res, 403, errorJson('ERR_HTTPAUTH_FORBIDDEN'));
      finish(req, path, decision.auth, 403, started);
      return;
    }
    forward(req, res, decision.auth, decision.headers, started, route);
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
    // Never the lenient parser (not even under --insecure-http-parser): it accepts the
    // ambiguous framings smuggling is built on (RFC 9112 §6.3, §11.2).
    insecureHTTPParser: false,
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
  const upgradeContext = {
    authenticator,
    adapterOptions,
    rules,
    metrics,
    upstreamUrl,
    upstreamBasePath,
    sendRequest,
    upstreamHeaders,
    recordDecision,
    errorJson,
  };
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    handleUpgrade(upgradeContext, req, socket, head).catch(() => socket.destroy());
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
