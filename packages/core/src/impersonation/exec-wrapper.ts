/**
 * What happens between setpriv's identity switch and the user's command (see run-as.ts).
 *
 * setpriv runs as root with ROOT_STAGE_ENVIRONMENT only. It execs bash (as the user, still with
 * that fixed environment, so no BASH_ENV or function imports) running EXEC_WRAPPER, which:
 *   1. reads the child's environment from fd 3: NUL-terminated NAME=VALUE entries, then an empty
 *      entry as end marker (a missing marker, e.g. a pipe closed early, fails with 126);
 *   2. closes every descriptor above 2 that /proc/self/fd lists: Node marks its own descriptors
 *      close-on-exec, but one the server inherited without it (from a shell, a supervisor) would
 *      otherwise stay open in the user's process; /proc not mounted fails with 126;
 *   3. exports the environment and execs env(1) -u SHLVL (bash's exec exports SHLVL) with the
 *      command, so the command gets exactly the environment it was given.
 * The environment travels through a pipe, not argv: argv is readable by every local user.
 */
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { fail } from '../errors.js';

/** The only environment setpriv (root) sees. */
export const ROOT_STAGE_ENVIRONMENT: Readonly<Record<string, string>> = Object.freeze({
  PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
});

/** Run by `bash -c` as the user: $1 is env(1)'s path, then the command and its arguments. */
export const EXEC_WRAPPER = [
  '[ -d /proc/self/fd ] || exit 126',
  'entries=()',
  'while :; do',
  "  IFS= read -r -d '' -u 3 entry || exit 126",
  '  [ -n "$entry" ] || break',
  '  entries+=("$entry")',
  'done',
  'for fd in /proc/self/fd/*; do',
  '  fd=${fd##*/}',
  '  case $fd in 0|1|2) ;; *[!0-9]*|"") exit 126 ;; *) eval "exec $fd>&-" ;; esac',
  'done',
  'unset SHLVL PWD OLDPWD',
  '[ ${#entries[@]} -eq 0 ] || export -- "${entries[@]}" || exit 126',
  'exec "$1" -u SHLVL -- "${@:2}"',
].join('\n');

/**
 * Variables that steer the dynamic loader or glibc into reading files or changing behaviour: the
 * list glibc removes for set-uid programs (sysdeps/generic/unsecvars.h), plus every LD_* and
 * MALLOC_* name. A caller passing one gets ERR_HTTPAUTH_INVALID_OPTIONS rather than a silent drop.
 */
const UNSECURE_VARIABLES: ReadonlySet<string> = new Set([
  'GCONV_PATH',
  'GETCONF_DIR',
  'GLIBC_TUNABLES',
  'HOSTALIASES',
  'LOCALDOMAIN',
  'LOCPATH',
  'NIS_PATH',
  'NLSPATH',
  'RESOLV_HOST_CONF',
  'RES_OPTIONS',
  'TMPDIR',
  'TZDIR',
]);

export function isUnsecureVariable(name: string): boolean {
  return UNSECURE_VARIABLES.has(name) || name.startsWith('LD_') || name.startsWith('MALLOC_');
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The caller's extra variables, checked: portable names, no NUL, nothing loader-related. */
export function checkedExtraEnvironment(
  extra: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const checked: Record<string, string> = {};
  if (extra === undefined) return checked;
  if (typeof extra !== 'object' || extra === null) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  for (const [name, value] of Object.entries(extra)) {
    if (
      !VARIABLE_NAME.test(name) ||
      isUnsecureVariable(name) ||
      typeof value !== 'string' ||
      value.includes('\0')
    ) {
      fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    }
    checked[name] = value;
  }
  return checked;
}

function encodeEnvironment(environment: Readonly<Record<string, string>>): Buffer {
  const entries = Object.entries(environment).map(([name, value]) => {
    if (!VARIABLE_NAME.test(name) || value.includes('\0')) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    return `${name}=${value}\0`;
  });
  return Buffer.from(entries.join('') + '\0', 'utf8');
}

/**
 * The child's stdio: at most the three standard streams (anything more would hand the user's
 * process a descriptor of ours; 'ipc' a channel into this process), then the environment pipe.
 */
function stdioWithEnvironmentPipe(stdio: StdioOptions | undefined): StdioOptions {
  const standard =
    stdio === undefined ? [] : typeof stdio === 'string' ? [stdio, stdio, stdio] : stdio;
  if (!Array.isArray(standard) || standard.length > 3 || standard.includes('ipc')) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const padded = [...standard];
  while (padded.length < 3) padded.push('pipe');
  return [...padded, 'pipe'];
}

/** Spawn through `start` with the environment pipe on fd 3, and send the environment into it. */
export function withEnvironmentPipe(
  environment: Readonly<Record<string, string>>,
  stdio: StdioOptions | undefined,
  start: (stdio: StdioOptions) => ChildProcess,
): ChildProcess {
  const payload = encodeEnvironment(environment);
  const child = start(stdioWithEnvironmentPipe(stdio));
  const pipe = child.stdio[3] as NodeJS.WritableStream | null | undefined;
  if (pipe === null || pipe === undefined) return child;
  // A child that dies before reading (setpriv refused) closes the pipe: its exit status tells.
  pipe.on('error', () => {});
  pipe.end(payload);
  return child;
}

export interface CollectedOutput {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Wait for `child` like execFile: resolve with its output on exit status 0; otherwise reject with
 * an Error carrying code (exit status, or a spawn error code), signal, killed, stdout and stderr.
 * The child is killed after `timeoutMs`, or when stdout or stderr exceeds `maxBuffer`.
 */
export function collectOutput(
  child: ChildProcess,
  timeoutMs: number,
  maxBuffer: number,
): Promise<CollectedOutput> {
  return new Promise((resolve, reject) => {
    const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
    const sizes = { stdout: 0, stderr: 0 };
    let killed = false;
    let failure: Error | undefined;
    const stop = (reason: Error | undefined): void => {
      failure ??= reason;
      killed = true;
      child.kill('SIGTERM');
    };
    const timer = setTimeout(() => stop(undefined), timeoutMs);
    for (const name of ['stdout', 'stderr'] as const) {
      child[name]?.on('data', (chunk: Buffer) => {
        sizes[name] += chunk.length;
        if (sizes[name] > maxBuffer) stop(new RangeError(`${name} maxBuffer length exceeded`));
        else chunks[name].push(chunk);
      });
    }
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(chunks.stdout).toString('utf8');
      const stderr = Buffer.concat(chunks.stderr).toString('utf8');
      if (code === 0 && failure === undefined) return resolve({ stdout, stderr });
      const error = failure ?? new Error(`Command failed with ${signal ?? `exit status ${code}`}`);
      reject(Object.assign(error, { code, signal, killed, stdout, stderr }));
    });
  });
}
