/**
 * The benchmark suite's quick mode (`node bench/run.mjs --quick`), so it never rots: it must run
 * every comparison to the end and write its table. It fails only on a crash or a wrong answer
 * (a refused token, an unexpected status), never because this machine is slow: no figure is
 * asserted here.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('benchmarks, quick mode', () => {
  it('runs every comparison and writes the results table', { timeout: 900_000 }, async () => {
    const child = spawn(process.execPath, ['bench/run.mjs', '--quick'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, output.slice(-4000));
    const table = readFileSync(new URL('../bench/results/quick.md', import.meta.url), 'utf8');
    for (const section of [
      'Kerberos AP-REQ acceptance',
      'HTTP overhead',
      'Apache',
      'Basic over Kerberos: httpauth vs Apache',
      'Digest: httpauth',
      'Memory per pending NTLM handshake',
      'Memory over 20,000 authentications per mechanism',
      'authenticated keep-alive connections',
      'Gateway (issue #7)',
      'NTLM pass-through to a Samba AD DC',
      'Redis store',
      'Client certificates on a kept-alive connection',
      'The node:http certificate row taken apart',
      'The engine in place, Express',
    ]) {
      assert.ok(table.includes(section), `the quick run has no "${section}" section`);
    }
    assert.ok(!table.includes('**Failed:**'), table.slice(0, 4000));
  });
});
