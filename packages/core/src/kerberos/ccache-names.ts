/**
 * Principal names and times as the MIT ccache (ccache.ts) stores them: `a/b@REALM` parsed by
 * krb5_parse_name's rules into name type, realm and components, the display form back, and the
 * unsigned 32-bit seconds of a time field.
 */
import { fail } from '../errors.js';

/** RFC 4120 §6.2 name types used here. */
export const KRB_NT_PRINCIPAL = 1;
export const KRB_NT_SRV_INST = 2;
/** The most components a ccache principal may have (a bound for the decoder). */
export const MAX_COMPONENTS = 16;

export interface CcachePrincipal {
  readonly nameType: number;
  readonly realm: string;
  readonly components: readonly string[];
}

/**
 * Parse `a/b@REALM` into a ccache principal: components split at unescaped `/`, the realm after
 * the first unescaped `@` (krb5_parse_name's rules, backslash escapes removed).
 */
export function parsePrincipalName(name: string, nameType = KRB_NT_PRINCIPAL): CcachePrincipal {
  const components: string[] = [];
  let current = '';
  let realm: string | undefined;
  for (let i = 0; i < name.length; i++) {
    const ch = name[i] as string;
    if (ch === '\\' && i + 1 < name.length) {
      const next = name[++i] as string;
      current += next === 'n' ? '\n' : next === 't' ? '\t' : next === '0' ? '\0' : next;
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
  if (realm === undefined) {
    components.push(current);
    realm = '';
  } else {
    realm = current;
  }
  if (components.length > MAX_COMPONENTS || components.some((c) => c.length === 0)) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  return { nameType, realm, components };
}

/** The display form `a/b@REALM` (no escaping beyond `/` and `@` inside components). */
export function formatPrincipalName(principal: CcachePrincipal): string {
  const escape = (s: string): string => s.replace(/[\\/@]/g, (c) => `\\${c}`);
  const name = principal.components.map(escape).join('/');
  return principal.realm === ''
    ? name
    : `${name}@${principal.realm.replace(/[\\@]/g, (c) => `\\${c}`)}`;
}

/** Seconds since the epoch for a ccache time field. */
export function ccacheTime(date: Date | undefined): number {
  if (date === undefined) return 0;
  const seconds = Math.floor(date.getTime() / 1000);
  return seconds < 0 ? 0 : Math.min(seconds, 0xffffffff);
}
