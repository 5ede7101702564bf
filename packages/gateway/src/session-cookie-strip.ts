/**
 * The gateway's session cookie taken out of the Cookie header sent upstream (RFC 6265 §5.4,
 * `cookie-pair *( ";" SP cookie-pair )`): the upstream never receives it. A browser's header is
 * already in that form, so it is walked pair by pair in place; any other header is split,
 * trimmed and joined as before. Both give the same text (a property test compares them).
 */

/**
 * A header exactly in RFC 6265 §5.4's form as far as the result is concerned: pairs with no
 * ';' and no leading or trailing whitespace (the `\s` set is the one `trim` removes), joined by
 * "; ". Splitting, trimming, dropping empty parts and joining by "; " leaves such a header as it
 * is, so its pairs can be taken as they stand. One character class each side of a pair's
 * middle: linear, no nested quantifier over the same characters.
 */
const CANONICAL_COOKIE_HEADER = /^[^;\s](?:[^;]*[^;\s])?(?:; [^;\s](?:[^;]*[^;\s])?)*$/;

/** The cookie names whose pairs are removed: the configured name and its `__Host-` form. */
export interface SessionCookieNames {
  readonly plain: string;
  readonly prefixed: string;
}

export function sessionCookieNames(cookieName: string): SessionCookieNames {
  return { plain: `${cookieName}=`, prefixed: `__Host-${cookieName}=` };
}

/** The header without the session cookie's pairs, normalised to "; " separators; '' if empty. */
export function withoutSessionCookie(cookies: string, names: SessionCookieNames): string {
  // One cookie (a client that sends only the session cookie): no form check, no walk.
  if (!cookies.includes(';')) {
    const only = cookies.trim();
    return only.startsWith(names.plain) || only.startsWith(names.prefixed) ? '' : only;
  }
  if (!CANONICAL_COOKIE_HEADER.test(cookies)) return splitWithoutSessionCookie(cookies, names);
  let kept = '';
  let start = 0;
  for (;;) {
    const separator = cookies.indexOf('; ', start);
    const end = separator === -1 ? cookies.length : separator;
    if (!cookies.startsWith(names.plain, start) && !cookies.startsWith(names.prefixed, start)) {
      const pair = cookies.slice(start, end);
      kept = kept === '' ? pair : `${kept}; ${pair}`;
    }
    if (separator === -1) return kept;
    start = separator + 2;
  }
}

/** Any header: split on ';', trimmed, empty parts and the session cookie's dropped, joined. */
export function splitWithoutSessionCookie(cookies: string, names: SessionCookieNames): string {
  return cookies
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c !== '' && !c.startsWith(names.plain) && !c.startsWith(names.prefixed))
    .join('; ');
}
