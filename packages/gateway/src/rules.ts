/**
 * Per-path rules: public prefixes skip authentication; others may require a group (by name or
 * SID) or a user. The longest matching prefix wins, on path-segment boundaries, so "/admin"
 * covers "/admin" and "/admin/x" but not "/administrator". Paths are compared in their canonical
 * form (canonical-path.ts) under the configured case policy: by default case-insensitively,
 * because many frameworks (ASP.NET, IIS, Spring with some settings, Windows file servers) route
 * `/ADMIN/x` to the same handler as `/admin/x`.
 *
 * Case-insensitive matching must not widen a public prefix for a case-sensitive upstream
 * (`/Public/x` may be a different, private resource there), so `match` takes the strictest
 * reading: a path is public only when the rule found with and without case folding is public,
 * and a principal is admitted only when both rules admit it.
 */
import type { Principal } from '@httpauth/core';
import { matchKey } from './canonical-path.js';
import type { PathCase } from './canonical-path.js';
import type { RuleConfig } from './config.js';

function matches(prefix: string, path: string): boolean {
  if (prefix === '/') return true;
  const bare = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return path === bare || path.startsWith(bare + '/');
}

export interface RuleMatch {
  /** No authentication for this path. */
  readonly public: boolean;
  allows(principal: Principal): boolean;
}

export class PathRules {
  readonly #rules: readonly { readonly key: string; readonly rule: RuleConfig }[];
  readonly #policy: PathCase;

  constructor(rules: readonly RuleConfig[], policy: PathCase = 'insensitive') {
    this.#policy = policy;
    this.#rules = [...rules]
      .sort((a, b) => b.prefix.length - a.prefix.length)
      .map((rule) => ({ key: matchKey(rule.prefix, policy), rule }));
  }

  /** The rule for a canonical path (canonicalTarget(...).path, without the query). */
  find(canonicalPath: string): RuleConfig | undefined {
    const key = matchKey(canonicalPath, this.#policy);
    return this.#rules.find((entry) => matches(entry.key, key))?.rule;
  }

  /** The rule that applies whatever the upstream's case policy (see the module comment). */
  match(canonicalPath: string): RuleMatch {
    const folded = this.find(canonicalPath);
    const exact =
      this.#policy === 'insensitive'
        ? this.#rules.find((entry) => matches(entry.rule.prefix, canonicalPath))?.rule
        : folded;
    const both = folded === exact ? [folded] : [folded, exact];
    return {
      public: both.every((rule) => rule?.public === true),
      allows: (principal) => both.every((rule) => PathRules.allows(rule, principal)),
    };
  }

  static allows(rule: RuleConfig | undefined, principal: Principal): boolean {
    if (rule === undefined) return true;
    const hasUsers = rule.users !== undefined && rule.users.length > 0;
    const hasGroups = rule.groups !== undefined && rule.groups.length > 0;
    if (!hasUsers && !hasGroups) return true;
    if (hasUsers && rule.users!.some((u) => u === principal.name || u === principal.user))
      return true;
    if (hasGroups) {
      const held = new Set([...(principal.groups ?? []), ...(principal.groupSids ?? [])]);
      if (rule.groups!.some((g) => held.has(g))) return true;
    }
    return false;
  }
}
