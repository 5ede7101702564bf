import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { isHttpAuthError } from '../src/errors.js';
import {
  parseGroupLines,
  parseGroupList,
  parsePasswdLine,
  systemUserDatabase,
} from '../src/impersonation/posix.js';

const dir = mkdtempSync(join(tmpdir(), 'httpauth-posix-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const lookupFailed = (error: unknown): boolean =>
  isHttpAuthError(error) && error.code === 'ERR_HTTPAUTH_USER_LOOKUP_FAILED';

describe('user database output parsers', () => {
  it('parses getent passwd lines strictly', () => {
    assert.deepEqual(
      parsePasswdLine('alice:x:1500:1600:Alice A:/home/alice:/bin/bash\n', 'alice'),
      {
        user: 'alice',
        uid: 1500,
        gid: 1600,
        home: '/home/alice',
        shell: '/bin/bash',
      },
    );
    // NSS may canonicalise case (winbind).
    assert.equal(parsePasswdLine('Alice:x:1:2:::\n', 'alice').user, 'Alice');
    for (const bad of [
      '',
      'alice:x:1500:1600:/home/alice:/bin/bash\n',
      'alice:x:1500:1600:g:/h:/s:extra\n',
      'alice:x:-1:1600:g:/h:/s\n',
      'alice:x:15a:1600:g:/h:/s\n',
      'alice:x:4294967295:1:g:/h:/s\n',
      'alice:x:99999999999:1:g:/h:/s\n',
      'bob:x:1:1:g:/h:/s\n',
      'alice:x:1:1:g:/h:/s\nalice:x:2:2:g:/h:/s\n',
    ]) {
      assert.throws(() => parsePasswdLine(bad, 'alice'), lookupFailed, JSON.stringify(bad));
    }
  });

  it('parses id -G and getent group output strictly', () => {
    assert.deepEqual(parseGroupList('1500 27 100\n'), [1500, 27, 100]);
    for (const bad of ['', '\n', '1 2\n3\n', '1  2\n', 'a\n', '-1\n']) {
      assert.throws(() => parseGroupList(bad), lookupFailed, JSON.stringify(bad));
    }
    assert.deepEqual(
      parseGroupLines('staff:x:50:alice,bob\nusers:x:100:\n'),
      new Map([
        [50, 'staff'],
        [100, 'users'],
      ]),
    );
    for (const bad of ['staff:x:50\n', ':x:50:\n', 'staff:x:z:\n']) {
      assert.throws(() => parseGroupLines(bad), lookupFailed, JSON.stringify(bad));
    }
  });

  it('only ever throws USER_LOOKUP_FAILED on random output', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.string({ maxLength: 10 }), (text, name) => {
        for (const parse of [
          () => parsePasswdLine(text, name),
          () => parseGroupList(text),
          () => parseGroupLines(text),
        ]) {
          try {
            parse();
          } catch (error) {
            assert.ok(lookupFailed(error));
          }
        }
      }),
    );
  });
});

describe('system user database', () => {
  it('answers what getent and id answer', async () => {
    const db = systemUserDatabase();
    const root = await db.lookup('root');
    assert.ok(root !== undefined);
    const passwd = execFileSync('getent', ['passwd', 'root'], { encoding: 'utf8' })
      .trim()
      .split(':');
    assert.equal(root.uid, Number(passwd[2]));
    assert.equal(root.gid, Number(passwd[3]));
    assert.equal(root.home, passwd[5]);
    const ids = execFileSync('id', ['-G', 'root'], { encoding: 'utf8' })
      .trim()
      .split(' ')
      .map(Number);
    assert.deepEqual(root.groups, [...new Set(ids)]);
    assert.ok(root.groupNames.includes('root'));
    const nobody = await db.lookup('nobody');
    assert.equal(
      nobody?.uid,
      Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim()),
    );
  });

  it('answers undefined for unknown users and for names it would misread', async () => {
    const db = systemUserDatabase();
    assert.equal(await db.lookup('httpauth-no-such-user-x9'), undefined);
    // "0" would be looked up as uid 0 (root) by getent: never asked.
    assert.equal(await db.lookup('0'), undefined);
    assert.equal(await db.lookup('--help'), undefined);
    assert.equal(await db.lookup('a b'), undefined);
  });

  it('caches answers for the TTL, negative answers shorter, and coalesces concurrent lookups', async () => {
    const log = join(dir, 'getent.log');
    const wrapper = join(dir, 'getent-wrapper');
    writeFileSync(log, '');
    writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> ${log}\nexec /usr/bin/getent "$@"\n`);
    chmodSync(wrapper, 0o755);
    let now = 1_000_000;
    const db = systemUserDatabase({
      getentPath: wrapper,
      ttlMs: 1000,
      negativeTtlMs: 100,
      now: () => now,
    });
    const passwdCalls = (): string[] =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('passwd'));
    await Promise.all([db.lookup('root'), db.lookup('root'), db.lookup('root')]);
    assert.equal(passwdCalls().length, 1);
    now += 999;
    await db.lookup('root');
    assert.equal(passwdCalls().length, 1, 'still cached');
    now += 2;
    await db.lookup('root');
    assert.equal(passwdCalls().length, 2, 'expired');
    await db.lookup('httpauth-no-such-user-x9');
    now += 50;
    await db.lookup('httpauth-no-such-user-x9');
    assert.equal(passwdCalls().length, 3);
    now += 60;
    await db.lookup('httpauth-no-such-user-x9');
    assert.equal(passwdCalls().length, 4, 'negative answers expire sooner');
    db.clear();
    await db.lookup('root');
    assert.equal(passwdCalls().length, 5);
  });

  it('fails with USER_LOOKUP_FAILED (and caches nothing) when the helper fails or hangs', async () => {
    const broken = join(dir, 'getent-broken');
    writeFileSync(broken, '#!/bin/sh\nexit 3\n');
    chmodSync(broken, 0o755);
    const db = systemUserDatabase({ getentPath: broken });
    await assert.rejects(db.lookup('root'), lookupFailed);
    const hanging = join(dir, 'getent-hang');
    writeFileSync(hanging, '#!/bin/sh\nexec sleep 30\n');
    chmodSync(hanging, 0o755);
    const slow = systemUserDatabase({ getentPath: hanging, timeoutMs: 200 });
    await assert.rejects(slow.lookup('root'), lookupFailed);
    const garbage = join(dir, 'getent-garbage');
    writeFileSync(garbage, '#!/bin/sh\necho "root:x:zero:0:::"\n');
    chmodSync(garbage, 0o755);
    await assert.rejects(systemUserDatabase({ getentPath: garbage }).lookup('root'), lookupFailed);
  });
});
