/**
 * Principal -> local user name mapping, the way MIT krb5's auth_to_local does it (krb5.conf(5),
 * "auth_to_local"), extended to NTLM and Digest names:
 *
 *   1. an explicit map: principal name (or user SID) -> local name;
 *   2. rules tried in order, the first that yields a name wins:
 *      - `DEFAULT`: a one-component principal of a local realm maps to that component. Local
 *        realms: `localRealms` when set (Kerberos realms compared exactly, NTLM domains
 *        case-insensitively, as Windows compares them); otherwise the realms the authenticating
 *        package calls local (`principal.localRealm`: the keytab's realms, the NTLM domain).
 *        Digest and Basic names carry no identity domain and are local;
 *      - `RULE:[n:fmt](regex)s/pattern/replacement/[g]...`: for a principal of exactly n components,
 *        build `fmt` ($0 = realm, $1..$9 = components), require `regex` to match that whole string,
 *        then apply each sed-style substitution (the replacement is literal, as in MIT).
 *   Without rules the list is `['DEFAULT']`: strip the realm.
 *
 * NTLM names `DOMAIN\user` are treated as the one-component principal `user@DOMAIN`; Digest and
 * Basic names (which carry no identity domain) as `user` with an empty realm.
 *
 * Regular expressions are JavaScript's, not POSIX ERE: the common subset (`.*`, classes, anchors,
 * escapes) behaves the same. The result must be a plausible local user name (see
 * `isValidLocalName`), otherwise the principal is unmapped.
 */
import { fail } from '../errors.js';
import type { Principal } from '../principal.js';

/**
 * How `createImpersonation` maps a principal to a local user name (`policy.mapping`), as MIT's
 * `auth_to_local` does: an explicit map, then `DEFAULT` and `RULE:` rules; only principals of local
 * realms map by default.
 */
export interface PrincipalMappingOptions {
  /** Principal name (as `principal.name`) or user SID -> local user name; checked first. */
  readonly map?: Readonly<Record<string, string>> | ReadonlyMap<string, string>;
  /** auth_to_local-like rules, in order (default `['DEFAULT']`). */
  readonly rules?: readonly string[];
  /**
   * Kerberos realms (exact) and NTLM domains (case-insensitive) whose users `DEFAULT` maps.
   * Default: the principal's own verdict (`principal.localRealm`), i.e. the keytab's realms for
   * Kerberos and the configured domain for NTLM. A principal of any other realm maps to no local
   * user unless the map or a RULE names it.
   */
  readonly localRealms?: readonly string[];
  /** Lower-case the local name (AD names are case-insensitive; Unix names are usually lower case). */
  readonly lowercase?: boolean;
}

/** The principal split the way the rules see it. */
export interface MappingInput {
  readonly components: readonly string[];
  readonly realm: string;
}

/** Where a principal comes from, for DEFAULT's local-realm test. */
interface DefaultInput extends MappingInput {
  readonly mechanism: Principal['mechanism'];
  readonly localRealm: boolean | undefined;
}

/**
 * A compiled principal-to-local-user mapping: the local user name, or undefined when the principal
 * maps to none.
 */
export type PrincipalMapper = (principal: Principal) => string | undefined;

type Rule = (input: MappingInput) => string | undefined;
type LocalRule = (input: DefaultInput) => string | undefined;

const LOCAL_NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.@\\$-]{0,255}$/;

/**
 * A name `getent passwd` will look up by name: no separators, no whitespace or control characters,
 * not starting with `-` (it would read as an option), and not all digits (getent and id would take
 * it as a uid).
 */
export function isValidLocalName(name: string): boolean {
  return LOCAL_NAME.test(name) && !/^[0-9]+$/.test(name);
}

/** Split a principal into rule input: components and realm. */
export function mappingInput(principal: Principal): MappingInput {
  if (principal.mechanism === 'Kerberos') {
    return splitKerberos(principal.name);
  }
  if (principal.mechanism === 'NTLM') {
    const slash = principal.name.indexOf('\\');
    if (slash >= 0) {
      return {
        components: [principal.name.slice(slash + 1)],
        realm: principal.name.slice(0, slash),
      };
    }
    return { components: [principal.user], realm: principal.realm ?? '' };
  }
  return { components: [principal.name], realm: '' };
}

function splitKerberos(name: string): MappingInput {
  const components: string[] = [];
  let current = '';
  let realm: string | undefined;
  for (let i = 0; i < name.length; i++) {
    const ch = name[i] as string;
    if (ch === '\\' && i + 1 < name.length) {
      current += name[++i];
    } else if (ch === '/' && realm === undefined) {
      components.push(current);
      current = '';
    } else if (ch === '@' && realm === undefined) {
      components.push(current);
      current = '';
      realm = '';
    } else {
      current += ch;
    }
  }
  if (realm === undefined) components.push(current);
  return { components, realm: realm === undefined ? '' : current };
}

function isLocal(input: DefaultInput, localRealms: readonly string[] | undefined): boolean {
  if (localRealms === undefined) {
    // Digest and Basic: the name is a local account name; their realm is a protection space.
    if (input.mechanism !== 'Kerberos' && input.mechanism !== 'NTLM') return true;
    return input.localRealm === true;
  }
  if (input.mechanism === 'NTLM') {
    const folded = input.realm.toUpperCase();
    return localRealms.some((realm) => realm.toUpperCase() === folded);
  }
  return localRealms.includes(input.realm);
}

function parseDefaultRule(localRealms: readonly string[] | undefined): LocalRule {
  return (input) => {
    if (input.components.length !== 1) return undefined;
    if (!isLocal(input, localRealms)) return undefined;
    return input.components[0];
  };
}

/** Read up to an unescaped `close`, honouring nested parentheses when `close` is `)`. */
function readDelimited(text: string, start: number, close: string): { body: string; end: number } {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (close === ')' && ch === '(') depth++;
    else if (ch === close) {
      if (depth === 0) return { body: text.slice(start, i), end: i };
      depth--;
    }
  }
  return fail('ERR_HTTPAUTH_INVALID_OPTIONS');
}

function parseSubstitutions(text: string): Array<(s: string) => string> {
  const substitutions: Array<(s: string) => string> = [];
  let at = 0;
  while (at < text.length) {
    if (!text.startsWith('s/', at)) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    const pattern = readDelimited(text, at + 2, '/');
    const replacement = readDelimited(text, pattern.end + 1, '/');
    at = replacement.end + 1;
    const global = text[at] === 'g';
    if (global) at++;
    let regex: RegExp;
    try {
      regex = new RegExp(pattern.body, global ? 'g' : '');
    } catch (cause) {
      return fail('ERR_HTTPAUTH_INVALID_OPTIONS', cause);
    }
    // `\/` in the replacement stands for `/`; everything else is literal (no $& expansion).
    const literal = replacement.body.replace(/\\(.)/g, '$1');
    substitutions.push((s) => s.replace(regex, () => literal));
  }
  return substitutions;
}

/** Parse one `RULE:[n:fmt](regex)s/x/y/g` rule (the regex and the substitutions are optional). */
export function parseRule(text: string): Rule {
  const head = /^RULE:\[(\d{1,2}):([^\]]*)\]/.exec(text);
  if (head === null) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  const count = Number(head[1]);
  const format = head[2] as string;
  if (count < 1 || count > 9) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  let at = head[0].length;
  let match: RegExp | undefined;
  if (text[at] === '(') {
    const body = readDelimited(text, at + 1, ')');
    try {
      match = new RegExp(`^(?:${body.body})$`);
    } catch (cause) {
      return fail('ERR_HTTPAUTH_INVALID_OPTIONS', cause);
    }
    at = body.end + 1;
  }
  const substitutions = parseSubstitutions(text.slice(at));
  for (const ref of format.matchAll(/\$(\d)/g)) {
    if (Number(ref[1]) > count) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  return (input) => {
    if (input.components.length !== count) return undefined;
    const selected = format.replace(/\$(\d)/g, (_, digit: string) =>
      digit === '0' ? input.realm : (input.components[Number(digit) - 1] as string),
    );
    if (match !== undefined && !match.test(selected)) return undefined;
    let result = selected;
    for (const substitute of substitutions) result = substitute(result);
    return result;
  };
}

/** Compile the mapping options once (invalid rules throw ERR_HTTPAUTH_INVALID_OPTIONS). */
export function createPrincipalMapper(options: PrincipalMappingOptions = {}): PrincipalMapper {
  if (
    options.localRealms !== undefined &&
    (!Array.isArray(options.localRealms) ||
      options.localRealms.some((realm) => typeof realm !== 'string' || realm === ''))
  ) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const explicit = new Map<string, string>();
  const explicitFolded = new Map<string, string>();
  const entries =
    options.map instanceof Map
      ? [...options.map.entries()]
      : Object.entries((options.map ?? {}) as Record<string, string>);
  for (const [key, value] of entries) {
    if (typeof value !== 'string' || !isValidLocalName(value)) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    explicit.set(key, value);
    explicitFolded.set(key.toLowerCase(), value);
  }
  const rules: LocalRule[] = (options.rules ?? ['DEFAULT']).map((text) =>
    text.trim() === 'DEFAULT' ? parseDefaultRule(options.localRealms) : parseRule(text.trim()),
  );
  const finish = (name: string | undefined): string | undefined => {
    if (name === undefined) return undefined;
    const local = options.lowercase === true ? name.toLowerCase() : name;
    return isValidLocalName(local) ? local : undefined;
  };

  return (principal) => {
    // Kerberos names are case-sensitive; NTLM's and SIDs are not (Windows compares them folded).
    const direct =
      explicit.get(principal.name) ??
      (principal.mechanism === 'Kerberos'
        ? undefined
        : explicitFolded.get(principal.name.toLowerCase())) ??
      (principal.userSid === undefined
        ? undefined
        : explicitFolded.get(principal.userSid.toLowerCase()));
    if (direct !== undefined) return direct;
    const input: DefaultInput = {
      ...mappingInput(principal),
      mechanism: principal.mechanism,
      localRealm: principal.localRealm,
    };
    if (input.components.some((c) => c.length === 0)) return undefined;
    for (const rule of rules) {
      const result = rule(input);
      if (result !== undefined) return finish(result);
    }
    return undefined;
  };
}
