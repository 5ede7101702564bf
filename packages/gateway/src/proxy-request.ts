/**
 * One proxied request, in phases: canonicalize the target and refuse ambiguous framing, answer
 * the gateway's own endpoints (health, metrics, auth_request), let public paths through,
 * authenticate, authorize with the path's rule, forward.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthDecision, Authenticator, AuthRequest } from '@httpauth/core';
import {
  applySuccessHeaders,
  authenticateNow,
  disposeWhenDone,
  isPromiseLike,
  sendChallenge,
} from '@httpauth/core/adapter';
import type { ResolvedAdapterOptions } from '@httpauth/core/adapter';
import { answerAuthRequest } from './auth-request.js';
import type { AuthRequestContext } from './auth-request.js';
import { canonicalTarget } from './canonical-path.js';
import type { GatewayConfig } from './config-types.js';
import { authRequestOf } from './forwarded.js';
import type { ProxyTrust } from './proxy-trust.js';
import { forward } from './forward.js';
import type { ForwardContext, Route } from './forward.js';
import { bodyFraming } from './framing.js';
import type { GatewayMetrics } from './metrics.js';
import { PROMETHEUS_CONTENT_TYPE } from './metrics.js';
import { errorJson, json } from './responses.js';
import type { Site, SiteMap } from './routes.js';
import type { RuleMatch } from './rules.js';

/** The counters the server and the handler share (shutdown answers 503 on health). */
export interface ServingState {
  closing: boolean;
  inFlight: number;
}

export interface ProxyContext {
  readonly config: Pick<GatewayConfig, 'healthPath' | 'metricsPath' | 'authRequest'>;
  readonly authenticator: Authenticator;
  readonly adapterOptions: ResolvedAdapterOptions;
  /** Which front proxies are believed (proxy-trust.ts). */
  readonly trust: ProxyTrust;
  /** The top-level upstream and the routes (routes.ts). */
  readonly sites: SiteMap;
  readonly metrics: GatewayMetrics;
  readonly forwarding: ForwardContext;
  readonly authRequest: AuthRequestContext;
  readonly state: ServingState;
}

/** Each site's forwarding context, made once rather than spread anew for every request. */
const siteForwarding = new WeakMap<ProxyContext, WeakMap<Site, ForwardContext>>();

function forwardingFor(context: ProxyContext, site: Site): ForwardContext {
  let bySite = siteForwarding.get(context);
  if (bySite === undefined) {
    bySite = new WeakMap();
    siteForwarding.set(context, bySite);
  }
  let forwarding = bySite.get(site);
  if (forwarding === undefined) {
    forwarding = {
      ...context.forwarding,
      upstream: site.upstream,
      exchangeHeaders: site.exchangeHeaders,
    };
    bySite.set(site, forwarding);
  }
  return forwarding;
}

/** The canonical route of a request, or the 400 already sent when it has none. */
function routeOf(
  context: ProxyContext,
  req: IncomingMessage,
  res: ServerResponse,
  started: bigint,
): Route | undefined {
  const { outcomes } = context.forwarding;
  const canonical = canonicalTarget(req.url ?? '/');
  if (!canonical.ok) {
    outcomes.badRequest(req, res, 'ERR_HTTPAUTH_PATH_AMBIGUOUS', started);
    return undefined;
  }
  const framing = bodyFraming(req);
  if (framing.kind === 'refused') {
    outcomes.badRequest(req, res, 'ERR_HTTPAUTH_BODY_FRAMING', started);
    return undefined;
  }
  // The client as the gateway takes it, worked out once: routing, authentication and the
  // forwarding headers all read this one view.
  return {
    path: canonical.path,
    target: canonical.target,
    framing,
    view: context.trust.clientOf(req),
  };
}

/** Health and metrics; true when the request was one of them (and is answered). */
function answerOwnEndpoint(context: ProxyContext, path: string, res: ServerResponse): boolean {
  const { config, state } = context;
  if (path === config.healthPath) {
    json(res, state.closing ? 503 : 200, { status: state.closing ? 'stopping' : 'ok' });
    return true;
  }
  if (path === config.metricsPath) {
    const body = context.metrics.render(context.authenticator.pendingHandshakes, state.inFlight);
    res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
    res.end(body);
    return true;
  }
  return false;
}

/**
 * One request. Undefined when it was answered or forwarded without waiting for anything (public
 * paths, the gateway's own endpoints, a connection that stays authenticated); otherwise the
 * promise of the rest, so the server turns a failure into its coded 503 either way.
 */
export function handleRequest(
  context: ProxyContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> | undefined {
  const started = process.hrtime.bigint();
  const route = routeOf(context, req, res, started);
  if (route === undefined) return undefined;
  const { path } = route;
  if (answerOwnEndpoint(context, path, res)) return undefined;
  if (context.config.authRequest !== undefined && path === context.config.authRequest.path) {
    return answerAuthRequest(context.authRequest, req, res, started);
  }
  const site = context.sites.pick(route.view.host, path);
  const forwarding = forwardingFor(context, site);
  const rule = site.rules.match(path);
  if (rule.public) {
    forward(forwarding, req, res, undefined, [], started, route);
    return undefined;
  }
  const request = authRequestOf(req, context.adapterOptions, route.view);
  // A connection that stays authenticated is decided at once (no promise to wait for).
  const pending = authenticateNow(context.authenticator, request);
  if (isPromiseLike(pending)) {
    return Promise.resolve(pending).then((decision) => {
      decided(context, forwarding, rule, req, res, request, decision, started, route);
    });
  }
  decided(context, forwarding, rule, req, res, request, pending, started, route);
  return undefined;
}

/** After the decision: the challenge, a 403 from the path's rule, or the forwarded request. */
function decided(
  context: ProxyContext,
  forwarding: ForwardContext,
  rule: RuleMatch,
  req: IncomingMessage,
  res: ServerResponse,
  request: AuthRequest,
  decision: AuthDecision,
  started: bigint,
  route: Route,
): void {
  const { outcomes } = forwarding;
  const { path } = route;
  outcomes.recordDecision(decision, request, started);
  if (decision.type === 'respond') {
    sendChallenge(req, res, decision, context.adapterOptions);
    outcomes.finish(req, path, undefined, decision.status, started);
    return;
  }
  disposeWhenDone(res, decision.auth);
  if (!rule.allows(decision.auth)) {
    applySuccessHeaders(res, decision.headers);
    json(res, 403, errorJson('ERR_HTTPAUTH_FORBIDDEN'));
    outcomes.finish(req, path, decision.auth, 403, started);
    return;
  }
  forward(forwarding, req, res, decision.auth, decision.headers, started, route);
}
