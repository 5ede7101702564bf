/**
 * Where the Digest verifier finds H(A1) (or the password to compute it): the credential sources.
 *
 * A source says which hashes it can serve; the package offers exactly the configured algorithms
 * whose hash the source serves (an htdigest file holds MD5 HA1s only, so a server backed by one
 * never offers SHA-256 challenges it could not verify).
 *
 *  - htdigestFile(path):   Apache `htdigest` files, `user:realm:MD5(user:realm:password)`.
 *  - digestFile(path):     the httpauth Digest file, one HA1 per hash (format in docs/digest.md).
 *  - digestCallback(fn):   your code answers (user, realm, hash) with an HA1 or the password.
 */
import { HttpAuthError, fail, isHttpAuthError } from '../errors.js';
import type { DigestHash } from './algorithms.js';
import { DIGEST_HASHES, isDigestHash, isHashHex } from './algorithms.js';
import { computeHa1, computeUserhash } from './compute.js';
import type { WatchedFileOptions } from '../credentials/watched-file.js';
import { WatchedFile } from '../credentials/watched-file.js';

/** What a source knows about one user: H(A1) as lower-case hex, or the password itself. */
export type DigestSecret = { readonly ha1: string } | { readonly password: string };

/**
 * Where the Digest package finds a user's H(A1) or password: `htdigestFile`, `digestFile`,
 * `digestCallback`, or your own implementation. The package offers only the algorithms whose hash
 * the source serves.
 */
export interface DigestCredentialSource {
  /** The hashes this source can serve now (files may change what they hold on reload). */
  hashes(): readonly DigestHash[];
  /** The secret for `user` in `realm` under `hash`, or undefined for an unknown user. */
  lookup(
    user: string,
    realm: string,
    hash: DigestHash,
  ): DigestSecret | undefined | Promise<DigestSecret | undefined>;
  /**
   * Map a userhash (H(user ":" realm), RFC 7616 §3.4.4) back to the user name. Sources without
   * it cannot serve userhash=true clients, and the package then refuses `userhash: true`.
   */
  resolveUserhash?(
    userhash: string,
    realm: string,
    hash: DigestHash,
  ): string | undefined | Promise<string | undefined>;
}

/** The callback form: an HA1 hex string, `{ ha1 }`, `{ password }`, or undefined when unknown. */
export type DigestCredentialCallback = (
  user: string,
  realm: string,
  hash: DigestHash,
) => string | DigestSecret | undefined | null | Promise<string | DigestSecret | undefined | null>;

/**
 * Options of `digestCallback`: the hashes the callback can answer for and how to resolve a
 * userhash.
 */
export interface DigestCallbackOptions {
  /** The hashes the callback can answer for (default: all; a password can serve any). */
  readonly hashes?: readonly DigestHash[];
  /**
   * Maps a userhash (H(user ":" realm), RFC 7616 §3.4.4) back to the user name; without it the
   * Digest package refuses its `userhash: true` option.
   */
  readonly resolveUserhash?: DigestCredentialSource['resolveUserhash'];
}

/** A custom source's failure as the client may see it: a stable code, the cause kept for logs. */
function sourceFailed(error: unknown): never {
  if (isHttpAuthError(error)) throw error;
  return fail('ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED', error);
}

/** True for a promise or any thenable a callback may return. */
export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

function checkHashes(hashes: readonly DigestHash[]): readonly DigestHash[] {
  if (!Array.isArray(hashes) || hashes.length === 0 || !hashes.every(isDigestHash)) {
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  return [...new Set(hashes)];
}

/** A credential source backed by your own lookup (a database, a secrets manager). */
export function digestCallback(
  callback: DigestCredentialCallback,
  options: DigestCallbackOptions = {},
): DigestCredentialSource {
  if (typeof callback !== 'function') throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  const hashes = checkHashes(options.hashes ?? DIGEST_HASHES);
  /** The callback's answer as a secret: checked, and normalised to `{ ha1 }` or `{ password }`. */
  function secretOf(
    answer: Awaited<ReturnType<DigestCredentialCallback>>,
    hash: DigestHash,
  ): DigestSecret | undefined {
    if (answer === undefined || answer === null) return undefined;
    if (typeof answer === 'string') answer = { ha1: answer };
    if ('password' in answer && typeof answer.password === 'string') return answer;
    if ('ha1' in answer && typeof answer.ha1 === 'string') {
      const ha1 = answer.ha1.toLowerCase();
      if (!isHashHex(hash, ha1)) fail('ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED');
      return { ha1 };
    }
    return fail('ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED');
  }
  const source: DigestCredentialSource = {
    hashes: () => hashes,
    // A callback that answers at once (a table in memory) gets its answer checked at once: no
    // promise per request. A promise is checked when it settles; either way a throw or a
    // rejection is ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED unless it is already an HttpAuthError.
    lookup(user, realm, hash) {
      let answer: ReturnType<DigestCredentialCallback>;
      try {
        answer = callback(user, realm, hash);
      } catch (error) {
        return sourceFailed(error);
      }
      return isThenable(answer)
        ? Promise.resolve(answer).then((settled) => secretOf(settled, hash), sourceFailed)
        : secretOf(answer, hash);
    },
  };
  if (options.resolveUserhash !== undefined) {
    const resolve = options.resolveUserhash;
    source.resolveUserhash = async (userhash, realm, hash) => {
      try {
        return await resolve(userhash, realm, hash);
      } catch (error) {
        if (isHttpAuthError(error)) throw error;
        return fail('ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED', error);
      }
    };
  }
  return source;
}

/** A parsed credentials file: per realm and user, one HA1 per hash. */
export class DigestTable {
  readonly #entries = new Map<string, Map<DigestHash, string>>();
  readonly #userhashes = new Map<string, string>();
  #hashes: readonly DigestHash[] = DIGEST_HASHES;

  static #key(realm: string, user: string): string {
    return `${realm}\u0000${user}`;
  }

  add(user: string, realm: string, ha1s: ReadonlyMap<DigestHash, string>): void {
    const key = DigestTable.#key(realm, user);
    if (this.#entries.has(key)) throw new Error('duplicate entry');
    this.#entries.set(key, new Map(ha1s));
    for (const hash of ha1s.keys()) {
      this.#userhashes.set(
        `${hash}\u0000${realm}\u0000${computeUserhash(hash, user, realm)}`,
        user,
      );
    }
    // Offer only what every user can answer: a client picks the first offered algorithm it
    // supports, and a user without that HA1 could not log in at all.
    this.#hashes = this.#hashes.filter((hash) => ha1s.has(hash));
  }

  hashes(): readonly DigestHash[] {
    return this.#hashes;
  }

  lookup(user: string, realm: string, hash: DigestHash): DigestSecret | undefined {
    const ha1 = this.#entries.get(DigestTable.#key(realm, user))?.get(hash);
    return ha1 === undefined ? undefined : { ha1 };
  }

  resolveUserhash(userhash: string, realm: string, hash: DigestHash): string | undefined {
    return this.#userhashes.get(`${hash}\u0000${realm}\u0000${userhash.toLowerCase()}`);
  }
}

function lines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .filter((line) => line.trim() !== '' && !line.startsWith('#'));
}

/** Parse an Apache htdigest file: `user:realm:HA1` per line, HA1 = MD5(user:realm:password). */
export function parseHtdigest(text: string): DigestTable {
  const table = new DigestTable();
  for (const line of lines(text)) {
    const fields = line.split(':');
    if (fields.length !== 3) throw new Error('htdigest line must have three fields');
    const [user, realm, ha1] = fields as [string, string, string];
    const lower = ha1.toLowerCase();
    if (user === '' || !isHashHex('MD5', lower)) throw new Error('bad htdigest line');
    table.add(user, realm, new Map([['MD5', lower]]));
  }
  return table;
}

// --- The httpauth Digest file ------------------------------------------------------------------
// One line per user and realm:   user:realm:MD5=<hex>,SHA-256=<hex>,SHA-512-256=<hex>
// user and realm are percent-encoded where they hold '%', ':', ',', '#', spaces or controls.

function mustEscape(code: number): boolean {
  // '%' ':' ',' '#', space and the controls would break the line syntax.
  return (
    code <= 0x20 ||
    code === 0x7f ||
    code === 0x25 ||
    code === 0x3a ||
    code === 0x2c ||
    code === 0x23
  );
}

function encodeField(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.charCodeAt(0);
    out += mustEscape(code) ? '%' + code.toString(16).toUpperCase().padStart(2, '0') : ch;
  }
  return out;
}

function decodeField(value: string): string {
  return decodeURIComponent(value);
}

/** Parse the httpauth Digest file format (docs/digest.md). */
export function parseDigestFile(text: string): DigestTable {
  const table = new DigestTable();
  for (const line of lines(text)) {
    const fields = line.split(':');
    if (fields.length !== 3) throw new Error('digest file line must have three fields');
    const [userField, realmField, ha1Field] = fields as [string, string, string];
    const user = decodeField(userField);
    const realm = decodeField(realmField);
    if (user === '') throw new Error('empty user');
    const ha1s = new Map<DigestHash, string>();
    for (const item of ha1Field.split(',')) {
      const eq = item.indexOf('=');
      const hash = item.slice(0, eq);
      const ha1 = item.slice(eq + 1).toLowerCase();
      if (eq < 0 || !isDigestHash(hash) || !isHashHex(hash, ha1) || ha1s.has(hash)) {
        throw new Error('bad digest file entry');
      }
      ha1s.set(hash, ha1);
    }
    table.add(user, realm, ha1s);
  }
  return table;
}

/**
 * One line of the httpauth Digest file for `user` in `realm`, holding H(A1) under each of
 * `hashes` (default all). The password itself is not stored.
 */
export function digestFileLine(
  user: string,
  realm: string,
  password: string,
  hashes: readonly DigestHash[] = DIGEST_HASHES,
): string {
  const list = checkHashes(hashes);
  if (typeof user !== 'string' || user === '' || typeof realm !== 'string') {
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const ha1s = list.map((hash) => `${hash}=${computeHa1(hash, user, realm, password)}`).join(',');
  return `${encodeField(user)}:${encodeField(realm)}:${ha1s}`;
}

function fileSource(file: WatchedFile<DigestTable>): DigestCredentialSource {
  return {
    hashes: () => file.current.hashes(),
    lookup: (user, realm, hash) => file.current.lookup(user, realm, hash),
    resolveUserhash: (userhash, realm, hash) => file.current.resolveUserhash(userhash, realm, hash),
  };
}

/** An Apache htdigest file (MD5 only), reloaded when it changes. */
export function htdigestFile(path: string, options?: WatchedFileOptions): DigestCredentialSource {
  return fileSource(new WatchedFile(path, parseHtdigest, options));
}

/** An httpauth Digest file (one HA1 per hash), reloaded when it changes. */
export function digestFile(path: string, options?: WatchedFileOptions): DigestCredentialSource {
  return fileSource(new WatchedFile(path, parseDigestFile, options));
}
