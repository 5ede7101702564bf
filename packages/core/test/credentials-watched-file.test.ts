/**
 * The one file watcher every file credential source shares (credentials/watched-file.ts): its
 * options are checked, and htdigest, htpasswd and smbpasswd files all reload through it.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { WatchedFile } from '../src/credentials/watched-file.js';
import { htpasswdFile } from '../src/basic/htpasswd.js';
import { htdigestFile } from '../src/digest/sources.js';
import { computeHa1 } from '../src/digest/compute.js';
import { ntowfv1 } from '../src/ntlm/keys.js';
import { smbpasswdFile } from '../src/ntlm/smbpasswd.js';

const dir = mkdtempSync(join(tmpdir(), 'watched-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Write atomically (a new file renamed over the old), as editors and smbpasswd(8) do. */
function replace(path: string, text: string): void {
  const next = `${path}.new`;
  writeFileSync(next, text);
  renameSync(next, path);
}

const smbLine = (user: string, password: string) =>
  `${user}:1000:${'X'.repeat(32)}:${ntowfv1(password).toString('hex').toUpperCase()}:[U          ]:LCT-5F5E1000:`;

describe('WatchedFile', () => {
  it('refuses an interval that would silently never or always re-read, and a non-function clock', () => {
    const path = join(dir, 'plain');
    writeFileSync(path, 'x');
    for (const checkIntervalMs of [Number.NaN, -1, 0.5, Infinity]) {
      assert.throws(() => new WatchedFile(path, (t) => t, { checkIntervalMs }), {
        code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
      });
    }
    assert.throws(() => new WatchedFile(path, (t) => t, { now: 5 as unknown as () => number }), {
      code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
    });
    assert.throws(() => new WatchedFile(path, (t) => t, null as never), {
      code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
    });
  });

  it('re-reads a changed file once the interval has passed, on the injected clock', () => {
    const path = join(dir, 'clocked');
    writeFileSync(path, 'one');
    let now = 0;
    const file = new WatchedFile(path, (t) => t, { checkIntervalMs: 1000, now: () => now });
    replace(path, 'two');
    assert.equal(file.current, 'one', 'not re-checked before the interval');
    now = 1000;
    assert.equal(file.current, 'two');
  });

  it('keeps the last good contents when a reload fails to parse or the file vanishes', () => {
    const path = join(dir, 'flaky');
    writeFileSync(path, 'good');
    const file = new WatchedFile(
      path,
      (t) => {
        if (t === 'bad') throw new Error('half-written');
        return t;
      },
      { checkIntervalMs: 0 },
    );
    replace(path, 'bad');
    assert.equal(file.current, 'good');
    rmSync(path);
    assert.equal(file.current, 'good');
  });
});

describe('file credential sources share the watcher', () => {
  it('htpasswd, htdigest and smbpasswd files all reload on the same option, checkIntervalMs', async () => {
    const htpasswd = join(dir, 'htpasswd');
    writeFileSync(htpasswd, 'alice:{SHA}' + 'W6ph5Mm5Pz8GgiULbPgzG37mj9g=' + '\n'); // "password"
    const verify = htpasswdFile(htpasswd, { checkIntervalMs: 0 });
    assert.equal(await verify('alice', 'password'), true);
    replace(htpasswd, 'bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n');
    assert.equal(await verify('alice', 'password'), false);
    assert.equal(await verify('bob', 'password'), true);

    const htdigest = join(dir, 'htdigest');
    writeFileSync(htdigest, `alice:R:${computeHa1('MD5', 'alice', 'R', 'pw')}\n`);
    const digestSource = htdigestFile(htdigest, { checkIntervalMs: 0 });
    assert.ok(await digestSource.lookup('alice', 'R', 'MD5'));
    replace(htdigest, `bob:R:${computeHa1('MD5', 'bob', 'R', 'pw')}\n`);
    assert.equal(await digestSource.lookup('alice', 'R', 'MD5'), undefined);

    const smbpasswd = join(dir, 'smbpasswd');
    writeFileSync(smbpasswd, smbLine('alice', 'pw') + '\n');
    const ntlmSource = smbpasswdFile(smbpasswd, { checkIntervalMs: 0 });
    assert.ok(await ntlmSource.lookup('alice'));
    replace(smbpasswd, smbLine('bob', 'pw') + '\n');
    assert.equal(await ntlmSource.lookup('alice'), undefined);
    assert.ok(await ntlmSource.lookup('bob'));
  });

  it('smbpasswdFile still takes its older option name, but not both names at once', async () => {
    const path = join(dir, 'smb-old-name');
    writeFileSync(path, smbLine('alice', 'pw') + '\n');
    let now = 0;
    const source = smbpasswdFile(path, { reloadCheckMs: 500, now: () => now });
    replace(path, smbLine('bob', 'pw') + '\n');
    assert.ok(await source.lookup('alice'), 'not re-checked before reloadCheckMs');
    now = 500;
    assert.ok(await source.lookup('bob'));
    assert.throws(() => smbpasswdFile(path, { reloadCheckMs: 0, checkIntervalMs: 0 }), {
      code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
    });
    assert.throws(() => smbpasswdFile(path, { checkIntervalMs: -5 }), {
      code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
    });
  });
});
