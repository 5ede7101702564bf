// Acting as real local users: created with useradd/groupadd under a unique prefix (removed in
// `after`), files with different owners and modes, and every answer compared with what the OS
// says through an independent path (runuser, which sets the groups with initgroups through PAM).
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  constants,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isHttpAuthError } from '../src/errors.js';
import { actingContext } from '../src/impersonation/context.js';
import { createImpersonation } from '../src/impersonation/policy.js';
import { systemUserDatabase } from '../src/impersonation/posix.js';
import type { PosixIdentity } from '../src/impersonation/posix.js';
import {
  DEFAULT_RUN_AS,
  accessAs,
  execFileAs,
  setprivArguments,
  spawnAs,
} from '../src/impersonation/run-as.js';
import type { Principal } from '../src/principal.js';

const prefix = `hr${randomBytes(3).toString('hex')}`;
const alice = `${prefix}a`;
const bob = `${prefix}b`;
const shared = `${prefix}g`;
const dir = mkdtempSync(join(tmpdir(), 'httpauth-run-as-'));
const created: { users: string[]; groups: string[] } = { users: [], groups: [] };

/**
 * Run a system command; useradd/groupadd/userdel fail while another process (a concurrent test
 * file) holds the /etc/passwd lock, so those failures are retried for a while.
 */
function sh(command: string, args: string[]): string {
  for (let attempt = 0; ; attempt++) {
    const result = spawnSync(command, args, { encoding: 'utf8' });
    if (result.status === 0) return result.stdout;
    if (attempt < 200 && /lock/i.test(result.stderr ?? '')) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      continue;
    }
    throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
  }
}

before(() => {
  assert.equal(process.getuid?.(), 0, 'these tests create users: run them as root (CI does)');
  sh('groupadd', [shared]);
  created.groups.push(shared);
  sh('useradd', ['-M', '-U', '-s', '/bin/sh', '-G', shared, alice]);
  created.users.push(alice);
  sh('useradd', ['-M', '-U', '-s', '/bin/sh', bob]);
  created.users.push(bob);
  chmodSync(dir, 0o755);
  // The files: alice's private file, a group-readable file, a world-readable one, a root-only one.
  const files: Array<[string, string, string, number]> = [
    ['alice-private', alice, alice, 0o600],
    ['group-shared', 'root', shared, 0o640],
    ['public', 'root', 'root', 0o644],
    ['root-only', 'root', 'root', 0o600],
    ['bob-writable', bob, bob, 0o644],
  ];
  for (const [name, owner, group, mode] of files) {
    const path = join(dir, name);
    writeFileSync(path, `contents of ${name}\n`);
    chownSync(path, uidOf(owner), gidOf(group));
    chmodSync(path, mode);
  }
  // POSIX ACLs: mode bits alone would say bob cannot read this file, the ACL says he can.
  const aclFile = join(dir, 'acl-bob');
  writeFileSync(aclFile, 'contents of acl-bob\n');
  chmodSync(aclFile, 0o600);
  sh('setfacl', ['-m', `u:${bob}:r`, aclFile]);
  mkdirSync(join(dir, 'closed'), { mode: 0o700 });
  writeFileSync(join(dir, 'closed', 'inside'), 'x');
  chmodSync(join(dir, 'closed', 'inside'), 0o644);
});

function attempt(action: () => unknown): void {
  try {
    action();
  } catch {
    // Cleanup goes on with the next item.
  }
}

after(() => {
  for (const user of created.users) attempt(() => sh('userdel', [user]));
  for (const group of created.groups) attempt(() => sh('groupdel', [group]));
  rmSync(dir, { recursive: true, force: true });
});

function uidOf(user: string): number {
  return Number(sh('id', ['-u', user]).trim());
}
function gidOf(group: string): number {
  return Number(sh('getent', ['group', group]).split(':')[2]);
}

/** What the OS says, asked through runuser (PAM + initgroups), independent of setpriv. */
function osAllows(user: string, flag: '-r' | '-w' | '-x' | '-e', path: string): boolean {
  return spawnSync('runuser', ['-u', user, '--', 'test', flag, path]).status === 0;
}

// As the acceptor builds it for a user of the keytab's realm.
const principal = (user: string): Principal => ({
  name: `${user}@EXAMPLE.TEST`,
  user,
  realm: 'EXAMPLE.TEST',
  localRealm: true,
  mechanism: 'Kerberos',
});

describe('acting as a local user', () => {
  it('runs children with the uid, gid and supplementary groups that id reports', async () => {
    const identity = (await systemUserDatabase().lookup(alice)) as PosixIdentity;
    assert.equal(identity.uid, uidOf(alice));
    assert.ok(identity.groupNames.includes(shared));
    const { stdout } = await execFileAs(identity, DEFAULT_RUN_AS, undefined, 'id', []);
    assert.equal(stdout.trim(), sh('id', [alice]).trim());
    const groups = await execFileAs(identity, DEFAULT_RUN_AS, undefined, 'id', ['-G']);
    assert.deepEqual(
      groups.stdout.trim().split(' ').map(Number).sort(),
      sh('id', ['-G', alice]).trim().split(' ').map(Number).sort(),
    );
  });

  it('gives children a clean environment: no server variables, identity variables set', async () => {
    process.env.HTTPAUTH_SECRET_FOR_TEST = 'do-not-leak';
    try {
      const identity = (await systemUserDatabase().lookup(alice)) as PosixIdentity;
      const { stdout } = await execFileAs(identity, DEFAULT_RUN_AS, '/tmp/cc', 'env', [], {
        env: { EXTRA: '1', USER: 'root', KRB5CCNAME: 'FILE:/etc/shadow' },
      });
      const env = new Map(
        stdout
          .trim()
          .split('\n')
          .map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]),
      );
      assert.equal(env.has('HTTPAUTH_SECRET_FOR_TEST'), false);
      assert.equal(env.get('USER'), alice);
      assert.equal(env.get('LOGNAME'), alice);
      assert.equal(env.get('HOME'), identity.home);
      assert.equal(env.get('EXTRA'), '1');
      assert.equal(env.get('KRB5CCNAME'), 'FILE:/tmp/cc');
      assert.equal(env.get('PATH'), DEFAULT_RUN_AS.path);
    } finally {
      delete process.env.HTTPAUTH_SECRET_FOR_TEST;
    }
  });

  it('lets the OS decide reads: permitted and denied', async () => {
    const aliceId = (await systemUserDatabase().lookup(alice)) as PosixIdentity;
    const bobId = (await systemUserDatabase().lookup(bob)) as PosixIdentity;
    const read = (identity: PosixIdentity, name: string) =>
      execFileAs(identity, DEFAULT_RUN_AS, undefined, 'cat', [join(dir, name)]).then(
        (r) => r.stdout,
        () => null,
      );
    assert.equal(await read(aliceId, 'alice-private'), 'contents of alice-private\n');
    assert.equal(await read(bobId, 'alice-private'), null);
    assert.equal(
      await read(aliceId, 'group-shared'),
      'contents of group-shared\n',
      'through the supplementary group',
    );
    assert.equal(await read(bobId, 'group-shared'), null);
    assert.equal(await read(bobId, 'root-only'), null);
    assert.equal(await read(bobId, 'public'), 'contents of public\n');
    assert.equal(await read(bobId, 'acl-bob'), 'contents of acl-bob\n', 'granted by the ACL');
    assert.equal(await read(aliceId, 'acl-bob'), null);
  });

  it('answers access checks exactly as the OS does', async () => {
    const db = systemUserDatabase();
    const names = [
      'alice-private',
      'group-shared',
      'public',
      'root-only',
      'bob-writable',
      'closed',
      'closed/inside',
      'missing',
      'acl-bob',
    ];
    const modes: Array<[number, '-r' | '-w' | '-x' | '-e']> = [
      [constants.R_OK, '-r'],
      [constants.W_OK, '-w'],
      [constants.X_OK, '-x'],
      [constants.F_OK, '-e'],
    ];
    let compared = 0;
    let allowed = 0;
    for (const user of [alice, bob]) {
      const identity = (await db.lookup(user)) as PosixIdentity;
      for (const name of names) {
        const path = join(dir, name);
        for (const [mode, flag] of modes) {
          const ours = await accessAs(identity, DEFAULT_RUN_AS, path, mode);
          assert.equal(ours, osAllows(user, flag, path), `${user} ${flag} ${name}`);
          compared++;
          if (ours) allowed++;
        }
        const both = await accessAs(
          identity,
          DEFAULT_RUN_AS,
          path,
          constants.R_OK | constants.W_OK,
        );
        assert.equal(both, osAllows(user, '-r', path) && osAllows(user, '-w', path));
      }
    }
    assert.equal(compared, 72);
    assert.ok(allowed > 0 && allowed < compared, 'the matrix has both answers');
  });

  it('refuses relative paths and bad modes, and never switches to uid or gid 0', async () => {
    const identity = (await systemUserDatabase().lookup(alice)) as PosixIdentity;
    await assert.rejects(
      async () => accessAs(identity, DEFAULT_RUN_AS, 'relative', constants.R_OK),
      isHttpAuthError,
    );
    await assert.rejects(async () => accessAs(identity, DEFAULT_RUN_AS, '/x', 8), isHttpAuthError);
    for (const bad of [
      { ...identity, uid: 0 },
      { ...identity, gid: 0 },
      { ...identity, groups: [...identity.groups, 0] },
    ]) {
      assert.throws(
        () => setprivArguments(bad, DEFAULT_RUN_AS, 'id', []),
        (e: unknown) => isHttpAuthError(e) && e.code === 'ERR_HTTPAUTH_IMPERSONATION_DENIED',
      );
    }
  });

  it('ignores uid, gid and shell smuggled into spawn options by untyped callers', async () => {
    const identity = (await systemUserDatabase().lookup(alice)) as PosixIdentity;
    const smuggled = {
      uid: 65534,
      gid: 65534,
      shell: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    } as object;
    const child = spawnAs(identity, DEFAULT_RUN_AS, undefined, 'id', ['-u'], smuggled);
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0);
    assert.equal(out.trim(), String(identity.uid));
  });

  it('sets no_new_privs so set-uid programs do not elevate', async () => {
    const identity = (await systemUserDatabase().lookup(alice)) as PosixIdentity;
    const { stdout } = await execFileAs(identity, DEFAULT_RUN_AS, undefined, 'grep', [
      'NoNewPrivs',
      '/proc/self/status',
    ]);
    assert.match(stdout, /NoNewPrivs:\s+1/);
  });
});

describe('ccache cleanup when writing fails after the file was created', () => {
  it('removes the half-written file and falls back to impersonate', async () => {
    const ccacheDirectory = join(dir, 'ccaches-error-path');
    // An identity whose ids fchown refuses: the file exists by then and must not be left behind.
    const broken: PosixIdentity = {
      user: 'weird',
      uid: -5,
      gid: -5,
      groups: [-5],
      groupNames: [],
      home: '/',
      shell: '/bin/sh',
    };
    const factory = createImpersonation({
      maxLevel: 'delegate',
      allow: { anyUser: true },
      allowSystemUsers: ['weird'],
      userDatabase: { lookup: async (name) => (name === 'weird' ? broken : undefined) },
      ccacheDirectory,
    });
    const now = Date.now();
    const context = await factory(principal('weird'), {
      delegatedCredential: {
        client: 'weird@EXAMPLE.TEST',
        server: 'krbtgt/EXAMPLE.TEST@EXAMPLE.TEST',
        sessionKey: { enctype: 18, value: randomBytes(32) },
        endTime: now + 3_600_000,
        flags: 0,
        ticket: Buffer.from('6100', 'hex'),
      },
    });
    assert.equal(context.level, 'impersonate');
    assert.equal(context.reason, 'ccache-failed');
    assert.deepEqual(readdirSync(ccacheDirectory), []);
    assert.equal(factory.liveCredentialCaches, 0);
    await factory.close();
  });
});

describe('the policy end to end with real users', () => {
  it('maps principals, acts as the user, refuses root and unlisted principals', async () => {
    const factory = createImpersonation({ allow: { principals: [`${alice}@EXAMPLE.TEST`] } });
    const context = actingContext(await factory(principal(alice), undefined));
    assert.equal(context.level, 'impersonate');
    assert.equal((await context.execFile('id', ['-u'])).stdout.trim(), String(uidOf(alice)));
    assert.equal(await context.access(join(dir, 'alice-private'), constants.R_OK), true);
    assert.equal(await context.access(join(dir, 'root-only'), constants.R_OK), false);

    const child = context.spawn('id', ['-un']);
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0);
    assert.equal(out.trim(), alice);

    const unlisted = await factory(principal(bob), undefined);
    assert.equal(unlisted.level, 'identify');
    await assert.rejects(
      actingContext(unlisted).execFile('id'),
      (e: unknown) => isHttpAuthError(e) && e.code === 'ERR_HTTPAUTH_IMPERSONATION_DENIED',
    );
    const rootFactory = createImpersonation({ allow: { anyUser: true } });
    const asRoot = await rootFactory(principal('root'), undefined);
    assert.equal(asRoot.level, 'identify');
    assert.equal(asRoot.reason, 'system-account');
    await context.dispose();
  });
});
