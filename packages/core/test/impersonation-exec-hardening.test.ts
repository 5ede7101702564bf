// What reaches the root stage (setpriv) and the user's process: no caller environment as root,
// no loader variables at all, no inherited descriptors above 2; and a credential-cache directory
// that another local user cannot squat. Runs as root (it switches to nobody, uid 65534).
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isHttpAuthError } from '../src/errors.js';
import { CcacheDirectory, defaultCcacheDirectory } from '../src/impersonation/ccache-store.js';
import type { PosixIdentity } from '../src/impersonation/posix.js';
import { DEFAULT_RUN_AS, execFileAs, spawnAs } from '../src/impersonation/run-as.js';

const NOBODY: PosixIdentity = {
  user: 'nobody',
  uid: 65534,
  gid: 65534,
  groups: [65534],
  groupNames: ['nogroup'],
  home: '/nonexistent',
  shell: '/usr/sbin/nologin',
};

const dir = mkdtempSync(join(tmpdir(), 'httpauth-exec-hardening-'));
before(() => {
  assert.equal(process.getuid?.(), 0, 'these tests switch users: run them as root (CI does)');
  chmodSync(dir, 0o755);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const invalidOptions = (error: unknown) =>
  isHttpAuthError(error) && error.code === 'ERR_HTTPAUTH_INVALID_OPTIONS';

describe('the environment of impersonated children', () => {
  it('never reaches setpriv, which runs as root: it gets a fixed PATH only', async () => {
    // A setpriv stand-in that records the environment it starts with, then runs the real one.
    const dump = join(dir, 'root-stage-env');
    const recorder = join(dir, 'setpriv-recorder');
    writeFileSync(recorder, `#!/bin/sh\n/usr/bin/env > '${dump}'\nexec /usr/bin/setpriv "$@"\n`);
    chmodSync(recorder, 0o755);
    const settings = { ...DEFAULT_RUN_AS, setprivPath: recorder };
    const { stdout } = await execFileAs(NOBODY, settings, '/tmp/cc', 'env', [], {
      env: { APP_SETTING: 'for the child only' },
    });
    const rootStage = readFileSync(dump, 'utf8').split('\n').filter(Boolean);
    // sh itself adds PWD; nothing of the caller's or of the user's is there.
    assert.deepEqual(
      rootStage.filter((line) => !line.startsWith('PWD=')),
      ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
    );
    // The child gets exactly its environment, set after the switch.
    const child = stdout.split('\n').filter(Boolean).sort();
    assert.deepEqual(child, [
      'APP_SETTING=for the child only',
      'HOME=/nonexistent',
      'KRB5CCNAME=FILE:/tmp/cc',
      'LANG=C.UTF-8',
      'LOGNAME=nobody',
      `PATH=${DEFAULT_RUN_AS.path}`,
      'SHELL=/usr/sbin/nologin',
      'USER=nobody',
    ]);
  });

  it('refuses loader and glibc variables (the unsecure-envvars list, LD_*, MALLOC_*)', async () => {
    for (const name of [
      'LD_PRELOAD',
      'LD_LIBRARY_PATH',
      'LD_AUDIT',
      'GCONV_PATH',
      'LOCPATH',
      'NLSPATH',
      'HOSTALIASES',
      'RES_OPTIONS',
      'MALLOC_CHECK_',
      'GLIBC_TUNABLES',
      'TMPDIR',
    ]) {
      const env = { [name]: join(dir, 'evil.so') };
      await assert.rejects(
        async () => execFileAs(NOBODY, DEFAULT_RUN_AS, undefined, 'true', [], { env }),
        invalidOptions,
        name,
      );
      assert.throws(
        () => spawnAs(NOBODY, DEFAULT_RUN_AS, undefined, 'true', [], { env }),
        invalidOptions,
      );
    }
    for (const env of [{ 'A=B': 'x' }, { '': 'x' }, { A: 'x\0y' }] as Record<string, string>[]) {
      assert.throws(
        () => spawnAs(NOBODY, DEFAULT_RUN_AS, undefined, 'true', [], { env }),
        invalidOptions,
      );
    }
  });

  it('refuses stdio beyond the three standard streams, and ipc', () => {
    for (const stdio of [
      ['pipe', 'pipe', 'pipe', 'pipe'],
      ['pipe', 'pipe', 'pipe', 'ipc'],
      ['ipc'],
    ] as const) {
      assert.throws(
        () => spawnAs(NOBODY, DEFAULT_RUN_AS, undefined, 'true', [], { stdio: [...stdio] }),
        invalidOptions,
      );
    }
  });
});

describe('descriptors inherited by the server', () => {
  it('do not reach the impersonated child', () => {
    // The server process inherits fd 100 without close-on-exec (as from a shell or a supervisor),
    // open on a file only root may read. The child, running as nobody, must not have it: through
    // it, nobody could read the file. (Node itself takes over low descriptors such as 7, so the
    // inherited one is numbered high, as a supervisor's would typically be.)
    const secret = join(dir, 'root-only');
    writeFileSync(secret, 'root secret\n', { mode: 0o600 });
    const script = join(dir, 'inherit.mts');
    const runAs = new URL('../src/impersonation/run-as.ts', import.meta.url).pathname;
    writeFileSync(
      script,
      `import { DEFAULT_RUN_AS, execFileAs, spawnAs } from ${JSON.stringify(runAs)};
const nobody = ${JSON.stringify(NOBODY)};
// ls lists the shell's descriptors (its own directory handle is ls's, not the shell's).
const list = "ls -1 /proc/$$/fd; (cat <&100) 2>/dev/null || echo unreadable";
const exec = await execFileAs(nobody, DEFAULT_RUN_AS, undefined, '/bin/bash', ['-c', list]);
const child = spawnAs(nobody, DEFAULT_RUN_AS, undefined, '/bin/bash', ['-c', list], { stdio: ['ignore', 'pipe', 'inherit'] });
let spawned = '';
child.stdout.on('data', (chunk) => (spawned += chunk));
await new Promise((resolve) => child.on('close', resolve));
console.log(JSON.stringify({ exec: exec.stdout, spawned }));
`,
    );
    const run = spawnSync(
      '/bin/bash',
      [
        '-c',
        'exec 100<"$1"; exec "$2" --import tsx "$3"',
        'inherit',
        secret,
        process.execPath,
        script,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr);
    const { exec, spawned } = JSON.parse(run.stdout) as { exec: string; spawned: string };
    for (const output of [exec, spawned]) {
      const lines = output.trim().split('\n');
      assert.deepEqual(lines.slice(0, -1), ['0', '1', '2'], output);
      assert.equal(lines.at(-1), 'unreadable');
    }
  });
});

describe('the default credential-cache directory', () => {
  it('is not a fixed name in the shared temp dir, so squatting it does not stop start-up', () => {
    const privateTmp = join(dir, 'tmp');
    mkdirSync(privateTmp, { mode: 0o1777 });
    const savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = privateTmp;
    // Another local user (nobody) created the old default name first.
    const squatted = join(privateTmp, `httpauth-ccaches-${process.getuid?.()}`);
    mkdirSync(squatted, { mode: 0o700 });
    chownSync(squatted, 65534, 65534);
    let made: CcacheDirectory | undefined;
    try {
      made = new CcacheDirectory();
      assert.notEqual(made.path, squatted);
      // As root, /run is writable: the directory lives there.
      assert.equal(made.path, `/run/httpauth-ccaches-${process.getuid?.()}`);
      const stat = statSync(made.path);
      assert.equal(stat.uid, process.getuid?.());
      assert.equal(stat.mode & 0o777, 0o711);
    } finally {
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
      if (made !== undefined) {
        try {
          rmdirSync(made.path);
        } catch {
          // Another process uses it too.
        }
      }
    }
  });

  it('falls back to a fresh mkdtemp directory when /run is not writable', () => {
    const first = defaultCcacheDirectory(join(dir, 'no-such-run'));
    const second = defaultCcacheDirectory(join(dir, 'no-such-run'));
    assert.equal(first.temporary, true);
    assert.notEqual(first.path, second.path);
    assert.ok(first.path.startsWith(join(tmpdir(), 'httpauth-ccaches-')));
    assert.equal(statSync(first.path).mode & 0o777, 0o700);
    rmdirSync(first.path);
    rmdirSync(second.path);
  });

  it('refuses a pre-existing directory another user owns', () => {
    const foreign = join(dir, 'foreign');
    mkdirSync(foreign, { mode: 0o711 });
    chownSync(foreign, 65534, 65534);
    assert.throws(() => new CcacheDirectory(foreign), invalidOptions);
    assert.equal(existsSync(foreign), true);
  });
});
