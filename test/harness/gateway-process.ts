/**
 * Test harness: httpauth-gateway as its own OS process (the CLI through tsx, as operators run
 * it), on a random loopback port it reports in its "listening" log line.
 *
 *   const gw = await startGatewayProcess(configFile, { HTTPAUTH_GATEWAY_REDIS_URL: url });
 *   gw.port; gw.logs();            // every JSON log line so far
 *   gw.signal('SIGHUP');           // e.g. a reload
 *   await gw.stop();               // SIGTERM, then wait for the exit
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = 'packages/gateway/src/cli-entry.ts';
/** A loaded 2-core machine can take a while to start node with tsx. */
const START_TIMEOUT_MS = 60_000;

export interface GatewayProcess {
  readonly port: number;
  readonly child: ChildProcess;
  /** Parsed JSON log lines written so far. */
  logs(): Record<string, unknown>[];
  /** Resolves with the first log line whose msg matches, among lines from index `from` on. */
  waitForLog(msg: RegExp, timeoutMs?: number, from?: number): Promise<Record<string, unknown>>;
  signal(name: NodeJS.Signals): void;
  stop(): Promise<void>;
}

export async function startGatewayProcess(
  configFile: string,
  env: NodeJS.ProcessEnv = {},
): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, '--config', configFile], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  let pending = '';
  const waiters = new Set<() => void>();
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    let newline: number;
    while ((newline = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ msg: 'unparsed', line });
      }
      for (const wake of waiters) wake();
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const waitForLog = (msg: RegExp, timeoutMs = START_TIMEOUT_MS, from = 0) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = (): boolean => {
        const found = lines.slice(from).find((line) => msg.test(String(line['msg'])));
        if (found === undefined) return false;
        finish();
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no log line ${msg} (stderr: ${stderr.slice(0, 2000)})`));
      }, timeoutMs);
      const onExit = () => {
        if (check()) return;
        finish();
        reject(new Error(`gateway exited (${child.exitCode}): ${stderr.slice(0, 2000)}`));
      };
      const finish = () => {
        clearTimeout(timer);
        waiters.delete(wake);
        child.off('exit', onExit);
      };
      const wake = () => void check();
      if (check()) return;
      waiters.add(wake);
      child.once('exit', onExit);
    });

  const listening = await waitForLog(/^listening$/);
  return {
    port: Number(listening['port']),
    child,
    logs: () => [...lines],
    waitForLog,
    signal: (name) => child.kill(name),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** An upstream that answers `{"user": <X-Remote-User it received, or null>}`, on loopback. */
export async function startUserEcho(): Promise<{ port: number; close(): void }> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ user: req.headers['x-remote-user'] ?? null }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}
