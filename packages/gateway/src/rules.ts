/**
 * Per-path rules: public prefixes skip authentication; others may require a group or a user.
 * The longest matching prefix wins, on path-segment boundaries, so "/admin" covers "/admin" and
 * "/admin/x" but not "/administrator". Paths are compared in their canonical form
 * (canonical-path.ts) under the configured case policy: by default case-insensitively, because
 * many frameworks (ASP.NET, IIS, Spring with some settings, Windows file servers) route
 * `/ADMIN/x` to the same handler as `/admin/x`.
 *
 * Who a rule admits is decided by core's authorization rules, so the gateway and an application
 * using `requireUser`/`requireGroup` agree on every principal: `users` compile to
 * `requireUser(...)` (Kerberos names exactly; NTLM, Digest and Basic names case-insensitively;
 * SIDs; `upn:` UPNs), `groups` to `requireGroup(...)` (SIDs, group names case-insensitively,
 * and POSIX group names when an impersonation policy mapped a local user), both to `anyOf(...)`.
 *
 * Case-insensitive path matching must not widen a public prefix for a case-sensitive upstream
 * (`/Public/x` may be a different, private resource there), so `match` takes the strictest
 * reading: a path is public only when the rule found with and without case folding is public,
 * and a principal is admitted only when both rules admit it.
 */
import { anyOf, requireGroup, requireUser } from '@httpauth/core';
import type { AuthorizationRule, AuthorizationSubject } from '@httpauth/core';
import { matchKey } from './canonical-path.js';
import type { PathCase } from './canonical-path.js';
import type { RuleConfig } from './config-types.js';

function matches(prefix: string, path: string): boolean {
  if (prefix === '/') return true;
  const bare = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return path === bare || path.startsWith(bare + '/');
}

export interface RuleMatch {
  /** No authentication for this path. */
  readonly public: boolean;
  /** Does the rule admit this authenticated request (`decision.auth`)? */
  allows(subject: AuthorizationSubject): boolean;
}

/**
 * The core rule a configured rule stands for; undefined when it admits any authenticated user
 * (no users and no groups, or a public rule).
 */
export function compileRule(rule: RuleConfig): AuthorizationRule | undefined {
  const compiled: AuthorizationRule[] = [];
  if (rule.users !== undefined && rule.users.length > 0) compiled.push(requireUser(...rule.users));
  if (rule.groups !== undefined && rule.groups.length > 0)
    compiled.push(requireGroup(...rule.groups));
  if (compiled.length === 0) return undefined;
  return compiled.length === 1 ? compiled[0] : anyOf(...compiled);
}

interface CompiledEntry {
  readonly key: string;
  readonly rule: RuleConfig;
  readonly authorization: AuthorizationRule | undefined;
}

export class PathRules {
  readonly #entries: readonly CompiledEntry[];
  readonly #policy: PathCase;

  constructor(rules: readonly RuleConfig[], policy: PathCase) {
    this.#policy = policy;
    this.#entries = [...rules]
      .sort((a, b) => b.prefix.length - a.prefix.length)
      .map((rule) => ({
        key: matchKey(rule.prefix, policy),
        rule,
        authorization: compileRule(rule),
      }));
  }

  #entryFor(canonicalPath: string): CompiledEntry | undefined {
    const key = matchKey(canonicalPath, this.#policy);
    return this.#entries.find((entry) => matches(entry.key, key));
  }

  /** The rule for a canonical path (canonicalTarget(...).path, without the query). */
  find(canonicalPath: string): RuleConfig | undefined {
    return this.#entryFor(canonicalPath)?.rule;
  }

  /** The rule that applies whatever the upstream's case policy (see the module comment). */
  match(canonicalPath: string): RuleMatch {
    const folded = this.#entryFor(canonicalPath);
    const exact =
      this.#policy === 'insensitive'
        ? this.#entries.find((entry) => matches(entry.rule.prefix, canonicalPath))
        : folded;
    return this.#matchOf(folded, exact);
  }

  /**
   * The verdict of a pair of entries depends on nothing else, so it is made once per pair (at
   * most (rules + 1)^2 of them) rather than for every request.
   */
  readonly #matches = new Map<
    CompiledEntry | undefined,
    Map<CompiledEntry | undefined, RuleMatch>
  >();

  #matchOf(folded: CompiledEntry | undefined, exact: CompiledEntry | undefined): RuleMatch {
    let byExact = this.#matches.get(folded);
    if (byExact === undefined) {
      byExact = new Map();
      this.#matches.set(folded, byExact);
    }
    let made = byExact.get(exact);
    if (made === undefined) {
      const both = folded === exact ? [folded] : [folded, exact];
      made = {
        public: both.every((entry) => entry?.rule.public === true),
        allows: (subject) => both.every((entry) => admits(entry, subject)),
      };
      byExact.set(exact, made);
    }
    return made;
  }
}

function admits(entry: CompiledEntry | undefined, subject: AuthorizationSubject): boolean {
  return entry?.authorization === undefined || entry.authorization.test(subject);
}
