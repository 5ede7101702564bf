/**
 * docs/certificates.md's internal-CA walk-through runs as written (issue 17: "an internal-CA setup
 * that works word for word"). The blocks marked `<!-- runnable: certificates-… -->` are run in a
 * scratch directory: the openssl script with bash, `server.mjs` beside a link to the repository's
 * node_modules (so `@httpauth/core` resolves as after `npm install`), then the session block line
 * by line: each curl's output must be the `# …` line under it (and its status the `(403)` there,
 * else 200), the openssl and sleep lines run as they are. One substitution: the port 8443 becomes
 * a free one, so the test never collides with anything listening on the machine.
 */
import * as assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const GUIDE = join(ROOT, 'docs', 'certificates.md');

async function blocks(): Promise<Map<string, string>> {
  const text = await readFile(GUIDE, 'utf8');
  const found = new Map<string, string>();
  for (const match of text.matchAll(/<!-- runnable: ([\w-]+) -->\n```\w+\n([\s\S]*?)\n```/g)) {
    found.set(match[1]!, match[2]!);
  }
  return found;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => done(port));
    });
  });
}

/** Resolves once something accepts connections on the port (the server is up). */
async function listening(port: number, child: ChildProcess, output: () => string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    if (child.exitCode !== null) throw new Error(`server.mjs exited: ${output()}`);
    const open = await new Promise<boolean>((done) => {
      const probe = createServer();
      probe.once('error', () => done(true));
      probe.listen(port, '127.0.0.1', () => probe.close(() => done(false)));
    });
    if (open) return;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`server.mjs did not listen: ${output()}`);
}

let dir: string;
let server: ChildProcess | undefined;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'httpauth-certificate-guide-'));
});
after(async () => {
  server?.kill('SIGTERM');
  await rm(dir, { recursive: true, force: true });
});

describe('docs/certificates.md, an internal CA with openssl, step by step', () => {
  it('runs word for word: alice is mapped by her SID, refused without a certificate and once revoked', async () => {
    const found = await blocks();
    const pki = found.get('certificates-pki');
    const serverScript = found.get('certificates-server');
    const session = found.get('certificates-session');
    assert.ok(pki && serverScript && session, 'the three runnable blocks');
    const port = String(await freePort());

    await run('bash', ['-e', '-c', pki], { cwd: dir });
    const cwd = join(dir, 'pki');
    await writeFile(join(cwd, 'server.mjs'), serverScript.replaceAll('8443', port));
    await symlink(join(ROOT, 'node_modules'), join(cwd, 'node_modules'));

    const lines = session.replaceAll('8443', port).split('\n');
    const checked: string[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === '' || line.startsWith('#')) continue;
      if (line === 'node server.mjs &') {
        let output = '';
        server = spawn(process.execPath, ['server.mjs'], {
          cwd,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        server.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
        server.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
        await listening(Number(port), server, () => output);
        continue;
      }
      if (line.startsWith('curl ')) {
        const expected = /^# (.*?)(?:\s+\((\d{3})\))?$/.exec(lines[i + 1]?.trim() ?? '');
        assert.ok(expected, `the line after "${line}" says what it prints`);
        const { stdout } = await run('bash', ['-c', `${line} -s -w '\\n%{http_code}'`], { cwd });
        const [body, status] = [
          stdout.slice(0, stdout.lastIndexOf('\n')),
          stdout.split('\n').at(-1),
        ];
        assert.equal(body.trim(), expected[1], line);
        assert.equal(status, expected[2] ?? '200', line);
        checked.push(status!);
        continue;
      }
      await run('bash', ['-e', '-c', line], { cwd });
    }
    assert.deepEqual(checked, ['200', '403', '403']);
  });
});
