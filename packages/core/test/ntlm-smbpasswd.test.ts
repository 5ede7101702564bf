import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { NtlmAcceptor } from '../src/ntlm/acceptor.js';
import { lmowfv1, ntowfv1 } from '../src/ntlm/keys.js';
import { parseSmbpasswd, smbpasswdFile } from '../src/ntlm/smbpasswd.js';
import { authenticate, negotiate } from './ntlm-client.js';

const dir = mkdtempSync(join(tmpdir(), 'ntlm-smbpasswd-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const hash = (password: string) => ntowfv1(password).toString('hex').toUpperCase();
const line = (
  user: string,
  uid: number,
  password: string,
  flags = '[U          ]',
  lm = 'X'.repeat(32),
) => `${user}:${uid}:${lm}:${hash(password)}:${flags}:LCT-5F5E1000:`;

async function logon(
  server: NtlmAcceptor,
  user: string,
  password: string,
  version: 'v2' | 'lm' = 'v2',
) {
  const neg = negotiate();
  const first = await server.step(neg, undefined, { now: Date.now() });
  if (first.type !== 'continue') throw new Error('expected a CHALLENGE');
  const auth = authenticate(neg, first.token, { user, password, domain: 'EXAMPLE', version });
  return server.step(auth.message, first.state, { now: Date.now() });
}

describe('smbpasswd files', () => {
  it('parses user accounts, honours [D] and skips machine accounts and bad lines', () => {
    const accounts = parseSmbpasswd(
      [
        '# comment',
        line('alice', 1000, 'a'),
        line('bob', 1001, 'b', '[DU         ]'),
        line('WEB01$', 1002, 'm', '[W          ]'),
        'carol:1003:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:NO PASSWORDXXXXXXXXXXXXXXXXXXXXX:[NU         ]:LCT-00000000:',
        'garbage line',
        'dave:notanumber:X:Y:[U]:LCT-0:',
      ].join('\n'),
    );
    assert.deepEqual([...accounts.keys()], ['alice', 'bob']);
    assert.equal(accounts.get('alice')?.disabled, false);
    assert.equal(accounts.get('bob')?.disabled, true);
    assert.ok(accounts.get('alice')?.ntHash.equals(ntowfv1('a')));
  });

  it('authenticates against the file, refuses disabled accounts, and reloads when it changes', async () => {
    const path = join(dir, 'smbpasswd');
    writeFileSync(
      path,
      [line('alice', 1000, 'Wonderland1'), line('bob', 1001, 'Builder1', '[DU         ]')].join(
        '\n',
      ) + '\n',
    );
    const source = smbpasswdFile(path, { reloadCheckMs: 0 });
    assert.equal(source.size, 1);
    const server = new NtlmAcceptor({ domain: 'EXAMPLE', credentials: source });
    const ok = await logon(server, 'Alice', 'Wonderland1');
    assert.equal(ok.type === 'complete' && ok.principal.name, 'EXAMPLE\\alice');
    await assert.rejects(logon(server, 'bob', 'Builder1'), {
      code: 'ERR_HTTPAUTH_BAD_CREDENTIALS',
    });
    await assert.rejects(logon(server, 'alice', 'wrong'), { code: 'ERR_HTTPAUTH_BAD_CREDENTIALS' });

    // Replace the file atomically, as smbpasswd(8) does: alice's password changes, bob is enabled.
    const next = join(dir, 'smbpasswd.new');
    writeFileSync(
      next,
      [line('alice', 1000, 'Looking2'), line('bob', 1001, 'Builder1')].join('\n') + '\n',
    );
    renameSync(next, path);
    await assert.rejects(logon(server, 'alice', 'Wonderland1'), {
      code: 'ERR_HTTPAUTH_BAD_CREDENTIALS',
    });
    const bob = await logon(server, 'bob', 'Builder1');
    assert.equal(bob.type, 'complete');
    assert.equal(source.size, 2);
  });

  it('keeps the last good copy when the file disappears', async () => {
    const path = join(dir, 'vanishing');
    writeFileSync(path, line('alice', 1000, 'pw') + '\n');
    const source = smbpasswdFile(path, { reloadCheckMs: 0 });
    rmSync(path);
    assert.ok(await source.lookup('alice'));
  });

  it('LM responses verify against the LM hash only when allowed', async () => {
    const path = join(dir, 'with-lm');
    writeFileSync(
      path,
      line('alice', 1000, 'PASSWORD', '[U          ]', lmowfv1('PASSWORD').toString('hex')) + '\n',
    );
    const allowing = new NtlmAcceptor({
      domain: 'EXAMPLE',
      credentials: smbpasswdFile(path),
      allowLm: true,
    });
    const result = await logon(allowing, 'alice', 'PASSWORD', 'lm');
    assert.equal(result.type === 'complete' && result.context.ntlmVersion, 1);
    const strict = new NtlmAcceptor({ domain: 'EXAMPLE', credentials: smbpasswdFile(path) });
    await assert.rejects(logon(strict, 'alice', 'PASSWORD', 'lm'), {
      code: 'ERR_HTTPAUTH_NTLM_V1_REFUSED',
    });
  });

  it('a missing file is an options error at start-up', () => {
    assert.throws(() => smbpasswdFile(join(dir, 'absent')), {
      code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
    });
  });
});
