/**
 * The ticket's transited field (RFC 4120 §3.3.3.2, DOMAIN-X500-COMPRESS, tr-type 1): the realms
 * between the client's and the server's, other than those two, that took part in issuing the
 * ticket. When no KDC checked the path (TRANSITED-POLICY-CHECKED unset) the server must (RFC 4120
 * §2.7, §3.3.3.2); here the policy is a list of realms trusted as intermediates.
 *
 * Encoding: realm names separated by ','. A name ending in '.' (domain style) is completed with
 * the previous name ("EDU,MIT." is EDU, MIT.EDU); a name starting with '/' (X.500 style) follows
 * the previous X.500 name ("/COM,/HP" is /COM, /COM/HP); a leading space turns compression off
 * for that name; '\' escapes the next character. An empty name (",," or a leading or trailing
 * ',') stands for every realm on the hierarchical path between its neighbours: those cannot be
 * listed without that hierarchy, so such a path is refused.
 */
import { attemptedName, HttpAuthError } from '../errors.js';

export const DOMAIN_X500_COMPRESS = 1;

/** The realms a DOMAIN-X500-COMPRESS transited field names, or undefined when it cannot say. */
export function decodeTransited(contents: Buffer): string[] | undefined {
  const text = contents.toString('utf8');
  const raw: { value: string; literal: boolean }[] = [];
  let current = '';
  let escaped = false;
  let sawChar = false;
  for (const ch of text) {
    if (escaped) {
      current += ch;
      escaped = false;
      sawChar = true;
    } else if (ch === '\\') {
      escaped = true;
    } else if (ch === ',') {
      raw.push({ value: current, literal: false });
      current = '';
      sawChar = false;
    } else {
      current += ch;
      sawChar = true;
    }
  }
  if (escaped) return undefined;
  if (sawChar || raw.length > 0) raw.push({ value: current, literal: false });
  const realms: string[] = [];
  for (const entry of raw) {
    let name = entry.value;
    if (name === '') return undefined; // hierarchical shorthand
    const previous = realms[realms.length - 1];
    if (name.startsWith(' ')) {
      name = name.slice(1);
    } else if (name.endsWith('.')) {
      if (previous === undefined) return undefined;
      name = name + previous;
    } else if (name.startsWith('/') && previous?.startsWith('/') === true) {
      name = previous + name;
    }
    if (name === '') return undefined;
    realms.push(name);
  }
  return realms;
}

/**
 * Refuse a transited path no KDC checked unless every realm on it is one of `trusted` (exact).
 * Throws ERR_HTTPAUTH_KRB_TRANSITED_UNCHECKED.
 */
export function checkUncheckedTransited(
  transited: { readonly trType: number; readonly contents: Buffer },
  trusted: ReadonlySet<string>,
): void {
  if (transited.contents.length === 0) return;
  const realms =
    transited.trType === DOMAIN_X500_COMPRESS ? decodeTransited(transited.contents) : undefined;
  if (realms === undefined || realms.some((realm) => !trusted.has(realm))) {
    // The operator's detail: which realms no KDC vouched for (names only, bounded).
    const untrusted = realms?.filter((realm) => !trusted.has(realm)).join(',');
    throw new HttpAuthError('ERR_HTTPAUTH_KRB_TRANSITED_UNCHECKED', {
      detail: {
        check: 'transited',
        untrustedRealms: untrusted === undefined ? '(undecodable path)' : attemptedName(untrusted),
      },
    });
  }
}
