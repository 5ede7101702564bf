import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { makeKey } from '../src/kerberos/crypto/index.js';
import { encodeKeytab } from '../src/kerberos/keytab.js';
import { digestFileLine } from '../src/digest/sources.js';
import { checkCredentialFile } from '../src/doctor/credential-files.js';
import { passed, renderFindings, type Finding } from '../src/doctor/findings.js';
import { checkKeytab } from '../src/doctor/keytab.js';
import { checkTicket } from '../src/doctor/ticket.js';

const levels = (findings: readonly Finding[], level: Finding['level']) =>
  findings.filter((f) => f.level === level).map((f) => f.message);

describe('httpauth doctor', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'httpauth-doctor-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function keytab(
    entries: { components: string[]; realm?: string; kvno: number; enctype: number }[],
  ): Promise<string> {
    const path = join(dir, `kt-${randomBytes(4).toString('hex')}`);
    const sizes: Record<number, number> = { 17: 16, 18: 32, 23: 16 };
    await writeFile(
      path,
      encodeKeytab(
        entries.map((e) => ({
          realm: e.realm ?? 'EXAMPLE.TEST',
          components: e.components,
          kvno: e.kvno,
          key: makeKey(e.enctype, randomBytes(sizes[e.enctype]!)),
        })),
      ),
    );
    return path;
  }

  it('lists principals, kvnos and enctypes and finds the SPN case-insensitively by host', async () => {
    const path = await keytab([
      { components: ['HTTP', 'web.example.test'], kvno: 2, enctype: 18 },
      { components: ['HTTP', 'web.example.test'], kvno: 3, enctype: 18 },
      { components: ['HTTP', 'web.example.test'], kvno: 3, enctype: 17 },
    ]);
    const report = checkKeytab({ keytab: path, spn: 'HTTP/WEB.example.test' });
    assert.ok(passed(report.findings), renderFindings(report.findings));
    const info = levels(report.findings, 'info');
    assert.ok(info.includes('HTTP/web.example.test@EXAMPLE.TEST kvno 2: aes256-cts-hmac-sha1-96'));
    assert.ok(
      info.includes(
        'HTTP/web.example.test@EXAMPLE.TEST kvno 3: aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96',
      ),
    );
    assert.deepEqual(levels(report.findings, 'ok').slice(1), [
      'HTTP/WEB.example.test: kvno 3 with aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96',
    ]);
  });

  it('fails an SPN that is missing, in another realm, or held only with RC4', async () => {
    const path = await keytab([
      { components: ['HTTP', 'web.example.test'], kvno: 1, enctype: 23 },
      { components: ['host', 'web.example.test'], kvno: 1, enctype: 18 },
    ]);
    const missing = checkKeytab({ keytab: path, spn: 'HTTP/other.example.test' });
    assert.match(levels(missing.findings, 'fail')[0]!, /not in the keytab \(it holds: /);
    const realm = checkKeytab({ keytab: path, spn: 'HTTP/web.example.test@OTHER.TEST' });
    assert.equal(levels(realm.findings, 'fail').length, 1);
    const rc4 = checkKeytab({ keytab: path, spn: 'HTTP/web.example.test' });
    assert.match(
      levels(rc4.findings, 'fail')[0]!,
      /no key this server accepts \(held: arcfour-hmac/,
    );
    const allowed = checkKeytab({ keytab: path, spn: 'HTTP/web.example.test', allowRc4: true });
    assert.ok(passed(allowed.findings));
  });

  it('fails an unreadable or malformed keytab with one clear line, never a throw', async () => {
    const garbage = join(dir, 'garbage');
    await writeFile(garbage, Buffer.from([0x05, 0x02, 0, 0, 0, 40, 1]));
    assert.deepEqual(levels(checkKeytab({ keytab: garbage }).findings, 'fail'), [
      `${garbage}: not a keytab (bad format)`,
    ]);
    assert.deepEqual(levels(checkKeytab({ keytab: join(dir, 'none') }).findings, 'fail'), [
      `${join(dir, 'none')}: ENOENT`,
    ]);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        await writeFile(garbage, bytes);
        const report = checkKeytab({ keytab: garbage, spn: 'HTTP/x' });
        assert.ok(report.findings.length > 0);
      }),
      { numRuns: 200 },
    );
  });

  it('names the bad lines of credential files and never prints a hash', async () => {
    const digest = join(dir, 'users.digest');
    const good = digestFileLine('alice', 'intranet', 'pw');
    await writeFile(digest, `# comment\n${good}\nbob:intranet:SHA-256=zz\n${good}\n`);
    const findings = checkCredentialFile('digest', digest);
    assert.deepEqual(levels(findings, 'ok'), [`${digest}: 1 account that can log on`]);
    assert.deepEqual(levels(findings, 'fail'), [
      `${digest}:3: bad digest file entry`,
      `${digest}:4: alice in realm intranet again (first on line 2): the file is refused`,
    ]);
    const hash = good.split(':')[2]!.split(',')[0]!.split('=')[1]!;
    assert.ok(!JSON.stringify(findings).includes(hash));

    const htdigest = join(dir, 'users.htdigest');
    await writeFile(htdigest, 'carol:intranet\r\n');
    assert.deepEqual(levels(checkCredentialFile('htdigest', htdigest), 'fail'), [
      `${htdigest}: 0 accounts that can log on`,
      `${htdigest}:1: htdigest line must have three fields`,
    ]);
  });

  it('tells machine accounts and disabled users apart from bad smbpasswd lines', async () => {
    const path = join(dir, 'smbpasswd');
    const nt = '0123456789ABCDEF0123456789ABCDEF';
    await writeFile(
      path,
      [
        `bob:1000:${'X'.repeat(32)}:${nt}:[U          ]:LCT-00000000:`,
        `WEB2$:1001:${'X'.repeat(32)}:${nt}:[W          ]:LCT-00000000:`,
        `dave:1002:${'X'.repeat(32)}:${nt}:[UD         ]:LCT-00000000:`,
        `erin:notanumber:X:${nt}:[U]:LCT-0:`,
        `BOB:1003:${'X'.repeat(32)}:${nt}:[U          ]:LCT-00000000:`,
      ].join('\n'),
    );
    const findings = checkCredentialFile('smbpasswd', path);
    assert.deepEqual(levels(findings, 'info'), [
      `${path}:2: WEB2$: a machine or trust account, never used for logons`,
    ]);
    assert.deepEqual(levels(findings, 'warn'), [
      `${path}:3: dave: disabled or locked ([D] or [L]): cannot log on`,
      `${path}:5: BOB again (first on line 1): the first one is used`,
    ]);
    assert.equal(levels(findings, 'fail').length, 1);
    assert.match(levels(findings, 'fail')[0]!, /:4: not a usable account/);
  });

  it('reports random file contents line by line without throwing', async () => {
    const path = join(dir, 'random');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('digest', 'htdigest', 'htpasswd', 'smbpasswd' as const),
        fc.string({ maxLength: 400 }),
        async (kind, text) => {
          await writeFile(path, text);
          const findings = checkCredentialFile(kind, path);
          assert.ok(findings.length > 0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses tokens that are not Kerberos with the reason an operator needs', async () => {
    const path = await keytab([{ components: ['HTTP', 'web.example.test'], kvno: 1, enctype: 18 }]);
    const entries = checkKeytab({ keytab: path }).entries;
    const ntlm = Buffer.concat([Buffer.from('NTLMSSP\0', 'latin1'), Buffer.alloc(24)]);
    const [first] = await checkTicket({ keytab: path, token: ntlm.toString('base64'), entries });
    assert.match(first!.message, /an NTLM token: the client had no Kerberos ticket/);
    const junk = await checkTicket({ keytab: path, token: 'Negotiate YWJj', entries });
    assert.equal(junk[0]!.level, 'fail');
    assert.match(junk[0]!.message, /does not decode: ERR_HTTPAUTH_SPNEGO_MALFORMED/);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (bytes) => {
        const out = await checkTicket({
          keytab: path,
          token: Buffer.from(bytes).toString('base64'),
          entries,
        });
        assert.ok(out.some((f) => f.level === 'fail'));
      }),
      { numRuns: 200 },
    );
  });
});
