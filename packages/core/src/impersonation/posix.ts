/**
 * The POSIX identity of a local user, from the system user database: the same answers as
 * `getent passwd NAME` (uid, primary gid, home, shell) and `id -G NAME` (every group, including the
 * ones initgroups(3) collects from SSSD or winbind), plus the groups' names from `getent group`.
 *
 * Why child processes rather than reading /etc/passwd: only NSS (nsswitch.conf) knows every source
 * (files, SSSD, winbind, LDAP), and Node has no binding to getpwnam/getgrouplist except for the
 * current process. `getent` and `id` are NSS clients present on every Linux system. Each runs via
 * execFile (no shell) with a timeout; output is parsed strictly; answers are cached with a TTL.
 */
import { execFile } from 'node:child_process';
import { fail } from '../errors.js';
import { isValidLocalName } from './mapping.js';

/**
 * A local user as the system's user database (NSS) knows it: name, uid, primary gid, every group id
 * and name, home and shell; what an impersonated child process runs with.
 */
export interface PosixIdentity {
  /** The local user name, as the user database spells it. */
  readonly user: string;
  readonly uid: number;
  /** Primary group. */
  readonly gid: number;
  /** Every group id, as `id -G` lists them (primary first). */
  readonly groups: readonly number[];
  /** Names of the groups the database could name (`getent group`), in the order of `groups`. */
  readonly groupNames: readonly string[];
  readonly home: string;
  readonly shell: string;
}

/**
 * Looks local users up by name; `policy.userDatabase` takes one (default {@link
 * systemUserDatabase}).
 */
export interface UserDatabase {
  /** The identity of `name`, or undefined when no such user exists. */
  lookup(name: string): Promise<PosixIdentity | undefined>;
}

/**
 * Options of {@link systemUserDatabase} (and `policy.lookup`): cache lifetimes and size, the
 * timeout of each `getent`/`id` run, and their paths.
 */
export interface SystemUserDatabaseOptions {
  /** How long a found user stays cached (default 60 s). */
  readonly ttlMs?: number;
  /** How long "no such user" stays cached (default 10 s). */
  readonly negativeTtlMs?: number;
  /** Timeout of each getent/id run (default 5 s). */
  readonly timeoutMs?: number;
  /** Entries kept at most; the oldest go first (default 1000). */
  readonly maxEntries?: number;
  readonly getentPath?: string;
  readonly idPath?: string;
  /** Clock in milliseconds, for tests. */
  readonly now?: () => number;
}

const MAX_ID = 0xfffffffe; // (uid_t)-1 is "no id" in setresuid(2)
const MAX_OUTPUT = 1024 * 1024;

function parseId(text: string): number {
  if (!/^[0-9]{1,10}$/.test(text)) fail('ERR_HTTPAUTH_USER_LOOKUP_FAILED');
  const value = Number(text);
  if (value > MAX_ID) fail('ERR_HTTPAUTH_USER_LOOKUP_FAILED');
  return value;
}

/** Parse one `getent passwd` line for `name`: exactly seven colon-separated fields. */
export function parsePasswdLine(
  output: string,
  name: string,
): Omit<PosixIdentity, 'groups' | 'groupNames'> {
  const lines = output.split('\n').filter((line) => line !== '');
  if (lines.length !== 1) fail('ERR_HTTPAUTH_USER_LOOKUP_FAILED');
  const fields = (lines[0] as string).split(':');
  if (fields.length !== 7) fail('ERR_HTTPAUTH_USER_LOOKUP_FAILED');
  const [user, , uid, gid, , home, shell] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  // NSS may canonicalise case (winbind, SSSD): report the name it gave, nothing else differs;
  // the policy (policy.ts) then refuses a name that is not exactly the one asked for.
  if (user.toLowerCase() !== name.toLowerCase()) fail('ERR_HTTPAUTH_USER_LOOKUP_FAILED');
  return { user, uid: parseId(uid), gid: parseId(gid), home, shell };
}

/** Parse `id -G` output: one line of space-separated decimal group ids. */
export function parseGroupList(output: string): number[] {
  const line = output.endsWith('\n') ? output.slice(0, -1) : output;
  if (line === '' || line.includes('\n')) fail('ERR_HTTPAUTH_USER_LOOKUP_FAILED');
  const ids = line.split(' ').map(parseId);
  if (ids.length > 65536) fail('ERR_HTTPAUTH_USER_LOOKUP_FAILED');
  return ids;
}

/** Parse `getent group GID...` output into gid -> name (four fields per line). */
export function parseGroupLines(output: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of output.split('\n')) {
    if (line === '') continue;
    const fields = line.split(':');
    if (fields.length !== 4 || fields[0] === '') fail('ERR_HTTPAUTH_USER_LOOKUP_FAILED');
    names.set(parseId(fields[2] as string), fields[0] as string);
  }
  return names;
}

interface RunResult {
  readonly code: number;
  readonly stdout: string;
}

function run(file: string, args: readonly string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        timeout: timeoutMs,
        maxBuffer: MAX_OUTPUT,
        encoding: 'utf8',
        // A fixed, minimal environment: the answer must not depend on the server's locale or PATH.
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
        shell: false,
      },
      (error, stdout) => {
        if (error === null) return resolve({ code: 0, stdout });
        const code = (error as NodeJS.ErrnoException & { code?: unknown }).code;
        if (typeof code === 'number' && error.killed !== true) {
          return resolve({ code, stdout });
        }
        reject(new Error('user database lookup failed', { cause: error }));
      },
    );
  });
}

/** A {@link UserDatabase} with a cache that can be emptied. */
export interface CachingUserDatabase extends UserDatabase {
  /** Forget every cached answer. */
  clear(): void;
}

/** The system user database through NSS, cached. */
export function systemUserDatabase(options: SystemUserDatabaseOptions = {}): CachingUserDatabase {
  const ttl = options.ttlMs ?? 60_000;
  const negativeTtl = options.negativeTtlMs ?? 10_000;
  const timeout = options.timeoutMs ?? 5_000;
  const maxEntries = options.maxEntries ?? 1000;
  const getent = options.getentPath ?? '/usr/bin/getent';
  const id = options.idPath ?? '/usr/bin/id';
  const clock = options.now ?? Date.now;
  const cache = new Map<string, { expires: number; value: Promise<PosixIdentity | undefined> }>();

  async function resolve(name: string): Promise<PosixIdentity | undefined> {
    let passwd: RunResult;
    try {
      passwd = await run(getent, ['passwd', '--', name], timeout);
    } catch (cause) {
      return fail('ERR_HTTPAUTH_USER_LOOKUP_FAILED', cause);
    }
    // getent(1): exit 2 means "key not found".
    if (passwd.code === 2) return undefined;
    if (passwd.code !== 0) fail('ERR_HTTPAUTH_USER_LOOKUP_FAILED');
    const entry = parsePasswdLine(passwd.stdout, name);
    let groups: RunResult;
    try {
      groups = await run(id, ['-G', '--', entry.user], timeout);
    } catch (cause) {
      return fail('ERR_HTTPAUTH_USER_LOOKUP_FAILED', cause);
    }
    if (groups.code !== 0) fail('ERR_HTTPAUTH_USER_LOOKUP_FAILED');
    const gids = parseGroupList(groups.stdout);
    if (gids[0] !== entry.gid) fail('ERR_HTTPAUTH_USER_LOOKUP_FAILED');
    let named: RunResult;
    try {
      named = await run(getent, ['group', ...gids.map(String)], timeout);
    } catch (cause) {
      return fail('ERR_HTTPAUTH_USER_LOOKUP_FAILED', cause);
    }
    // Exit 2: some gid has no name (allowed: a group may exist only as a number).
    if (named.code !== 0 && named.code !== 2) fail('ERR_HTTPAUTH_USER_LOOKUP_FAILED');
    const names = parseGroupLines(named.stdout);
    const groupNames = gids.flatMap((gid) => {
      const groupName = names.get(gid);
      return groupName === undefined ? [] : [groupName];
    });
    return { ...entry, groups: [...new Set(gids)], groupNames: [...new Set(groupNames)] };
  }

  return {
    lookup(name) {
      if (!isValidLocalName(name)) return Promise.resolve(undefined);
      const now = clock();
      const hit = cache.get(name);
      if (hit !== undefined && hit.expires > now) return hit.value;
      if (hit !== undefined) cache.delete(name);
      const value = resolve(name);
      const entry = { expires: now + ttl, value };
      cache.set(name, entry);
      value.then(
        (found) => {
          if (found === undefined) entry.expires = Math.min(entry.expires, clock() + negativeTtl);
        },
        // Failures are not cached: the next request asks again.
        () => {
          if (cache.get(name) === entry) cache.delete(name);
        },
      );
      while (cache.size > maxEntries) {
        const oldest = cache.keys().next().value as string;
        cache.delete(oldest);
      }
      return value;
    },
    clear() {
      cache.clear();
    },
  };
}
