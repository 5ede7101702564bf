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
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import {
  Agent as HttpsAgent,
  createServer as createHttpsServer,
  request as httpsRequest,
} from 'node:https';
import type { Socket } from 'node:net';
import { createAuthenticator } from '@httpauth/core';
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
} from '@httpauth/core/adapter';
import { answerAuthRequest } from './auth-request.js';
import type { AuthRequestContext } from './auth-request.js';
import { canonicalTarget } from './canonical-path.js';
import type { GatewayConfig } from './config.js';
import { authRequestOf } from './forwarded.js';
import { applyFraming, bodyFraming, guardUpstreamSocket, parseErrorResponse } from './framing.js';
import type { BodyFraming } from './framing.js';
import { createLogger } from './logger.js';
import type { Logger } from './logger.js';
import { GatewayMetrics } from './metrics.js';
import { buildDirectory } from './directory.js';
import { buildPackages, ntlmWarnings, readSecret } from './packages.js';
import { PathRules } from './rules.js';
import { errorJson, json, schemeOf } from './responses.js';
import { handleUpgrade } from './upgrade.js';
import { UpstreamHeaders } from './upstream-headers.js';

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

  const built = buildPackages(config);
  const directory = buildDirectory(config.directory);
  const authenticator = createAuthenticator({
    packages: built.packages,
    ...(directory === undefined ? {} : { directory }),
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
  const exchangeHeaders = new UpstreamHeaders(config, signatureSecret);

  let inFlight = 0;
  let closing = false;

  const upstreamHeaders = (req: IncomingMessage, auth: AuthInfo | undefined, target: string) =>
    exchangeHeaders.request(req, auth, target);

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
    upstreamReq.on('timeout', () =>
      upstreamReq.destroy(Object.assign(new Error('upstream timeout'), { code: 'ETIMEDOUT' })),
    );
    upstreamReq.on('response', (upstreamRes) => {
      res.writeHead(
        upstreamRes.statusCode ?? 502,
        upstreamRes.statusMessage,
        exchangeHeaders.response(upstreamRes, extraHeaders),
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

  const authRequestContext: AuthRequestContext = {
    authenticator,
    adapterOptions,
    rules,
    exchangeHeaders,
    userFormat: config.identity.userFormat,
    recordDecision,
    finish,
    badRequest,
  };

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
      await answerAuthRequest(authRequestContext, req, res, started);
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
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) return;
    // A framing error gets its stable code; other parse errors a bare 400 (no code fits them).
    socket.end(
      parseErrorResponse(error.code, (framing) =>
        framing ? JSON.stringify(errorJson('ERR_HTTPAUTH_BODY_FRAMING')) : '',
      ),
    );
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
          built.close();
          void directory?.close();
          logger.log('info', 'stopped');
          resolve();
        });
        // Idle keep-alive connections would hold close() open: end them now; busy ones finish.
        server.closeIdleConnections();
      });
    },
  };
}
