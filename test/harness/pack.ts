/**
 * Test harness: the packages as a user gets them. `npm pack` of the public workspaces (which runs
 * each package's `prepack` build), the tarballs' file lists, an `npm install` of the tarballs into
 * a throwaway app outside the workspace, and the app's servers.
 *
 *   const tarballs = await packWorkspaces(repoRoot, PUBLIC_PACKAGES, dir);   // name -> tarball
 *   await npm(['install', ...], appDir);                                      // { stdout, stderr }
 *   const app = await startServer(join(appDir, 'koa.mjs'));                   // app.base, app.stop()
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';

export const PUBLIC_PACKAGES = [
  'core',
  'express',
  'fastify',
  'koa',
  'redis',
  'ldap',
  'gateway',
  'passport',
] as const;
export type PublicPackage = (typeof PUBLIC_PACKAGES)[number];

/** A cold npm cache on a loaded 2-core machine: installs can take a while. */
const NPM_TIMEOUT_MS = 180_000;
const START_TIMEOUT_MS = 30_000;

/**
 * The environment of a user's shell: without the npm_* variables an enclosing `npm test` sets
 * (npm_config_workspace, npm_package_*, ...), which would otherwise leak workspace settings into
 * the throwaway app's npm.
 */
export function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== 'INIT_CWD') env[key] = value;
  }
  return env;
}

export function run(
  file: string,
  args: readonly string[],
  cwd: string,
  timeoutMs = NPM_TIMEOUT_MS,
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { cwd, env: userEnv(), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error !== null) {
          reject(
            new Error(`${file} ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`),
          );
          return;
        }
        resolve({ stdout, stderr });
      },
    );
  });
}

export function npm(args: readonly string[], cwd: string) {
  return run('npm', args, cwd);
}

/**
 * `npm pack` of the given workspaces into `destination`, in one npm run. Lifecycle scripts are
 * not suppressed: `prepack` must build whatever is missing, as it would from a clean clone.
 */
export async function packWorkspaces(
  repoRoot: string,
  packages: readonly PublicPackage[],
  destination: string,
): Promise<Map<PublicPackage, string>> {
  const workspaces = packages.flatMap((name) => ['--workspace', `@httpauth/${name}`]);
  await npm(['pack', ...workspaces, '--pack-destination', destination], repoRoot);
  const files = await readdir(destination);
  const tarballs = new Map<PublicPackage, string>();
  for (const name of packages) {
    const file = files.find((f) =>
      new RegExp(`^httpauth-${name}-\\d+\\.\\d+\\.\\d+.*\\.tgz$`).test(f),
    );
    if (file === undefined) throw new Error(`npm pack wrote no tarball for @httpauth/${name}`);
    tarballs.set(name, join(destination, file));
  }
  return tarballs;
}

/**
 * Unpack a tarball into `directory` (npm puts everything under package/) and list its files,
 * relative to the package root.
 */
export async function unpack(tarball: string, directory: string): Promise<string[]> {
  await mkdir(directory, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', directory, '--strip-components=1'], directory);
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(directory, join(entry.parentPath, entry.name)))
    .sort();
}

export interface RunningServer {
  base: string;
  /** Everything the server wrote to stderr so far (warnings from Node, for instance). */
  stderr: () => string;
  stop: () => Promise<void>;
}

/** Start `node file` in its directory; it prints `{"port":N}` on its first stdout line. */
export function startServer(file: string, cwd: string): Promise<RunningServer> {
  const child = spawn(process.execPath, [file], { cwd, env: userEnv(), stdio: 'pipe' });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${file} did not start within ${START_TIMEOUT_MS} ms:\n${stderr}`));
    }, START_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited with ${code} before listening:\n${stderr}`));
    });
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      const { port } = JSON.parse(line) as { port: number };
      resolve({ base: `http://127.0.0.1:${port}`, stderr: () => stderr, stop });
    });
  });
}
