/**
 * Apache htpasswd files: `user:hash` per line. Hash formats read here:
 *   $2a$ / $2b$ / $2y$   bcrypt (`htpasswd -B`), the one to use;
 *   $apr1$               MD5-crypt (`htpasswd -m`), for compatibility;
 *   {SHA}                base64(SHA-1(password)) (`htpasswd -s`), unsalted, for compatibility.
 * Other formats (crypt(3) DES, plain text) never verify. The file is re-read when it changes.
 *
 * bcrypt reads only the first 72 bytes of a password; a longer one (UTF-8) is refused for bcrypt
 * entries rather than accepted on its prefix, as OpenBSD's and Go's bcrypt do: otherwise any
 * string sharing the first 72 bytes would be taken for the password.
 */
import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { WatchedFileOptions } from '../credentials/watched-file.js';
import { WatchedFile } from '../credentials/watched-file.js';
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

/** The most password bytes bcrypt reads (the Blowfish key schedule takes at most 72). */
export const BCRYPT_MAX_PASSWORD_BYTES = 72;

/**
 * Check `password` against one htpasswd hash; comparisons are constant-time. A bcrypt password
 * longer than 72 bytes is refused after the same work as a wrong one.
 */
export async function verifyHtpasswdHash(entry: HtpasswdEntry, password: string): Promise<boolean> {
  switch (entry.scheme) {
    case 'bcrypt': {
      const tooLong = Buffer.byteLength(password, 'utf8') > BCRYPT_MAX_PASSWORD_BYTES;
      // bcryptjs compares the full hash string in constant time.
      const matches = await bcrypt.compare(password, entry.hash);
      return matches && !tooLong;
    }
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

/** A hash verifier; HtpasswdTable takes one so tests can see which entry each check used. */
export type HtpasswdHashVerifier = (entry: HtpasswdEntry, password: string) => Promise<boolean>;

/**
 * How much one check of `entry` costs, in a comparable order: bcrypt by its cost factor (2^cost
 * rounds), above apr1 (1000 MD5 rounds), above one SHA-1; an unsupported entry costs nothing.
 */
export function htpasswdCost(entry: HtpasswdEntry): number {
  switch (entry.scheme) {
    case 'bcrypt':
      return 100 + Number(entry.hash.slice(4, 6));
    case 'apr1':
      return 2;
    case 'sha1':
      return 1;
    case 'unsupported':
      return 0;
  }
}

export class HtpasswdTable {
  readonly #entries = new Map<string, HtpasswdEntry>();
  readonly #verifyHash: HtpasswdHashVerifier;
  #decoy: HtpasswdEntry | undefined;

  constructor(verifyHash: HtpasswdHashVerifier = verifyHtpasswdHash) {
    this.#verifyHash = verifyHash;
  }

  add(user: string, hash: string): void {
    if (this.#entries.has(user)) throw new Error('duplicate user');
    const entry = { scheme: hashScheme(hash), hash };
    this.#entries.set(user, entry);
    // The decoy is the most expensive entry, whatever the order of the file: a user that does not
    // exist (or whose hash cannot verify) then costs at least what any real check costs, so the
    // time of a refusal does not tell which user names exist.
    if (
      htpasswdCost(entry) > 0 &&
      (this.#decoy === undefined || htpasswdCost(entry) > htpasswdCost(this.#decoy))
    ) {
      this.#decoy = entry;
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The entry checked (result discarded) for unknown users; undefined when none can verify. */
  get decoy(): HtpasswdEntry | undefined {
    return this.#decoy;
  }

  async verify(user: string, password: string): Promise<boolean> {
    const entry = this.#entries.get(user);
    if (entry === undefined || entry.scheme === 'unsupported') {
      // Same work as the costliest real check (another user's hash, result discarded), then no.
      if (this.#decoy !== undefined) await this.#verifyHash(this.#decoy, password);
      return false;
    }
    return this.#verifyHash(entry, password);
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
