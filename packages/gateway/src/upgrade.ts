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
import { STATUS_CODES } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { HttpAuthError } from '@httpauth/core';
import type { AuthDecision, AuthInfo, Authenticator, ErrorCode } from '@httpauth/core';
import { challengeResponse } from '@httpauth/core/adapter';
import type { ResolvedAdapterOptions } from '@httpauth/core/adapter';
import { canonicalTarget } from './canonical-path.js';
import { authRequestOf } from './forwarded.js';
import type { ProxyTrust } from './proxy-trust.js';
import { bodyFraming } from './framing.js';
import { HOP_BY_HOP } from './header-filter.js';
import type { GatewayMetrics } from './metrics.js';
import type { RequestOutcomes } from './outcomes.js';
import type { Site, SiteMap } from './routes.js';

export interface UpgradeContext {
  readonly authenticator: Authenticator;
  readonly adapterOptions: ResolvedAdapterOptions;
  /** Which front proxies are believed (proxy-trust.ts). */
  readonly trust: ProxyTrust;
  /** The top-level upstream and the routes (routes.ts). */
  readonly sites: SiteMap;
  readonly metrics: GatewayMetrics;
  readonly outcomes: RequestOutcomes;
}

type Refusal = AuthDecision & { readonly type: 'respond' };

/** A refusal the gateway decides itself (bad target, forbidden, upstream down), as a decision. */
function refusal(status: number, code: ErrorCode): Refusal {
  return {
    type: 'respond',
    scheme: undefined,
    status,
    headers: [],
    error: new HttpAuthError(code),
  };
}

/**
 * Answer a refused upgrade with core's challenge response (status, WWW-Authenticate lines and
 * the `{error, message}` body every adapter sends), written on the raw socket, which is then
 * closed: an upgrade request's socket carries no further HTTP/1.1 messages once refused.
 */
function rejectUpgrade(
  context: UpgradeContext,
  req: IncomingMessage,
  socket: Socket,
  decision: Refusal,
): void {
  const response = challengeResponse(req, decision, context.adapterOptions);
  const lines = [`HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? 'Error'}`];
  for (const [name, values] of response.headers) {
    if (name === 'connection') continue;
    for (const value of values) lines.push(`${name}: ${value}`);
  }
  lines.push(`content-length: ${Buffer.byteLength(response.body)}`, 'connection: close');
  socket.end(lines.join('\r\n') + '\r\n\r\n' + response.body);
}

/** Authenticate and authorise an upgrade; undefined when it was refused (and answered). */
async function admit(
  context: UpgradeContext & Site,
  req: IncomingMessage,
  socket: Socket,
  path: string,
): Promise<
  { auth: AuthInfo | undefined; extra: readonly (readonly [string, string])[] } | undefined
> {
  const rule = context.rules.match(path);
  if (rule.public) return { auth: undefined, extra: [] };
  const started = process.hrtime.bigint();
  const request = authRequestOf(req, context.adapterOptions, context.trust.view(req));
  const decision = await context.authenticator.authenticate(request);
  context.outcomes.recordDecision(decision, request, started);
  if (decision.type === 'respond') {
    rejectUpgrade(context, req, socket, decision);
    return undefined;
  }
  if (!rule.allows(decision.auth)) {
    rejectUpgrade(context, req, socket, refusal(403, 'ERR_HTTPAUTH_FORBIDDEN'));
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
    rejectUpgrade(context, req, socket, refusal(400, 'ERR_HTTPAUTH_PATH_AMBIGUOUS'));
    return;
  }
  if (req.headers.upgrade?.trim().toLowerCase() !== 'websocket') {
    rejectUpgrade(context, req, socket, refusal(400, 'ERR_HTTPAUTH_UPGRADE_UNSUPPORTED'));
    return;
  }
  if (bodyFraming(req).kind !== 'none') {
    rejectUpgrade(context, req, socket, refusal(400, 'ERR_HTTPAUTH_BODY_FRAMING'));
    return;
  }
  const site = context.sites.pick(context.trust.view(req).host, canonical.path);
  const routed = { ...context, ...site };
  const admitted = await admit(routed, req, socket, canonical.path);
  if (admitted === undefined) return;
  const { auth, extra } = admitted;
  const headers = site.exchangeHeaders.request(req, auth, canonical.target);
  headers['connection'] = 'Upgrade';
  headers['upgrade'] = 'websocket';
  const upstreamReq = site.upstream.request(req.method ?? 'GET', canonical.target, headers, false);
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
    rejectUpgrade(context, req, socket, refusal(502, 'ERR_HTTPAUTH_UPSTREAM_UNAVAILABLE'));
    void auth?.impersonation.dispose();
  });
  upstreamReq.end();
}
