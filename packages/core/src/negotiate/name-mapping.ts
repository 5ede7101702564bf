/**
 * Mapping a Kerberos principal to a local user name, as krb5.conf's auth_to_local does (MIT
 * krb5.conf(5), "auth_to_local"), plus an explicit map and realm stripping:
 *
 *   RULE:[n:fmt](regexp)s/pattern/replacement/[g]...
 *
 * The rule applies to principals with exactly n components. `fmt` builds a string from $0 (the
 * realm) and $1..$n (the components); the rule matches when `regexp` matches that whole string;
 * then each sed-style substitution rewrites it, and the result is the user name. `DEFAULT` maps
 * a principal of one component of a local realm to that component. The first rule that matches
 * wins.
 *
 * Only `user` changes: the principal's `name` stays `user@REALM`, so authorization decisions can
 * still use the unambiguous name.
 *
 * Realm stripping (the fallback when no map entry or rule matches) applies only to a principal of
 * a local realm (`principal.localRealm`: Kerberos `localRealms`, by default the keytab's realms;
 * NTLM the configured domain). Any other realm's principal keeps its full name as `user`:
 * `alice@PARTNER.TEST` and `CHILD\alice` are not `alice` unless a map entry or a rule says so.
 */
import { HttpAuthError } from '../errors.js';

/**
 * How `negotiate()` turns a Kerberos or NTLM principal into the `user` name an application sees: an
 * explicit map, krb5.conf-style `auth_to_local` rules, then realm stripping for local realms only.
 * The principal's `name` is never changed.
 */
export interface NameMappingOptions {
  /**
   * Explicit map from a principal name (`alice@EXAMPLE.TEST`, or `DOMAIN\user` for NTLM) to a
   * user; consulted first.
   */
  readonly nameMap?: Readonly<Record<string, string>>;
  /**
   * auth_to_local-style rules, first match wins, e.g. the rule that strips one realm:
   * `RULE:[1:$1@$0](.*@EXAMPLE\.TEST)s/@.*$//` and `DEFAULT`.
   */
  readonly nameRules?: readonly string[];
  /**
   * With no map entry or rule matching, for a principal of a local realm: true (default) gives
   * the components without the realm ('alice'); false keeps the full name ('alice@EXAMPLE.TEST').
   * A principal of any other realm always keeps its full name.
   */
  readonly stripRealm?: boolean;
}

interface Substitution {
  readonly pattern: RegExp;
  readonly replacement: string;
}

interface CompiledRule {
  readonly kind: 'rule' | 'default';
  readonly components: number;
  readonly format: string;
  readonly match: RegExp | undefined;
  readonly substitutions: readonly Substitution[];
}

function invalid(): never {
  throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
}

/** Split `s/pat/repl/g` chains; `/` inside pattern or replacement may be escaped as `\/`. */
function parseSubstitutions(text: string): Substitution[] {
  const out: Substitution[] = [];
  let i = 0;
  const readPart = (): string => {
    let part = '';
    while (i < text.length && text[i] !== '/') {
      if (text[i] === '\\' && text[i + 1] === '/') {
        part += '/';
        i += 2;
        continue;
      }
      part += text[i];
      i++;
    }
    if (i >= text.length) invalid();
    i++; // the closing '/'
    return part;
  };
  while (i < text.length) {
    if (text.startsWith('s/', i)) {
      i += 2;
    } else {
      invalid();
    }
    const pattern = readPart();
    const replacement = readPart();
    let global = false;
    if (text[i] === 'g') {
      global = true;
      i++;
    }
    try {
      // sed's replacement has no $-escapes; keep every '$' literal for String.replace.
      out.push({
        pattern: new RegExp(pattern, global ? 'g' : ''),
        replacement: replacement.replace(/\$/g, '$$$$'),
      });
    } catch {
      invalid();
    }
  }
  return out;
}

function compileRule(rule: string): CompiledRule {
  if (typeof rule !== 'string') invalid();
  const trimmed = rule.trim();
  if (trimmed === 'DEFAULT') {
    return { kind: 'default', components: 1, format: '$1', match: undefined, substitutions: [] };
  }
  const head = /^RULE:\[(\d+):([^\]]*)\]/.exec(trimmed);
  if (head === null) invalid();
  const components = Number(head[1]);
  if (!Number.isInteger(components) || components < 1 || components > 8) invalid();
  let rest = trimmed.slice(head[0].length);
  let match: RegExp | undefined;
  if (rest.startsWith('(')) {
    // The regexp runs to the matching ')' at depth 0 (it may itself contain groups).
    let depth = 0;
    let end = -1;
    for (let i = 0; i < rest.length; i++) {
      const c = rest[i];
      if (c === '\\') {
        i++;
        continue;
      }
      if (c === '(') depth++;
      if (c === ')') {
        depth--;
        if (depth === 0) {
          end = i;
          break;
        }
      }
    }
    if (end < 0) invalid();
    try {
      // Whole-string match, as MIT requires.
      match = new RegExp(`^(?:${rest.slice(1, end)})$`);
    } catch {
      invalid();
    }
    rest = rest.slice(end + 1);
  }
  return {
    kind: 'rule',
    components,
    format: head[2] as string,
    match,
    substitutions: parseSubstitutions(rest),
  };
}

function formatName(format: string, realm: string, components: readonly string[]): string {
  return format.replace(/\$(\d)/g, (_, digit: string) => {
    const n = Number(digit);
    return n === 0 ? realm : (components[n - 1] ?? '');
  });
}

/** A compiled mapper: `map(components, realm, name)` returns the user name. */
export class NameMapper {
  readonly #map: ReadonlyMap<string, string>;
  readonly #rules: readonly CompiledRule[];
  readonly #stripRealm: boolean;

  constructor(options: NameMappingOptions = {}) {
    const entries = Object.entries(options.nameMap ?? {});
    for (const [key, value] of entries) {
      if (typeof key !== 'string' || typeof value !== 'string' || value === '') invalid();
    }
    this.#map = new Map(entries);
    if (options.nameRules !== undefined && !Array.isArray(options.nameRules)) invalid();
    this.#rules = (options.nameRules ?? []).map(compileRule);
    if (options.stripRealm !== undefined && typeof options.stripRealm !== 'boolean') invalid();
    this.#stripRealm = options.stripRealm ?? true;
  }

  /**
   * Map a Kerberos principal (its components and realm) whose canonical name is `name`;
   * `localRealm` says whether the realm is one of ours (only then is the realm stripped).
   */
  mapKerberos(
    components: readonly string[],
    realm: string,
    name: string,
    localRealm: boolean,
  ): string {
    const explicit = this.#map.get(name);
    if (explicit !== undefined) return explicit;
    for (const rule of this.#rules) {
      if (components.length !== rule.components) continue;
      // DEFAULT is the local mapping: a principal of another realm is not the same-named user.
      if (rule.kind === 'default' && !localRealm) continue;
      let value = formatName(rule.format, realm, components);
      if (rule.match !== undefined && !rule.match.test(value)) continue;
      for (const { pattern, replacement } of rule.substitutions) {
        value = value.replace(pattern, replacement);
      }
      if (value !== '') return value;
    }
    return this.#stripRealm && localRealm ? components.join('/') : name;
  }

  /**
   * NTLM principals (`DOMAIN\user`): only the explicit map applies; otherwise `user`, which the
   * NTLM acceptor made the bare account name only for its configured domain.
   */
  mapNtlm(user: string, name: string): string {
    return this.#map.get(name) ?? user;
  }
}
