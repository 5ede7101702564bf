/**
 * auth.basic.kerberos: validation messages, defaults, the keytab it falls back to, and the
 * plain-HTTP warning (no KDC is contacted here: test/gateway-basic-kerberos-e2e.test.ts logs on
 * through the gateway against a real MIT KDC).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeKeytab, makeKey } from '@httpauth/core/wire';
import { validateConfig } from '../src/config.js';
import { basicWarnings, buildPackages } from '../src/packages.js';
import { problemText } from './config-problems.js';

const dir = mkdtempSync(join(tmpdir(), 'httpauth-gw-basic-krb-'));
const keytab = join(dir, 'http.keytab');
writeFileSync(
  keytab,
  encodeKeytab([
    {
      realm: 'EXAMPLE.TEST',
      components: ['HTTP', 'gw.example.test'],
      kvno: 2,
      key: makeKey(18, randomBytes(32)),
    },
  ]),
);

const config = (auth: Record<string, unknown>) => ({ upstream: 'http://127.0.0.1:3000', auth });

describe('gateway auth.basic.kerberos', () => {
  it('takes the settings with their defaults, keytab relative to the file', () => {
    const parsed = validateConfig(
      config({ basic: { kerberos: { realm: 'EXAMPLE.TEST', keytab: 'http.keytab' } } }),
      {},
      dir,
    ).auth.basic;
    assert.deepEqual(parsed, {
      kerberos: { realm: 'EXAMPLE.TEST', keytab, timeoutMs: 3000, allowRc4: false },
      allowInsecure: false,
    });
  });

  it('uses auth.negotiate.keytab when it names no keytab of its own', () => {
    const parsed = validateConfig(
      config({
        negotiate: { keytab },
        basic: {
          kerberos: {
            realm: 'EXAMPLE.TEST',
            trustedRealms: ['PARTNER.TEST'],
            kdcs: ['kdc1', 'tcp/kdc2:88', '[::1]:750'],
          },
        },
      }),
    ).auth.basic?.kerberos;
    assert.equal(parsed?.keytab, keytab);
    assert.deepEqual(parsed?.kdcs, ['kdc1', 'tcp/kdc2:88', '[::1]:750']);
    assert.deepEqual(parsed?.trustedRealms, ['PARTNER.TEST']);
  });

  it('needs exactly one of htpasswd and kerberos, and checks every setting', () => {
    assert.match(
      problemText(() => validateConfig(config({ basic: { allowInsecure: false } }))),
      /auth\.basic needs exactly one of htpasswd, kerberos/,
    );
    assert.match(
      problemText(() =>
        validateConfig(config({ basic: { htpasswd: '/x', kerberos: { realm: 'EXAMPLE.TEST' } } })),
      ),
      /auth\.basic needs exactly one of htpasswd, kerberos/,
    );
    const text = problemText(() =>
      validateConfig(
        config({
          basic: {
            kerberos: {
              realm: 'alice@EXAMPLE',
              trustedRealms: ['PARTNER TEST'],
              kdcs: ['http://kdc1', 'kdc2:70000'],
              timeoutMs: 0,
              kdc: ['x'],
            },
          },
        }),
      ),
    );
    assert.match(text, /auth\.basic\.kerberos\.realm must be a realm name/);
    assert.match(text, /auth\.basic\.kerberos\.kdcs must list KDCs as host, host:port/);
    assert.match(text, /auth\.basic\.kerberos\.kdcs: kdc2:70000 has no valid port/);
    assert.match(text, /auth\.basic\.kerberos\.timeoutMs/);
    assert.match(text, /auth\.basic\.kerberos\.trustedRealms must list realm names/);
    assert.match(text, /unknown setting "auth\.basic\.kerberos\.kdc"/);
    assert.match(
      problemText(() => validateConfig(config({ basic: { kerberos: {} } }))),
      /auth\.basic\.kerberos\.realm/,
    );
  });

  it('fails the start on a keytab it cannot read or cannot find', () => {
    const missing = validateConfig(
      config({ basic: { kerberos: { realm: 'EXAMPLE.TEST', keytab: join(dir, 'nope') } } }),
    );
    assert.match(
      problemText(() => buildPackages(missing)),
      /cannot read auth\.basic\.kerberos\.keytab .*nope: ENOENT/,
    );
    const saved = process.env['KRB5_KTNAME'];
    delete process.env['KRB5_KTNAME'];
    try {
      const none = validateConfig(config({ basic: { kerberos: { realm: 'EXAMPLE.TEST' } } }));
      assert.match(
        problemText(() => buildPackages(none)),
        /auth\.basic\.kerberos\.keytab: not set, and neither auth\.negotiate\.keytab nor KRB5_KTNAME/,
      );
    } finally {
      if (saved !== undefined) process.env['KRB5_KTNAME'] = saved;
    }
  });

  it('builds the Basic package, offered only over TLS unless allowInsecure', () => {
    const built = buildPackages(
      validateConfig(config({ basic: { kerberos: { realm: 'EXAMPLE.TEST', keytab } } })),
    );
    const [basic] = built.packages;
    assert.equal(basic?.scheme, 'Basic');
    const request = (secure: boolean) => ({
      method: 'GET',
      target: '/',
      headers: {},
      httpVersionMajor: 1,
      secure,
    });
    assert.equal(basic?.challenges(request(false), 0).length, 0);
    assert.equal(basic?.challenges(request(true), 0).length, 1);
    built.close();
  });

  it('warns when Kerberos passwords are allowed over plain HTTP, and only then', () => {
    const insecure = validateConfig(
      config({ basic: { kerberos: { realm: 'EXAMPLE.TEST', keytab }, allowInsecure: true } }),
    );
    assert.equal(basicWarnings(insecure).length, 1);
    assert.match(basicWarnings(insecure)[0] ?? '', /in the clear/);
    const secure = validateConfig(
      config({ basic: { kerberos: { realm: 'EXAMPLE.TEST', keytab } } }),
    );
    assert.deepEqual(basicWarnings(secure), []);
    const htpasswd = validateConfig(config({ basic: { htpasswd: '/x', allowInsecure: true } }));
    assert.deepEqual(basicWarnings(htpasswd), []);
  });
});
