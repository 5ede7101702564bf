/**
 * directory.ldap: validation messages and the resolver it builds (no LDAP server is contacted
 * here: test/ad-ntlm-e2e names the DC's group SIDs through a real Samba DC).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { validateConfig } from '../src/config.js';
import { buildDirectory } from '../src/directory.js';
import { problemText } from './config-problems.js';

const dir = mkdtempSync(join(tmpdir(), 'httpauth-gw-directory-'));
const passwordFile = join(dir, 'ldap.password');
writeFileSync(passwordFile, 'Reader-Passw0rd!\n');

const config = (ldap: Record<string, unknown>) => ({
  upstream: 'http://127.0.0.1:3000',
  auth: { basic: { htpasswd: '/dev/null' } },
  directory: { ldap },
});
const good = { url: 'ldaps://dc1.samdom.test', bindDn: 'reader@samdom.test', passwordFile };

describe('gateway directory.ldap', () => {
  it('takes the LDAP settings with their defaults, and builds a resolver', async () => {
    const parsed = validateConfig(config(good)).directory;
    assert.deepEqual(parsed, { ...good, cacheTtlSec: 600 });
    const resolver = buildDirectory(parsed);
    assert.equal(typeof resolver?.resolvePrincipal, 'function');
    assert.equal(resolver?.cacheSize, 0);
    await resolver?.close();
    assert.equal(buildDirectory(undefined), undefined);
  });

  it('reports missing and bad settings, and misspelt keys', () => {
    const text = problemText(() =>
      validateConfig(config({ url: 'http://dc1', cacheTtlSec: 0, bindDN: 'x' })),
    );
    assert.match(text, /directory\.ldap\.url must be ldaps:\/\/host/);
    assert.match(text, /directory\.ldap\.bindDn/);
    assert.match(text, /directory\.ldap\.passwordFile/);
    assert.match(text, /directory\.ldap\.cacheTtlSec/);
    assert.match(text, /unknown setting "directory\.ldap\.bindDN"/);
  });

  it('says plainly when the password file cannot be read', () => {
    const parsed = validateConfig(config({ ...good, passwordFile: join(dir, 'missing') }));
    assert.match(
      problemText(() => buildDirectory(parsed.directory)),
      /cannot read directory\.ldap\.passwordFile/,
    );
  });
});
