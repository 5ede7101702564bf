/**
 * RFC 8187 ext-value, for Digest's `username*` (RFC 7616 §3.4.4):
 *
 *   ext-value  = charset "'" [ language ] "'" value-chars
 *   charset    = "UTF-8" / "ISO-8859-1" / mime-charset      (case-insensitive)
 *   value-chars = *( pct-encoded / attr-char )
 *   attr-char  = ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
 *
 * Plus the reading of header text in general: Node hands header values over as one character per
 * octet (latin1), so UTF-8 text arrives as its bytes and is decoded here.
 */
import { fail } from '../errors.js';

const ATTR_CHAR = /^[A-Za-z0-9!#$&+\-.^_`|~]$/;
const LANGUAGE = /^[A-Za-z0-9-]{0,35}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function pctByte(text: string, at: number): number {
  const hex = text.slice(at + 1, at + 3);
  if (!/^[0-9A-Fa-f]{2}$/.test(hex)) fail('ERR_HTTPAUTH_DIGEST_PARAMS');
  return Number.parseInt(hex, 16);
}

/** Decode an ext-value. Only UTF-8 and ISO-8859-1 are accepted, as RFC 8187 §3.2.1 requires. */
export function decodeExtValue(text: string): string {
  const first = text.indexOf("'");
  const second = first < 0 ? -1 : text.indexOf("'", first + 1);
  if (first < 0 || second < 0) fail('ERR_HTTPAUTH_DIGEST_PARAMS');
  const charset = text.slice(0, first).toLowerCase();
  const language = text.slice(first + 1, second);
  if (!LANGUAGE.test(language)) fail('ERR_HTTPAUTH_DIGEST_PARAMS');
  const value = text.slice(second + 1);
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    if (ch === '%') {
      bytes.push(pctByte(value, i));
      i += 2;
    } else if (ATTR_CHAR.test(ch)) {
      bytes.push(ch.charCodeAt(0));
    } else {
      fail('ERR_HTTPAUTH_DIGEST_PARAMS');
    }
  }
  const buffer = Buffer.from(bytes);
  if (charset === 'utf-8') {
    try {
      return utf8.decode(buffer);
    } catch {
      fail('ERR_HTTPAUTH_DIGEST_PARAMS');
    }
  }
  if (charset === 'iso-8859-1') return buffer.toString('latin1');
  return fail('ERR_HTTPAUTH_DIGEST_PARAMS');
}

/** Encode text as a UTF-8 ext-value (the form clients send; used by tests and docs). */
export function encodeExtValue(text: string): string {
  let out = "UTF-8''";
  for (const byte of Buffer.from(text, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out +=
      byte < 0x80 && ATTR_CHAR.test(ch)
        ? ch
        : '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/**
 * Header text as the client meant it. Values arrive one octet per character; when those octets
 * form valid UTF-8 (RFC 7616 §4, charset=UTF-8) they are decoded, otherwise kept as ISO-8859-1
 * (RFC 2617 clients). Text with characters above U+00FF was already decoded by the caller.
 */
export function decodeHeaderText(value: string): string {
  let ascii = true;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code > 0xff) return value;
    if (code > 0x7f) ascii = false;
  }
  if (ascii) return value;
  try {
    return utf8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return value;
  }
}

/** The octet string Node accepts in a header value for `text`: its UTF-8 bytes as latin1. */
export function encodeHeaderText(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}
