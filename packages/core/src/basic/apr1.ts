/**
 * Apache's `$apr1$` password hash: MD5-crypt (Poul-Henning Kamp's FreeBSD scheme) with the magic
 * string "$apr1$", as `htpasswd -m` writes it. Read for compatibility only: it is a 1000-round
 * MD5 construction, far weaker than bcrypt.
 *
 *   hash = "$apr1$" salt "$" crypt64(final)      salt: at most 8 characters
 */
import { createHash } from 'node:crypto';

const MAGIC = '$apr1$';
const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function md5(...parts: Buffer[]): Buffer {
  const h = createHash('md5');
  for (const part of parts) h.update(part);
  return h.digest();
}

function to64(value: number, count: number): string {
  let out = '';
  let v = value;
  for (let i = 0; i < count; i++) {
    out += ITOA64[v & 0x3f];
    v >>>= 6;
  }
  return out;
}

/** The salt of an `$apr1$` hash, or undefined when `hash` is not one. */
export function apr1Salt(hash: string): string | undefined {
  if (!hash.startsWith(MAGIC)) return undefined;
  const end = hash.indexOf('$', MAGIC.length);
  if (end < 0) return undefined;
  return hash.slice(MAGIC.length, end);
}

/** Compute the `$apr1$` hash of `password` with `salt` (truncated to 8 characters, as Apache does). */
export function apr1(password: string, salt: string): string {
  const pw = Buffer.from(password, 'utf8');
  const saltText = salt.slice(0, 8);
  const s = Buffer.from(saltText, 'utf8');
  const magic = Buffer.from(MAGIC, 'ascii');

  const alternate = md5(pw, s, pw);
  const ctx = createHash('md5');
  ctx.update(pw).update(magic).update(s);
  for (let left = pw.length; left > 0; left -= 16) {
    ctx.update(alternate.subarray(0, Math.min(16, left)));
  }
  // For each bit of the length: a zero byte when set, the first password byte when clear.
  for (let bits = pw.length; bits > 0; bits >>>= 1) {
    ctx.update((bits & 1) !== 0 ? Buffer.of(0) : pw.subarray(0, 1));
  }
  let final: Buffer = ctx.digest();

  // 1000 rounds to slow down dictionary attacks (the constant of the original scheme).
  for (let round = 0; round < 1000; round++) {
    const parts: Buffer[] = [];
    parts.push((round & 1) !== 0 ? pw : final);
    if (round % 3 !== 0) parts.push(s);
    if (round % 7 !== 0) parts.push(pw);
    parts.push((round & 1) !== 0 ? final : pw);
    final = md5(...parts);
  }

  const f = (i: number) => final[i] as number;
  const encoded =
    to64((f(0) << 16) | (f(6) << 8) | f(12), 4) +
    to64((f(1) << 16) | (f(7) << 8) | f(13), 4) +
    to64((f(2) << 16) | (f(8) << 8) | f(14), 4) +
    to64((f(3) << 16) | (f(9) << 8) | f(15), 4) +
    to64((f(4) << 16) | (f(10) << 8) | f(5), 4) +
    to64(f(11), 2);
  return `${MAGIC}${saltText}$${encoded}`;
}
