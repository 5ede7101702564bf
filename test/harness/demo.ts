/**
 * Test harness: the demo (examples/intranet-api) run from its source in a child process, as an
 * operator starts it: configured only by environment variables, on a free port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

/** Found from this file, so the tests run from any working directory. */
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEMO_SERVER = fileURLToPath(
  new URL('../../examples/intranet-api/src/server.ts', import.meta.url),
);

export interface Demo {
  /** `http://127.0.0.1:PORT`, or `https://…` with HTTPAUTH_TLS_CERT/KEY */
  readonly base: string;
  readonly port: number;
  readonly child: ChildProcess;
}

function spawnDemo(env: NodeJS.ProcessEnv, stdout: 'pipe' | 'ignore'): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', DEMO_SERVER], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', stdout, 'pipe'],
  });
}

/**
 * Start the demo with `env` over this process's environment, on a free port; resolves once it
 * listens, rejects with its stderr when it exits first.
 */
export function startDemo(env: NodeJS.ProcessEnv = {}): Promise<Demo> {
  const child = spawnDemo({ ...env, PORT: '0' }, 'pipe');
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      const match = /listening on (https?:\/\/127\.0\.0\.1:(\d+))/.exec(line);
      if (match !== null) resolve({ base: match[1] as string, port: Number(match[2]), child });
    });
    child.once('exit', (code) => reject(new Error(`demo exited with ${code}: ${stderr}`)));
  });
}

/** Stop a demo started by startDemo (nothing to do when it never started or already exited). */
export function stopDemo(demo: Demo | undefined): Promise<void> {
  if (demo === undefined || demo.child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    demo.child.once('exit', () => resolve());
    demo.child.kill('SIGTERM');
  });
}

/** Run the demo with a configuration it must refuse: its exit code and stderr. */
export async function demoRefusal(
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawnDemo(env, 'ignore');
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stderr };
}
