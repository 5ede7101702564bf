/**
 * Acting as a user: child processes that run with the user's uid, primary gid and supplementary
 * groups, so the kernel makes every access decision (the Unix counterpart of
 * ImpersonateSecurityContext). Nothing runs as the user inside the server process: set*id(2) in
 * Node changes the whole process (every thread, every concurrent request), so per-request identity
 * can only live in a child.
 *
 * Why `setpriv` (util-linux) rather than Node's `uid`/`gid` spawn options or `runuser`:
 *  - Node's spawn sets uid and gid but not the supplementary groups (libuv calls setgroups(0) or
 *    keeps the server's), so group-based access would be wrong;
 *  - `runuser` goes through PAM: it opens a session (pam_systemd, lastlog, limits) per call, is
 *    slower, and its group list comes from initgroups at that moment, not from what we reported;
 *  - `setpriv` is a thin exec wrapper: setgroups + setresgid + setresuid, then execvp. We hand it
 *    exactly the ids we looked up and show (`toJSON`), clear inheritable capabilities and set
 *    no_new_privs so the child cannot regain privileges through set-uid or file-capability binaries.
 *
 * setpriv starts as root, so what it inherits must not steer root: its environment is a fixed
 * PATH, nothing of the caller's (LD_PRELOAD there would run code as root; GCONV_PATH, LOCPATH and
 * the rest of glibc's unsecure-envvars list load files as root). After the switch a small exec
 * wrapper (exec-wrapper.ts), running as the user, reads the child's environment from a pipe on
 * fd 3, closes every descriptor above 2 (a descriptor the server inherited without close-on-exec
 * would otherwise reach the user's process), and execs the command.
 */
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { spawn as nodeSpawn } from 'node:child_process';
import { constants } from 'node:fs';
import { isAbsolute } from 'node:path';
import { fail, HttpAuthError } from '../errors.js';
import {
  checkedExtraEnvironment,
  collectOutput,
  EXEC_WRAPPER,
  ROOT_STAGE_ENVIRONMENT,
  withEnvironmentPipe,
} from './exec-wrapper.js';
import type { PosixIdentity } from './posix.js';

/** Spawn options a caller may set; identity, shell and environment inheritance are ours. */
export type ImpersonatedSpawnOptions = Omit<
  SpawnOptions,
  'uid' | 'gid' | 'shell' | 'env' | 'argv0' | 'detached' | 'serialization'
> & {
  /** Extra environment variables (the child never inherits the server's environment). */
  readonly env?: Readonly<Record<string, string>>;
};

/**
 * Options of `ImpersonationContext.execFile`: working directory, extra environment (the server's is
 * never inherited), timeout, output cap and standard input.
 */
export interface ImpersonatedExecOptions {
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Milliseconds before the child is killed (default 30 s). */
  readonly timeout?: number;
  /** Largest stdout or stderr kept (default 1 MiB). */
  readonly maxBuffer?: number;
  readonly input?: string | Buffer;
}

/** What `ImpersonationContext.execFile` resolves to: the child's standard output and error. */
export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * How impersonated children are started (`policy.runAs`): the `setpriv`, `test` and `bash` paths,
 * the children's PATH, and whether no_new_privs is set.
 */
export interface RunAsSettings {
  /** Path of setpriv (default /usr/bin/setpriv). */
  readonly setprivPath: string;
  /** Path of test(1) for access checks (default /usr/bin/test). */
  readonly testPath: string;
  /** PATH for children (default /usr/local/bin:/usr/bin:/bin). */
  readonly path: string;
  /** Set no_new_privs on children (default true). */
  readonly noNewPrivileges: boolean;
  /** Path of bash, which runs the exec wrapper as the user (default /bin/bash). */
  readonly bashPath: string;
  /** Path of env(1), the wrapper's last exec (default /usr/bin/env). */
  readonly envPath: string;
}

export const DEFAULT_RUN_AS: RunAsSettings = {
  setprivPath: '/usr/bin/setpriv',
  testPath: '/usr/bin/test',
  path: '/usr/local/bin:/usr/bin:/bin',
  noNewPrivileges: true,
  bashPath: '/bin/bash',
  envPath: '/usr/bin/env',
};

/**
 * The environment a child gets: identity variables, PATH, the caller's extras, KRB5CCNAME. Extras
 * that steer the loader or glibc (LD_*, GCONV_PATH, …) are refused with
 * ERR_HTTPAUTH_INVALID_OPTIONS. It is handed over after the switch, never to setpriv.
 */
export function childEnvironment(
  identity: PosixIdentity,
  settings: RunAsSettings,
  extra: Readonly<Record<string, string>> | undefined,
  ccachePath: string | undefined,
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: settings.path,
    LANG: 'C.UTF-8',
    ...checkedExtraEnvironment(extra),
  };
  // Identity variables always describe the user the child runs as, whatever the caller passed.
  env.HOME = identity.home;
  env.USER = identity.user;
  env.LOGNAME = identity.user;
  env.SHELL = identity.shell;
  if (ccachePath !== undefined) env.KRB5CCNAME = `FILE:${ccachePath}`;
  else delete env.KRB5CCNAME;
  return env;
}

/** setpriv's arguments that switch to `identity`, then the exec wrapper, then the command. */
export function setprivArguments(
  identity: PosixIdentity,
  settings: RunAsSettings,
  command: string,
  args: readonly string[],
): string[] {
  if (identity.uid === 0 || identity.gid === 0 || identity.groups.includes(0)) {
    // Checked by policy already; this is the last line of defence.
    fail('ERR_HTTPAUTH_IMPERSONATION_DENIED');
  }
  // env(1) would take a command containing '=' for an assignment.
  if (
    typeof command !== 'string' ||
    command === '' ||
    command.includes('\0') ||
    command.includes('=')
  ) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  if (!args.every((arg) => typeof arg === 'string' && !arg.includes('\0'))) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const supplementary = identity.groups.filter((gid) => gid !== identity.gid);
  return [
    '--reuid',
    String(identity.uid),
    '--regid',
    String(identity.gid),
    ...(supplementary.length === 0
      ? ['--clear-groups']
      : ['--groups', [identity.gid, ...supplementary].join(',')]),
    '--inh-caps=-all',
    ...(settings.noNewPrivileges ? ['--no-new-privs'] : []),
    '--',
    settings.bashPath,
    '-c',
    EXEC_WRAPPER,
    'httpauth-run-as',
    settings.envPath,
    command,
    ...args,
  ];
}

export function spawnAs(
  identity: PosixIdentity,
  settings: RunAsSettings,
  ccachePath: string | undefined,
  command: string,
  args: readonly string[],
  options: ImpersonatedSpawnOptions = {},
): ChildProcess {
  // The type already excludes these; a plain-JavaScript caller could still pass them, and the
  // identity must come from setpriv alone.
  const {
    env,
    stdio,
    uid: _uid,
    gid: _gid,
    argv0: _argv0,
    ...rest
  } = options as ImpersonatedSpawnOptions & { uid?: unknown; gid?: unknown; argv0?: unknown };
  const argv = setprivArguments(identity, settings, command, args);
  const environment = childEnvironment(identity, settings, env, ccachePath);
  return withEnvironmentPipe(environment, stdio, (stdioWithPipe) =>
    nodeSpawn(settings.setprivPath, argv, {
      ...rest,
      cwd: rest.cwd ?? '/',
      env: ROOT_STAGE_ENVIRONMENT,
      stdio: stdioWithPipe,
      shell: false,
      detached: false,
    }),
  );
}

/** Run to completion; rejects like Node's execFile (an Error with code, signal, stdout, stderr). */
export function execFileAs(
  identity: PosixIdentity,
  settings: RunAsSettings,
  ccachePath: string | undefined,
  command: string,
  args: readonly string[],
  options: ImpersonatedExecOptions = {},
): Promise<ExecResult> {
  const child = spawnAs(identity, settings, ccachePath, command, args, {
    cwd: options.cwd ?? '/',
    env: options.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (options.input !== undefined) child.stdin?.end(options.input);
  else child.stdin?.end();
  return collectOutput(child, options.timeout ?? 30_000, options.maxBuffer ?? 1024 * 1024);
}

/**
 * Could `identity` access `path` with `mode` (fs.constants R_OK | W_OK | X_OK, or F_OK)? Answered
 * by running test(1) as the user, so the kernel applies mode bits, ACLs, read-only mounts, LSMs
 * and every directory on the way exactly as it would for that user.
 */
export function accessAs(
  identity: PosixIdentity,
  settings: RunAsSettings,
  path: string,
  mode: number = constants.F_OK,
  timeoutMs = 10_000,
): Promise<boolean> {
  if (typeof path !== 'string' || !isAbsolute(path) || path.includes('\0')) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  if (!Number.isInteger(mode) || mode < 0 || mode > 7) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  // An absolute path starts with '/', so test(1) can never read it as an operator.
  const checks: string[][] = [];
  if ((mode & constants.R_OK) !== 0) checks.push(['-r', path]);
  if ((mode & constants.W_OK) !== 0) checks.push(['-w', path]);
  if ((mode & constants.X_OK) !== 0) checks.push(['-x', path]);
  if (checks.length === 0) checks.push(['-e', path]);
  const expression = checks.flatMap((check, i) => (i === 0 ? check : ['-a', ...check]));
  const child = spawnAs(identity, settings, undefined, settings.testPath, expression, {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collectOutput(child, timeoutMs, 64 * 1024).then(
    () => true,
    (error: unknown) => {
      // test(1): 1 = false; anything else (2 = test error, 126/127 = setpriv or the wrapper could
      // not switch or exec, a signal = timeout) is a failure, never a "no".
      if ((error as { code?: unknown }).code === 1) return false;
      throw new HttpAuthError('ERR_HTTPAUTH_IMPERSONATION_FAILED', { cause: error });
    },
  );
}
