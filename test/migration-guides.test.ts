/**
 * The migration guides in docs/migrating/ run as written. Each code block marked
 * `<!-- runnable: NAME -->` is copied into a scratch app (beside a link to the repository's
 * node_modules, so `@httpauth/*`, express and passport resolve as they would for a user) with one
 * substitution: the `/etc/httpauth/` directory becomes the scratch directory, which holds the
 * keytab, smbpasswd and htdigest files this test makes. The apps are type-checked with tsc in
 * strict mode, started with their own `PORT`, and driven by curl against a real MIT KDC.
 */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ntowfv1 } from '@httpauth/core/wire';
import { curl } from './harness/http-clients.js';
import { startMitKdc, type MitKdc } from './harness/mit-kdc.js';
import { curlNegotiate } from './harness/negotiate-clients.js';
import { curlNtlm } from './harness/ntlm-clients.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const GUIDES = join(ROOT, 'docs', 'migrating');
const ALICE = { name: 'alice', password: 'Alice-guide-1' };
const BOB = { name: 'bob', password: 'Bob-guide-2' };
const CAROL = { name: 'carol', password: 'Carol-guide-3' };

/** Every `<!-- runnable: NAME -->` block of every guide, by name. */
async function runnableBlocks(): Promise<Map<string, string>> {
  const blocks = new Map<string, string>();
  for (const file of (await readdir(GUIDES)).filter((name) => name.endsWith('.md'))) {
    const text = await readFile(join(GUIDES, file), 'utf8');
    for (const match of text.matchAll(/<!-- runnable: ([\w-]+) -->\n```ts\n([\s\S]*?)\n```/g)) {
      assert.ok(!blocks.has(match[1]!), `two blocks named ${match[1]}`);
      blocks.set(match[1]!, match[2]!);
    }
  }
  return blocks;
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

function exited(child: ChildProcess): Promise<{ code: number | null; output: string }> {
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((done) => child.once('exit', (code) => done({ code, output })));
}

/** Resolves once the app answers any HTTP request; fails when it exits or 20 s pass. */
async function answering(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the app exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((done) => {
      const req = request({ host: '127.0.0.1', port, path: '/' }, (res) => {
        res.resume();
        done(true);
      });
      req.once('error', () => done(false));
      req.end();
    });
    if (ok) return;
    await new Promise((wait) => setTimeout(wait, 200));
  }
  throw new Error(`the app did not answer on port ${port}`);
}

describe('the migration guides run as written', () => {
  let kdc: MitKdc;
  let scratch = '';
  let aliceEnv: NodeJS.ProcessEnv;
  const apps = new Map<
    string,
    { port: number; child: ChildProcess; exit: ReturnType<typeof exited> }
  >();

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'httpauth-guides-'));
    await symlink(join(ROOT, 'node_modules'), join(scratch, 'node_modules'), 'dir');
    await writeFile(join(scratch, 'package.json'), '{ "type": "module", "private": true }\n');

    kdc = await startMitKdc({
      principals: [{ name: ALICE.name, password: ALICE.password }, { name: 'HTTP/localhost' }],
    });
    aliceEnv = kdc.kinit(ALICE.name, ALICE.password).env;
    await copyFile(kdc.keytabPath, join(scratch, 'http.keytab'));
    const ntHash = ntowfv1(BOB.password).toString('hex').toUpperCase();
    await writeFile(
      join(scratch, 'smbpasswd'),
      `${BOB.name}:1000:${'X'.repeat(32)}:${ntHash}:[U          ]:LCT-00000000:\n`,
    );
    const ha1 = createHash('md5').update(`${CAROL.name}:intranet:${CAROL.password}`).digest('hex');
    await writeFile(join(scratch, 'users.htdigest'), `${CAROL.name}:intranet:${ha1}\n`);

    const blocks = await runnableBlocks();
    assert.deepEqual([...blocks.keys()].sort(), [
      'express-ntlm',
      'http-auth',
      'node-expose-sspi',
      'passport-negotiate',
    ]);
    const files: string[] = [];
    for (const [name, code] of blocks) {
      const file = join(scratch, `${name}.ts`);
      await writeFile(file, code.replaceAll("'/etc/httpauth/", `'${scratch}/`));
      files.push(file);
    }

    // As written means type-correct too: strict tsc over the four apps, as a user would run it.
    const tsc = spawn(
      process.execPath,
      [
        join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
        '--noEmit',
        '--strict',
        '--skipLibCheck',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--target',
        'es2022',
        '--types',
        'node',
        ...files,
      ],
      { cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const checked = await exited(tsc);
    assert.equal(checked.code, 0, checked.output);

    for (const name of blocks.keys()) {
      const port = await freePort();
      const child = spawn(process.execPath, ['--import', 'tsx', join(scratch, `${name}.ts`)], {
        cwd: scratch,
        env: { ...process.env, PORT: String(port), SESSION_SECRET: 'throwaway-guide-secret' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exit = exited(child);
      apps.set(name, { port, child, exit });
      await answering(port, child);
    }
  });

  after(async () => {
    for (const { child, exit } of apps.values()) {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exit;
    }
    await kdc?.stop();
    if (scratch !== '') await rm(scratch, { recursive: true, force: true });
  });

  const base = (name: string) => `http://localhost:${apps.get(name)!.port}`;

  it('from express-ntlm: curl --ntlm gets the fields express-ntlm set; a wrong password gets 401', async () => {
    const ok = await curlNtlm(
      `${base('express-ntlm')}/whoami`,
      `EXAMPLE\\${BOB.name}`,
      BOB.password,
    );
    assert.equal(ok.status, 200, ok.body);
    const body = JSON.parse(ok.body) as Record<string, unknown>;
    assert.equal(body.DomainName, 'EXAMPLE');
    assert.equal(body.UserName, BOB.name);
    const wrong = await curlNtlm(`${base('express-ntlm')}/whoami`, `EXAMPLE\\${BOB.name}`, 'nope');
    assert.equal(wrong.status, 401);
  });

  it('from http-auth: the htdigest file logs curl --digest on; a wrong password gets 401', async () => {
    const url = `${base('http-auth')}/whoami`;
    const ok = await curl(['--digest', '-u', `${CAROL.name}:${CAROL.password}`, url]);
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual(JSON.parse(ok.body), { user: CAROL.name });
    const wrong = await curl(['--digest', '-u', `${CAROL.name}:wrong`, url]);
    assert.equal(wrong.status, 401);
  });

  it('from passport-negotiate: verify gets the user@REALM string as principal.name', async () => {
    const url = `${base('passport-negotiate')}/login`;
    const anonymous = await curl([url]);
    assert.equal(anonymous.status, 401);
    assert.deepEqual(anonymous.headers.get('www-authenticate'), ['Negotiate']);
    const ok = await curlNegotiate(url, aliceEnv);
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual(JSON.parse(ok.body), { principal: `${ALICE.name}@${kdc.realm}` });
  });

  it('from node-expose-sspi: curl --negotiate gets the method, the name and the groups', async () => {
    const ok = await curlNegotiate(`${base('node-expose-sspi')}/whoami`, aliceEnv);
    assert.equal(ok.status, 200, ok.body);
    const body = JSON.parse(ok.body) as { method: string; name: string; groups: unknown };
    assert.equal(body.method, 'Kerberos');
    assert.equal(body.name, `${ALICE.name}@${kdc.realm}`);
    assert.ok(Array.isArray(body.groups));
  });
});
