/**
 * Samba smbpasswd files (smbpasswd(5)) as an NTLM credential source:
 *
 *   username:uid:LMHASH:NTHASH:[account flags]:LCT-hexseconds:
 *
 * Hashes are 32 hex digits, or X's / "NO PASSWORD" when absent. Account flags inside the
 * brackets: U user, D disabled, N no password required, L auto-locked, W/S/I machine and trust
 * accounts. Only enabled user accounts with an NT hash can log on here; machine and trust
 * accounts never can. The file is re-read when it changes (checked at most once per
 * `checkIntervalMs`); a failed re-read keeps the last good copy.
 */
import { HttpAuthError } from '../errors.js';
import type { WatchedFileOptions } from '../credentials/watched-file.js';
import { WatchedFile } from '../credentials/watched-file.js';
import type { NtHashEntry, NtlmVerifier } from './credentials.js';
import { ntHashVerifier } from './credentials.js';

/** Options of {@link smbpasswdFile}: how often to look for a changed file. */
export interface SmbpasswdOptions extends WatchedFileOptions {
  /**
   * @deprecated The older name of `checkIntervalMs`, which every file source takes: how often,
   * at most, to look for a changed file (default 1000 ms; 0 = on every logon).
   */
  readonly reloadCheckMs?: number;
}

export interface SmbpasswdSource extends NtlmVerifier {
  /** The account entry for a user name (case-insensitive, as Samba's are). */
  lookup(user: string): Promise<NtHashEntry | undefined>;
  /** Number of accounts that can log on. */
  readonly size: number;
}

const HASH_PATTERN = /^[0-9A-Fa-f]{32}$/;

function parseHash(field: string): Buffer | undefined {
  return HASH_PATTERN.test(field) ? Buffer.from(field, 'hex') : undefined;
}

/** Parses smbpasswd text into usable accounts keyed by lower-cased name; bad lines are skipped. */
export function parseSmbpasswd(text: string): Map<string, NtHashEntry> {
  const accounts = new Map<string, NtHashEntry>();
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(':');
    if (fields.length < 6) continue;
    const [user, uid, lmField, ntField, flagField] = fields as [
      string,
      string,
      string,
      string,
      string,
    ];
    if (user === '' || !/^\d+$/.test(uid)) continue;
    const flagsMatch = /^\[([A-Z ]*)\]$/.exec(flagField);
    if (flagsMatch === null) continue;
    const accountFlags = flagsMatch[1] as string;
    // Machine (W), server (S) and interdomain (I) trust accounts are not people.
    if (/[WSI]/.test(accountFlags) || !accountFlags.includes('U')) continue;
    const ntHash = parseHash(ntField);
    if (ntHash === undefined) continue;
    const lmHash = parseHash(lmField);
    const key = user.toLowerCase();
    if (accounts.has(key)) continue; // first entry wins, as in Samba's lookup
    accounts.set(key, {
      user,
      ntHash,
      ...(lmHash === undefined ? {} : { lmHash }),
      disabled: /[DL]/.test(accountFlags),
    });
  }
  return accounts;
}

/**
 * An smbpasswd file as a verifier, re-read when it changes like every file source
 * (credentials/watched-file.ts). Throws ERR_HTTPAUTH_INVALID_OPTIONS when it cannot be read.
 */
export function smbpasswdFile(path: string, options: SmbpasswdOptions = {}): SmbpasswdSource {
  if (options === null || typeof options !== 'object') {
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const { reloadCheckMs, checkIntervalMs } = options;
  if (reloadCheckMs !== undefined && checkIntervalMs !== undefined) {
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const interval = checkIntervalMs ?? reloadCheckMs;
  const file = new WatchedFile(path, parseSmbpasswd, {
    ...(interval === undefined ? {} : { checkIntervalMs: interval }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });

  async function lookup(user: string): Promise<NtHashEntry | undefined> {
    return file.current.get(user.toLowerCase());
  }

  const verifier = ntHashVerifier((user) => lookup(user));
  return {
    verify: (request) => verifier.verify(request),
    lookup,
    get size() {
      let count = 0;
      for (const entry of file.current.values()) if (entry.disabled !== true) count++;
      return count;
    },
  };
}
