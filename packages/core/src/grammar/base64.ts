/**
 * Strict base64 (RFC 4648 §4: the standard alphabet, `=` padding only at the end, the length a
 * multiple of four), decoded in one native pass. RFC 4559 §4 carries Negotiate tokens in base64.
 *
 * Node's decoder is lenient: it skips characters outside the alphabet and also accepts the
 * base64url characters `-` and `_`. So instead of a regular-expression scan before decoding,
 * the decoded length is checked: with L characters of which p are trailing `=`, a strict input
 * decodes to exactly 3L/4 - p bytes, and any skipped character (space, `.`, `~`, non-ASCII, a
 * `=` before the end) makes it shorter. The two base64url characters are refused by a search.
 */

/** The bytes of strict base64 `text`, or undefined when it is not strict base64 (or empty). */
export function decodeStrictBase64(text: string): Buffer | undefined {
  const length = text.length;
  if (length === 0 || length % 4 !== 0) return undefined;
  let padding = 0;
  while (padding < 3 && text.charCodeAt(length - 1 - padding) === 0x3d) padding++;
  if (padding > 2) return undefined;
  if (text.includes('-') || text.includes('_')) return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== (length / 4) * 3 - padding || bytes.length === 0) return undefined;
  return bytes;
}
