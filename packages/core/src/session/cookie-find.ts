/**
 * Finding one cookie by name in a Cookie header (RFC 6265 §5.4, `cookie-pair *( ";" SP
 * cookie-pair )`) without splitting the header: a browser sends every cookie of the site with
 * every request, and the session lookup needs only one of them.
 */

/**
 * The value of the first cookie-pair whose text, trimmed as `String.prototype.trim` trims,
 * starts with `prefix` (the cookie name and '='), trimmed at its end; undefined when none does.
 * The same answer as splitting the header on ';', trimming each part and taking the first that
 * starts with `prefix` (a property test compares them), without the array and strings of every
 * other cookie. `prefix` must contain no ';' (a cookie name is a token, RFC 6265 §4.1.1).
 */
export function findCookieValue(header: string, prefix: string): string | undefined {
  let at = header.indexOf(prefix);
  while (at !== -1) {
    if (startsPair(header, at)) {
      const end = header.indexOf(';', at + prefix.length);
      return header.slice(at + prefix.length, end === -1 ? header.length : end).trimEnd();
    }
    at = header.indexOf(prefix, at + 1);
  }
  return undefined;
}

/**
 * Whether `at` is where a cookie-pair's text begins: only whitespace (as `trim` removes it)
 * lies between it and the previous ';' or the start of the header. An occurrence inside another
 * cookie's value (`a=xname=v`) is not one.
 */
function startsPair(header: string, at: number): boolean {
  // The usual shapes, decided without a slice: first in the header, or after "; ".
  if (at === 0) return true;
  const before = header.charCodeAt(at - 1);
  if (before === 0x3b) return true;
  if (before === 0x20 && (at === 1 || header.charCodeAt(at - 2) === 0x3b)) return true;
  const start = header.lastIndexOf(';', at - 1) + 1;
  return header.slice(start, at).trim() === '';
}
