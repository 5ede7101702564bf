/**
 * Apache htpasswd files: `user:hash` per line. Hash formats read here:
 *   $2a$ / $2b$ / $2y$   bcrypt (`htpasswd -B`), the one to use;
 *   $apr1$               MD5-crypt (`htpasswd -m`), for compatibility;
 *   {SHA}                base64(SHA-1(password)) (`htpasswd -s`), unsalted, for compatibility.
 * Other formats (crypt(3) DES, plain text) never verify. The file is re-read when it changes.
 */
import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { WatchedFileOptions } from '../digest/watched-file.js';
import { WatchedFile } from '../digest/watched-file.js';
import { apr1, apr1Salt } from './apr1.js';
import { textEqual } from '../crypto/constant-time.js';

export type HtpasswdScheme = 'bcrypt' | 'apr1' | 'sha1' | 'unsupported';

export interface HtpasswdEntry {
  readonly scheme: HtpasswdScheme;
  readonly hash: string;
}

export function hashScheme(hash: string): HtpasswdScheme {
  if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) return 'bcrypt';
  if (apr1Salt(hash) !== undefined) return 'apr1';
  if (/^\{SHA\}[A-Za-z0-9+/]{27}=$/.test(hash)) return 'sha1';
  return 'unsupported';
}

/** Check `password` against one htpasswd hash; comparisons are constant-time. */
export async function verifyHtpasswdHash(entry: HtpasswdEntry, password: string): Promise<boolean> {
  switch (entry.scheme) {
    case 'bcrypt':
      // bcryptjs compares the full hash string in constant time.
      return bcrypt.compare(password, entry.hash);
    case 'apr1':
      return textEqual(entry.hash, apr1(password, apr1Salt(entry.hash) as string));
    case 'sha1':
      return textEqual(
        entry.hash,
        '{SHA}' + createHash('sha1').update(password, 'utf8').digest('base64'),
      );
    case 'unsupported':
      return false;
  }
}

export class HtpasswdTable {
  readonly #entries = new Map<string, HtpasswdEntry>();
  #decoy: HtpasswdEntry | undefined;

  add(user: string, hash: string): void {
    if (this.#entries.has(user)) throw new Error('duplicate user');
    const entry = { scheme: hashScheme(hash), hash };
    this.#entries.set(user, entry);
    // The decoy is the strongest entry: an unknown user costs at least a real check.
    if (
      this.#decoy === undefined ||
      (entry.scheme === 'bcrypt' && this.#decoy.scheme !== 'bcrypt')
    ) {
      this.#decoy = entry;
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  async verify(user: string, password: string): Promise<boolean> {
    const entry = this.#entries.get(user);
    if (entry === undefined) {
      // Same work as a real check (against another user's hash, result discarded), then no.
      if (this.#decoy !== undefined) await verifyHtpasswdHash(this.#decoy, password);
      return false;
    }
    return verifyHtpasswdHash(entry, password);
  }
}

export function parseHtpasswd(text: string): HtpasswdTable {
  const table = new HtpasswdTable();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error('htpasswd line without user');
    table.add(line.slice(0, colon), line.slice(colon + 1));
  }
  return table;
}

/** A Basic verifier over an Apache htpasswd file, reloaded when the file changes. */
export function htpasswdFile(
  path: string,
  options?: WatchedFileOptions,
): (user: string, password: string) => Promise<boolean> {
  const file = new WatchedFile(path, parseHtpasswd, options);
  return (user, password) => file.current.verify(user, password);
}
