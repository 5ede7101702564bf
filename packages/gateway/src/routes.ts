/**
 * Sites: the top-level upstream with its rules, and one per route (`routes`), each with its own
 * rules, keep-alive pool and identity headers. A request goes to the most specific route that
 * matches it: one naming its host and port, then its host, then none, then the longest prefix (on
 * path-segment boundaries, under the same case policy as the rules); else to the top level.
 *
 * The Host compared is the one the client asked for: the Host header, or behind a trusted front
 * proxy the host that proxy reported (proxy-trust.ts). A client-sent copy of ANY route's identity
 * header is removed whichever route serves the request, so a header meant for one upstream
 * cannot be slipped to another through a route that does not set it.
 */
import { readSecret } from './packages.js';
import { matchKey } from './canonical-path.js';
import type { PathCase } from './canonical-path.js';
import type { GatewayConfig, RouteConfig } from './config-types.js';
import { Upstream } from './forward.js';
import type { ProxyTrust } from './proxy-trust.js';
import { PathRules } from './rules.js';
import { UpstreamHeaders } from './upstream-headers.js';

export interface Site {
  readonly rules: PathRules;
  readonly upstream: Upstream;
  readonly exchangeHeaders: UpstreamHeaders;
}

interface RouteEntry {
  readonly host: string | undefined;
  /** matchKey of the prefix; undefined: any path. */
  readonly prefix: string | undefined;
  readonly site: Site;
}

function identityHeaders(identity: GatewayConfig['identity']): string[] {
  const { userHeader, groupsHeader, mechanismHeader, signature } = identity;
  const fingerprint = identity.certificateFingerprintHeader;
  return [
    userHeader,
    groupsHeader,
    mechanismHeader,
    ...(signature ? [signature.header] : []),
    ...(fingerprint === undefined ? [] : [fingerprint]),
  ];
}

function onSegment(prefix: string, path: string): boolean {
  if (prefix === '/') return true;
  const bare = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return path === bare || path.startsWith(`${bare}/`);
}

/** `Host` without a port when the route names none; lower-cased. */
function hostMatches(routeHost: string, requestHost: string | undefined): boolean {
  if (requestHost === undefined) return false;
  const host = requestHost.toLowerCase();
  if (routeHost.includes(':') && !routeHost.startsWith('[')) return host === routeHost;
  return host === routeHost || host.replace(/:\d+$/, '') === routeHost;
}

/** A host:port route before a host route before any host (above any prefix length). */
function hostRank(host: string | undefined): number {
  if (host === undefined) return 0;
  return /:\d+$/.test(host) ? 2 << 20 : 1 << 20;
}

export class SiteMap {
  readonly defaultSite: Site;
  readonly #routes: readonly RouteEntry[];
  readonly #policy: PathCase;
  readonly #upstreams: Upstream[] = [];

  constructor(config: GatewayConfig, trust: ProxyTrust) {
    this.#policy = config.pathCase;
    const everyIdentity = [config.identity, ...config.routes.map((r) => r.identity)];
    const dropped = [...new Set(everyIdentity.flatMap(identityHeaders))];
    const site = (
      upstreamConfig: GatewayConfig['upstream'],
      rules: RouteConfig['rules'],
      identity: GatewayConfig['identity'],
    ): Site => {
      const upstream = new Upstream(upstreamConfig);
      this.#upstreams.push(upstream);
      const secret =
        identity.signature === undefined
          ? undefined
          : readSecret(identity.signature.secretFile, 'identity.signature.secretFile', 32);
      return {
        rules: new PathRules(rules, config.pathCase),
        upstream,
        exchangeHeaders: new UpstreamHeaders({ ...config, identity }, secret, trust, dropped),
      };
    };
    this.defaultSite = site(config.upstream, config.rules, config.identity);
    this.#routes = config.routes.map((route) => ({
      host: route.host,
      prefix: route.prefix === undefined ? undefined : matchKey(route.prefix, config.pathCase),
      site: site(route.upstream, route.rules, route.identity),
    }));
  }

  /** The site for a request's host and canonical path. */
  pick(host: string | undefined, canonicalPath: string): Site {
    // No routes (the usual configuration): nothing to compare the path with.
    if (this.#routes.length === 0) return this.defaultSite;
    const key = matchKey(canonicalPath, this.#policy);
    let best: RouteEntry | undefined;
    let bestScore = -1;
    for (const route of this.#routes) {
      if (route.host !== undefined && !hostMatches(route.host, host)) continue;
      if (route.prefix !== undefined && !onSegment(route.prefix, key)) continue;
      const score = hostRank(route.host) + (route.prefix?.length ?? 0);
      if (score > bestScore) {
        best = route;
        bestScore = score;
      }
    }
    return best?.site ?? this.defaultSite;
  }

  close(): void {
    for (const upstream of this.#upstreams) upstream.close();
  }
}
