/**
 * Small clients for test/netlogon-e2e.test.ts: curl keeping the final response's headers, a
 * shell runner for the documented commands, and a loopback listener.
 */
import { execFile } from 'node:child_process';

export function curlHeaders(
  url: string,
  user: string,
  password: string,
): Promise<{ status: number; headers: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      '/usr/bin/curl',
      ['-sS', '--ntlm', '-u', `${user}:${password}`, '-D', '-', '-o', '/dev/null', url],
      { timeout: 60_000 },
      (error, stdout) => {
        if (error !== null) return reject(error);
        const blocks = String(stdout)
          .trim()
          .split(/\r?\n\r?\n/);
        const last = blocks[blocks.length - 1] as string;
        resolve({
          status: Number(/^HTTP\/\S+ (\d+)/.exec(last)?.[1]),
          headers: last.toLowerCase(),
        });
      },
    );
  });
}

export function sh(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-ec', script], { timeout: 120_000 }, (error, _stdout, stderr) =>
      error === null ? resolve() : reject(new Error(`${script}: ${String(stderr)}`)),
    );
  });
}
