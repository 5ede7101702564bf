/**
 * Where delegated credentials live while a request uses them: one MIT ccache file per context, in
 * a directory the server owns.
 *
 *  - The directory is created 0711 and must be owned by the server and not a symlink: nobody else
 *    can list it or create files in it. It is not 0700 because the children that use a ccache run
 *    as the user, who must reach their own file by name; the names carry 128 random bits, so one
 *    user cannot find another's file, and each file is 0600 and owned by the user it belongs to.
 *  - Files are created with O_CREAT|O_EXCL (`wx`), mode 0600, so an existing path (a planted
 *    symlink) is never followed or reused.
 *  - A file is removed when its context is disposed; at start-up, files left by processes that no
 *    longer run are removed (the name carries the writer's pid, so several server processes can
 *    share a directory); and on process exit every file still open is removed.
 *  - The default directory is one nobody else can create first: under /run when the server may
 *    write there (only root may), else a fresh `mkdtemp` directory in the temp dir, removed on exit.
 *    A fixed name in a shared, world-writable /tmp could be created by any local user beforehand,
 *    and the ownership check would then stop the server from starting.
 */
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  constants,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmdirSync,
  unlinkSync,
} from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fail, HttpAuthError } from '../errors.js';
import type { Ccache } from '../kerberos/ccache.js';
import { encodeCcache } from '../kerberos/ccache.js';

const PREFIX = 'krb5cc_httpauth_';
const NAME = /^krb5cc_httpauth_(\d+)_[0-9a-f]{32}$/;

export interface CcacheOwner {
  readonly uid: number;
  readonly gid: number;
}

/** Where the default directory goes when the server may write /run (root, typically). */
export const RUN_DIRECTORY = '/run';

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The default directory: `/run/httpauth-ccaches-<uid>` when /run is writable (a name only root can
 * take, so it survives restarts and stale files are swept), else a new `mkdtemp` directory in the
 * temp dir (a random name nobody can create first) that is removed when the process exits.
 */
export function defaultCcacheDirectory(runDirectory = RUN_DIRECTORY): {
  readonly path: string;
  readonly temporary: boolean;
} {
  if (writable(runDirectory)) {
    return {
      path: join(runDirectory, `httpauth-ccaches-${process.getuid?.() ?? 'x'}`),
      temporary: false,
    };
  }
  try {
    return { path: mkdtempSync(join(tmpdir(), 'httpauth-ccaches-')), temporary: true };
  } catch (cause) {
    return fail('ERR_HTTPAUTH_INVALID_OPTIONS', cause);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Every ccache written and not yet removed, in any directory: deleted on process exit. */
const liveEverywhere = new Set<string>();
/** Directories this process made with mkdtemp: removed on exit, after their files. */
const temporaryDirectories = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const file of liveEverywhere) {
      try {
        unlinkSync(file);
      } catch {
        // Already gone.
      }
    }
    for (const directory of temporaryDirectories) {
      try {
        rmdirSync(directory);
      } catch {
        // Not empty (a file we did not write) or already gone: leave it.
      }
    }
  });
}

export class CcacheDirectory {
  readonly path: string;
  private readonly live = new Set<string>();

  /**
   * Create (or check) the directory and remove stale files. Throws ERR_HTTPAUTH_INVALID_OPTIONS
   * when the path exists but is not a directory owned by this process's uid with no group/other
   * write or read access. Without a path, the default (see defaultCcacheDirectory).
   */
  constructor(path?: string) {
    const chosen = path === undefined ? defaultCcacheDirectory() : { path, temporary: false };
    this.path = chosen.path;
    if (chosen.temporary) temporaryDirectories.add(chosen.path);
    try {
      mkdirSync(this.path, { recursive: true, mode: 0o711 });
    } catch (cause) {
      fail('ERR_HTTPAUTH_INVALID_OPTIONS', cause);
    }
    this.#check();
    this.removeStale();
    installExitHook();
  }

  /** A pre-existing path must be our own directory, not a symlink, closed to others. */
  #check(): void {
    const path = this.path;
    const stat = lstatSync(path);
    const uid = process.getuid?.();
    if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid)) {
      fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    }
    if ((stat.mode & 0o066) !== 0) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    // The umask may have narrowed mkdir's mode; set exactly what we mean.
    chmodSync(path, 0o711);
  }

  /** Remove files whose writer process is gone (or is this process: a previous incarnation). */
  removeStale(): number {
    let removed = 0;
    for (const name of readdirSync(this.path)) {
      const match = NAME.exec(name);
      if (match === null) continue;
      const pid = Number(match[1]);
      const file = join(this.path, name);
      if (this.live.has(file)) continue;
      if (pid !== process.pid && processAlive(pid)) continue;
      try {
        unlinkSync(file);
        removed++;
      } catch {
        // Raced with another cleaner.
      }
    }
    return removed;
  }

  /** Write `cache` to a new unique file owned by `owner` (when running as root), mode 0600. */
  async write(cache: Ccache, owner: CcacheOwner | undefined): Promise<string> {
    const bytes = encodeCcache(cache);
    const file = join(this.path, `${PREFIX}${process.pid}_${randomBytes(16).toString('hex')}`);
    let handle;
    try {
      handle = await open(file, 'wx', 0o600);
    } catch (cause) {
      throw new HttpAuthError('ERR_HTTPAUTH_IMPERSONATION_FAILED', { cause });
    }
    this.live.add(file);
    liveEverywhere.add(file);
    try {
      // fchown/fchmod on the descriptor we created: nothing can swap the path in between.
      if (owner !== undefined && process.getuid?.() === 0) await handle.chown(owner.uid, owner.gid);
      await handle.chmod(0o600);
      await handle.writeFile(bytes);
      await handle.sync();
    } catch (cause) {
      await handle.close().catch(() => {});
      await this.remove(file);
      throw new HttpAuthError('ERR_HTTPAUTH_IMPERSONATION_FAILED', { cause });
    } finally {
      bytes.fill(0);
    }
    await handle.close();
    return file;
  }

  /** Remove a file this directory wrote; idempotent. */
  async remove(file: string): Promise<void> {
    this.live.delete(file);
    liveEverywhere.delete(file);
    try {
      await unlink(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  /** Files currently written and not yet removed (for tests and metrics). */
  get size(): number {
    return this.live.size;
  }

  /** Remove every live file. */
  async close(): Promise<void> {
    await Promise.all([...this.live].map((file) => this.remove(file).catch(() => {})));
  }
}
