/**
 * auth.ntlm.domainController: validation messages, the either/or with smbpasswd, and the
 * gateway's packages built on one shared DC verifier (no DC is contacted here: test/ad-ntlm-e2e
 * runs them against a Samba AD DC).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { validateConfig } from '../src/config.js';
import { buildPackages } from '../src/packages.js';
import { problemText } from './config-problems.js';

const dir = mkdtempSync(join(tmpdir(), 'httpauth-gw-dc-'));
const passwordFile = join(dir, 'web1.password');
writeFileSync(passwordFile, 'Web1-Machine-Passw0rd!\n');

const config = (
  dc: Record<string, unknown>,
  ntlm: Record<string, unknown> = {},
  auth: Record<string, unknown> = {},
) => ({
  upstream: 'http://127.0.0.1:3000',
  auth: { ntlm: { domain: 'SAMDOM', domainController: dc, ...ntlm }, ...auth },
});
const good = { servers: ['127.0.0.1'], machineAccount: 'WEB1$', machinePasswordFile: passwordFile };

describe('gateway auth.ntlm.domainController', () => {
  it('accepts a domain controller instead of smbpasswd, with its defaults', () => {
    const parsed = validateConfig(config(good)).auth.ntlm;
    assert.equal(parsed?.smbpasswd, undefined);
    assert.deepEqual(parsed?.domainController, { ...good, timeoutMs: 5000 });
    const srv = validateConfig(
      config(
        { machineAccount: 'WEB1', machineNtHashFile: 'web1.hash', timeoutMs: 800 },
        {
          dnsDomain: 'samdom.test',
        },
      ),
    ).auth.ntlm?.domainController;
    assert.equal(srv?.servers, undefined);
    assert.equal(srv?.timeoutMs, 800);
    assert.match(srv?.machineNtHashFile ?? '', /web1\.hash$/);
  });

  it('needs exactly one of smbpasswd and domainController', () => {
    assert.match(
      problemText(() => validateConfig(config(good, { smbpasswd: '/x' }))),
      /auth\.ntlm needs exactly one of smbpasswd, domainController/,
    );
    assert.match(
      problemText(() =>
        validateConfig({ upstream: 'http://127.0.0.1:3000', auth: { ntlm: { domain: 'D' } } }),
      ),
      /auth\.ntlm needs exactly one of smbpasswd, domainController/,
    );
  });

  it('needs exactly one machine secret file, and says what is wrong with each setting', () => {
    const text = (dc: Record<string, unknown>, ntlm: Record<string, unknown> = {}) =>
      problemText(() => validateConfig(config(dc, ntlm)));
    const { machinePasswordFile: _, ...noSecret } = good;
    assert.match(
      text(noSecret),
      /domainController needs exactly one of machinePasswordFile, machineNtHashFile/,
    );
    assert.match(
      text({ ...good, machineNtHashFile: '/h' }),
      /needs exactly one of machinePasswordFile, machineNtHashFile/,
    );
    assert.match(
      text({ ...good, machinePassword: 'inline' }),
      /unknown setting "auth\.ntlm\.domainController\.machinePassword"/,
    );
    assert.match(text({ ...good, servers: [] }), /servers must list at least one host/);
    assert.match(
      text({ ...good, servers: ['dc1:0'] }),
      /servers: "dc1:0" is not host or host:port/,
    );
    assert.match(
      text({ ...good, servers: ['a:b:c'] }),
      /servers: "a:b:c" is not host or host:port/,
    );
    assert.match(text({ ...good, servers: 'dc1' }), /servers must be a list of strings/);
    assert.match(
      text({ ...good, machineAccount: 'NOT A NAME' }),
      /machineAccount must be the computer account/,
    );
    assert.match(
      text({ ...good, machineAccount: undefined }),
      /machineAccount must be a non-empty string/,
    );
    assert.match(text({ ...good, timeoutMs: 0 }), /timeoutMs must be a number from 100 to 60000/);
    const { servers: __, ...noServers } = good;
    assert.match(text(noServers), /needs servers, or dnsDomain for a DNS SRV lookup/);
    assert.match(
      text(good, { computerName: 'OTHER' }),
      /auth\.ntlm\.computerName must be the machine account without \$ \(WEB1\)/,
    );
    assert.equal(
      validateConfig(config(good, { computerName: 'web1' })).auth.ntlm?.computerName,
      'web1',
    );
  });

  it('builds auth.ntlm and Negotiate NTLM fallback on the DC, lazily (no connection yet)', () => {
    const parsed = validateConfig(
      config(good, {}, { negotiate: { kerberosOnly: false }, mechanisms: ['negotiate', 'ntlm'] }),
    );
    const built = buildPackages(parsed);
    try {
      assert.deepEqual(
        built.packages.map((p) => p.name),
        ['Negotiate', 'NTLM'],
      );
    } finally {
      built.close();
    }
  });

  it('an unreadable machine secret file is a clear configuration error', () => {
    const parsed = validateConfig(config({ ...good, machinePasswordFile: join(dir, 'missing') }));
    assert.match(
      problemText(() => buildPackages(parsed)),
      /auth\.ntlm: .*ENOENT/,
    );
  });
});
