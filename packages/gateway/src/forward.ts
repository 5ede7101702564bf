/**
 * Forwarding an admitted request to the upstream over a keep-alive pool, streaming bodies both
 * ways, with the identity in headers. NTLM authenticates the client's TCP connection, so that
 * state stays on the client connection and identity is sent per request: an upstream connection
 * is never "logged in" as anyone, and pooled upstream sockets cannot mix users.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { ClientRequest, IncomingMessage, RequestOptions, ServerResponse } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { AuthInfo } from '@httpauth/core';
import type { GatewayConfig } from './config-types.js';
import { applyFraming, guardClientBody, retireUpstreamSocket } from './framing.js';
import type { BodyFraming } from './framing.js';
import type { Logger } from './logger.js';
import type { ClientView } from './proxy-trust.js';
import type { GatewayMetrics } from './metrics.js';
import type { RequestOutcomes } from './outcomes.js';
import { errorJson, json } from './responses.js';
import type { UpstreamHeaders } from './upstream-headers.js';

/** The application behind the gateway: where requests go, and the pool they share. */
export class Upstream {
  readonly url: URL;
  /** The upstream URL's path without its trailing slash, put before every forwarded target. */
  readonly basePath: string;
  readonly timeoutMs: number;
  readonly #agent: HttpAgent;
  readonly #send: (options: RequestOptions) => ClientRequest;

  constructor(config: GatewayConfig['upstream']) {
    this.url = new URL(config.url);
    this.basePath = this.url.pathname.replace(/\/$/, '');
    this.timeoutMs = config.timeoutSec * 1000;
    const tls = this.url.protocol === 'https:';
    const agentOptions = { keepAlive: true, maxSockets: config.maxSockets };
    this.#agent = tls ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    this.#send = tls ? httpsRequest : httpRequest;
  }

  /**
   * A request to the upstream for `target`. `pooled: false` gives it a socket of its own (an
   * upgrade: once switched, that socket no longer carries HTTP/1.1 messages).
   */
  request(
    method: string,
    target: string,
    headers: RequestOptions['headers'],
    pooled: boolean,
  ): ClientRequest {
    // One object literal per case: Node's agent copies these options for every request.
    const path = this.basePath + target;
    const { protocol, hostname, port } = this.url;
    return this.#send(
      pooled
        ? {
            agent: this.#agent,
            protocol,
            hostname,
            port,
            method,
            path,
            headers,
            timeout: this.timeoutMs,
            insecureHTTPParser: false,
          }
        : {
            agent: false,
            protocol,
            hostname,
            port,
            method,
            path,
            headers,
            insecureHTTPParser: false,
          },
    );
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** Where a request goes and how its body is framed, decided once before anything is sent. */
export interface Route {
  /** The canonical path the rules judged. */
  readonly path: string;
  /** The canonical target forwarded (and signed). */
  readonly target: string;
  readonly framing: BodyFraming;
  /** The client as the gateway takes it (proxy-trust.ts), for the forwarding headers. */
  readonly view: ClientView;
}

export interface ForwardContext {
  readonly upstream: Upstream;
  readonly exchangeHeaders: UpstreamHeaders;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  readonly outcomes: RequestOutcomes;
}

export function forward(
  context: ForwardContext,
  req: IncomingMessage,
  res: ServerResponse,
  auth: AuthInfo | undefined,
  extraHeaders: readonly (readonly [string, string])[],
  started: bigint,
  route: Route,
): void {
  const { upstream, exchangeHeaders, metrics, logger, outcomes } = context;
  const method = req.method ?? 'GET';
  const headers = exchangeHeaders.request(req, auth, route.target, route.view);
  applyFraming(headers, route.framing, method);
  const upstreamReq = upstream.request(method, route.target, headers, true);
  guardClientBody(req, upstreamReq, route.framing);
  let upstreamRes: IncomingMessage | undefined;
  upstreamReq.on('timeout', () => {
    retireUpstreamSocket(upstreamReq);
    upstreamReq.destroy(Object.assign(new Error('upstream timeout'), { code: 'ETIMEDOUT' }));
  });
  upstreamReq.on('response', (response) => {
    upstreamRes = response;
    // An early answer (before the whole body went out) leaves the rest of the exchange in
    // doubt: finish it, but on a socket that will be closed afterwards.
    if (!upstreamReq.writableFinished) retireUpstreamSocket(upstreamReq);
    res.writeHead(
      response.statusCode ?? 502,
      response.statusMessage,
      exchangeHeaders.response(response, extraHeaders),
    );
    // pipe(), not pipeline(): Node 20's pipeline() builds an AbortController and an AbortError
    // (a DOMException with a stack trace) for every stream pair, a measurable cost per request.
    response.pipe(res);
    response.on('error', () => res.destroy());
    outcomes.finish(req, route.path, auth, response.statusCode ?? 502, started);
  });
  upstreamReq.on('error', (error: NodeJS.ErrnoException) => {
    retireUpstreamSocket(upstreamReq);
    metrics.upstreamError(error.code ?? 'error');
    if (!res.headersSent) {
      logger.log('warn', 'upstream unavailable', { code: error.code ?? 'error' });
      json(res, 502, errorJson('ERR_HTTPAUTH_UPSTREAM_UNAVAILABLE'));
      outcomes.finish(req, route.path, auth, 502, started);
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
  // A client that goes away mid-request aborts the upstream request (and its response) too.
  res.on('close', () => {
    if (!res.writableFinished) upstreamReq.destroy();
    if (upstreamRes !== undefined && !upstreamRes.complete) upstreamRes.destroy();
  });
}
