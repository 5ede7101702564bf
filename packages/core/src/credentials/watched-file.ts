/**
 * A small credentials file that is re-read when it changes on disk: the one watcher every file
 * credential source shares (htdigest and the httpauth Digest file, htpasswd, smbpasswd). A change is noticed by a stat of mtime, ctime, size and inode, at most
 * once per `checkIntervalMs`; the stat and the read are synchronous because the files are small
 * and the check must fit in the synchronous challenge path. A file that fails to read or parse on
 * reload leaves the previous contents in force (an editor may be halfway through writing it);
 * the first load must succeed.
 */
import { readFileSync, statSync } from 'node:fs';
import { HttpAuthError } from '../errors.js';

/**
 * Options of the file credential sources (`htpasswdFile`, `htdigestFile`, `digestFile`,
 * `smbpasswdFile`): how often, at most, to look whether the file changed. A changed file is
 * re-read; a failed re-read keeps the last good copy.
 */
export interface WatchedFileOptions {
  /** Minimum time between two stat calls (default 1000 ms; 0 checks on every use). */
  readonly checkIntervalMs?: number;
  /** Clock, for tests. */
  readonly now?: () => number;
}

export class WatchedFile<T> {
  readonly #path: string;
  readonly #parse: (text: string) => T;
  readonly #interval: number;
  readonly #now: () => number;
  #signature = '';
  #lastCheck = Number.NEGATIVE_INFINITY;
  #value: T;

  constructor(path: string, parse: (text: string) => T, options: WatchedFileOptions = {}) {
    if (typeof path !== 'string' || path === '')
      throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
    this.#path = path;
    this.#parse = parse;
    if (options === null || typeof options !== 'object') {
      throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
    }
    const interval = options.checkIntervalMs ?? 1000;
    // NaN or a negative interval would silently never (or always) re-read the file.
    if (!Number.isSafeInteger(interval) || interval < 0) {
      throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
    }
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
    }
    this.#interval = interval;
    this.#now = options.now ?? Date.now;
    const loaded = this.#load();
    if (loaded === undefined) throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
    this.#value = loaded;
    this.#lastCheck = this.#now();
  }

  #stat(): string | undefined {
    try {
      const st = statSync(this.#path);
      return `${st.mtimeMs}:${st.ctimeMs}:${st.size}:${st.ino}`;
    } catch {
      return undefined;
    }
  }

  #load(): T | undefined {
    const signature = this.#stat();
    if (signature === undefined) return undefined;
    try {
      const value = this.#parse(readFileSync(this.#path, 'utf8'));
      this.#signature = signature;
      return value;
    } catch {
      return undefined;
    }
  }

  /** The current contents, re-read first when the file changed. */
  get current(): T {
    const now = this.#now();
    if (now - this.#lastCheck >= this.#interval) {
      this.#lastCheck = now;
      const signature = this.#stat();
      if (signature !== undefined && signature !== this.#signature) {
        const loaded = this.#load();
        if (loaded !== undefined) this.#value = loaded;
      }
    }
    return this.#value;
  }
}
