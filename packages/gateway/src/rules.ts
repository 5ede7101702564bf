/**
 * Per-path rules: public prefixes skip authentication; others may require a group (by name or
 * SID) or a user. The longest matching prefix wins, on path-segment boundaries, so "/admin"
 * covers "/admin" and "/admin/x" but not "/administrator".
 */
import type { Principal } from '@httpauth/core';
import type { RuleConfig } from './config.js';

function matches(prefix: string, path: string): boolean {
  if (prefix === '/') return true;
  const bare = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return path === bare || path.startsWith(bare + '/');
}

export class PathRules {
  readonly #rules: readonly RuleConfig[];

  constructor(rules: readonly RuleConfig[]) {
    this.#rules = [...rules].sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** The rule for a request path (decoded of nothing: compared as sent, without the query). */
  find(path: string): RuleConfig | undefined {
    return this.#rules.find((rule) => matches(rule.prefix, path));
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

/** The path of a request-target, without its query string. */
export function pathOf(target: string): string {
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
}
