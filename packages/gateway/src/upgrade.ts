/**
 * WebSocket and other upgrades: judged on the canonical path like any request, authenticated
 * before the upgrade, then spliced to the upstream over a socket of their own (never a pooled
 * one: after an upgrade, or a refused one, the socket's bytes are no longer HTTP/1.1 messages).
 * An upgrade request that declares a body is refused: the bytes after its header would reach
 * the upstream unframed once the tunnel opens.
 *
 * Only `Upgrade: websocket` (RFC 6455 §4.1) is spliced. Any other protocol may carry further
 * HTTP requests through the tunnel (h2c, RFC 7540 §3.2; TLS, RFC 2817 §3), for any path, with
 * any headers, none of them judged by the rules or stripped of forged identity headers; so it
 * is refused before the upstream sees it.
 */
import type {
  ClientRequest,
  IncomingMessage,
  OutgoingHttpHeaders,
  RequestOptions,
} from 'node:http';
import type { Socket } from 'node:net';
import type { AuthDecision, AuthInfo, Authenticator, ErrorCode } from '@httpauth/core';
import type { ResolvedAdapterOptions } from '@httpauth/core/adapter';
import { canonicalTarget } from './canonical-path.js';
import { authRequestOf } from './forwarded.js';
import { bodyFraming } from './framing.js';
import { HOP_BY_HOP } from './header-filter.js';
import type { GatewayMetrics } from './metrics.js';
import type { PathRules } from './rules.js';

export interface UpgradeContext {
  readonly authenticator: Authenticator;
  readonly adapterOptions: ResolvedAdapterOptions;
  readonly rules: PathRules;
  readonly metrics: GatewayMetrics;
  readonly upstreamUrl: URL;
  readonly upstreamBasePath: string;
  readonly sendRequest: (options: RequestOptions) => ClientRequest;
  upstreamHeaders(
    req: IncomingMessage,
    auth: AuthInfo | undefined,
    target: string,
  ): OutgoingHttpHeaders;
  recordDecision(req: IncomingMessage, decision: AuthDecision): void;
  errorJson(code: ErrorCode): unknown;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  502: 'Bad Gateway',
};

function rejectUpgrade(
  context: UpgradeContext,
  socket: Socket,
  status: number,
  headers: readonly (readonly [string, string])[],
  code: ErrorCode,
): void {
  const body = JSON.stringify(context.errorJson(code));
  const lines = [`HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}`];
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  lines.push(
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
  );
  socket.end(lines.join('\r\n') + '\r\n\r\n' + body);
}

/** Authenticate and authorise an upgrade; undefined when it was refused (and answered). */
async function admit(
  context: UpgradeContext,
  req: IncomingMessage,
  socket: Socket,
  path: string,
): Promise<
  { auth: AuthInfo | undefined; extra: readonly (readonly [string, string])[] } | undefined
> {
  const rule = context.rules.match(path);
  if (rule.public) return { auth: undefined, extra: [] };
  const decision = await context.authenticator.authenticate(
    authRequestOf(req, context.adapterOptions),
  );
  context.recordDecision(req, decision);
  if (decision.type === 'respond') {
    rejectUpgrade(context, socket, decision.status, decision.headers, decision.error.code);
    return undefined;
  }
  if (!rule.allows(decision.auth.principal)) {
    rejectUpgrade(context, socket, 403, [], 'ERR_HTTPAUTH_FORBIDDEN');
    void decision.auth.impersonation.dispose();
    return undefined;
  }
  return { auth: decision.auth, extra: decision.headers };
}

export async function handleUpgrade(
  context: UpgradeContext,
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
): Promise<void> {
  socket.on('error', () => socket.destroy());
  const canonical = canonicalTarget(req.url ?? '/');
  if (!canonical.ok) {
    rejectUpgrade(context, socket, 400, [], 'ERR_HTTPAUTH_PATH_AMBIGUOUS');
    return;
  }
  if (req.headers.upgrade?.trim().toLowerCase() !== 'websocket') {
    rejectUpgrade(context, socket, 400, [], 'ERR_HTTPAUTH_UPGRADE_UNSUPPORTED');
    return;
  }
  if (bodyFraming(req).kind !== 'none') {
    rejectUpgrade(context, socket, 400, [], 'ERR_HTTPAUTH_BODY_FRAMING');
    return;
  }
  const admitted = await admit(context, req, socket, canonical.path);
  if (admitted === undefined) return;
  const { auth, extra } = admitted;
  const headers = context.upstreamHeaders(req, auth, canonical.target);
  headers['connection'] = 'Upgrade';
  headers['upgrade'] = 'websocket';
  const upstreamReq = context.sendRequest({
    agent: false,
    protocol: context.upstreamUrl.protocol,
    hostname: context.upstreamUrl.hostname,
    port: context.upstreamUrl.port,
    method: req.method,
    path: context.upstreamBasePath + canonical.target,
    headers,
    insecureHTTPParser: false,
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
    context.metrics.request(101, 0);
  });
  upstreamReq.on('response', (upstreamRes) => {
    // The upstream refused the upgrade: relay its answer and close.
    const lines = [`HTTP/1.1 ${upstreamRes.statusCode ?? 502} ${upstreamRes.statusMessage ?? ''}`];
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
    context.metrics.upstreamError(error.code ?? 'error');
    rejectUpgrade(context, socket, 502, [], 'ERR_HTTPAUTH_UPSTREAM_UNAVAILABLE');
    void auth?.impersonation.dispose();
  });
  upstreamReq.end();
}
