/**
 * `routes`: further upstreams chosen by Host and/or path prefix, each with its own rules and,
 * when given, its own identity headers (one upstream reads X-WEBAUTH-USER, another
 * X-Forwarded-User). A route names at least one of host and prefix; two routes may not serve the
 * same host and prefix (which one would win would depend on the order in the file).
 */
import { canonicalTarget } from './canonical-path.js';
import type { ConfigReader } from './config-checks.js';
import type { GatewayConfig, RouteConfig, RuleConfig } from './config-types.js';

/** The section parsers config.ts uses for the top level, given a label for their messages. */
export interface SectionParsers {
  upstream(
    raw: unknown,
    override: string | undefined,
    read: ConfigReader,
    label: string,
  ): GatewayConfig['upstream'];
  rules(raw: unknown, read: ConfigReader, label: string): RuleConfig[];
  identity(raw: unknown, read: ConfigReader): GatewayConfig['identity'];
}

function routePrefix(raw: unknown, label: string, read: ConfigReader): string | undefined {
  const prefix = read.optionalStr(raw);
  if (prefix === undefined || !prefix.startsWith('/')) return undefined;
  const canonical = canonicalTarget(prefix);
  if (!canonical.ok || canonical.query !== undefined || canonical.path !== prefix) {
    read.problems.push(`${label}.prefix "${prefix}" is not a canonical path`);
    return undefined;
  }
  return prefix;
}

export function parseRoutes(
  raw: unknown,
  identity: GatewayConfig['identity'],
  read: ConfigReader,
  parsers: SectionParsers,
): RouteConfig[] {
  if (!Array.isArray(raw)) return [];
  const seen = new Set<string>();
  return raw.map((entry, n) => {
    const label = `routes[${n}]`;
    const r = read.section(entry);
    const host = read.optionalStr(r['host'])?.toLowerCase();
    const prefix = routePrefix(r['prefix'], label, read);
    if (r['host'] === undefined && r['prefix'] === undefined)
      read.problems.push(`${label} needs a host, a prefix or both`);
    const key = `${host ?? '*'} ${prefix ?? '/'}`;
    if (seen.has(key)) read.problems.push(`${label} serves the same host and prefix as another`);
    seen.add(key);
    return {
      ...(host === undefined ? {} : { host }),
      ...(prefix === undefined ? {} : { prefix }),
      upstream: parsers.upstream(r['upstream'], undefined, read, `${label}.upstream`),
      rules: parsers.rules(r['rules'], read, `${label}.rules`),
      identity: r['identity'] === undefined ? identity : parsers.identity(r['identity'], read),
    };
  });
}
