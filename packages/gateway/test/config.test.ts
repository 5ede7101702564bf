import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encodeKeytab, makeKey } from '@httpauth/core/wire';
import { loadConfig, validateConfig } from '../src/config.js';
import { ntlmWarnings } from '../src/packages.js';
import { problems } from './config-problems.js';

const dir = mkdtempSync(join(tmpdir(), 'httpauth-gw-config-'));
const cli = fileURLToPath(new URL('../src/cli-entry.ts', import.meta.url));

function runCli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env, HTTPAUTH_GATEWAY_CONFIG: '' },
    timeout: 30_000,
  });
}

describe('gateway configuration', () => {
  it('applies defaults and resolves relative paths against the file', () => {
    writeFileSync(join(dir, 'users.digest'), '');
    writeFileSync(
      join(dir, 'gw.yaml'),
      'upstream: http://127.0.0.1:3000/app/\nauth:\n  digest:\n    file: users.digest\n',
    );
    const config = loadConfig(join(dir, 'gw.yaml'), {}, {});
    assert.equal(config.upstream.url, 'http://127.0.0.1:3000/app');
    assert.deepEqual(config.auth.mechanisms, ['digest']);
    assert.equal(config.auth.digest?.file, join(dir, 'users.digest'));
    assert.deepEqual(config.listen, { host: '127.0.0.1', port: 8080 });
    assert.equal(config.identity.userHeader, 'x-remote-user');
    assert.equal(config.identity.forwardAuthorization, false);
  });

  it('lets the environment and flags override the file, flags last', () => {
    writeFileSync(
      join(dir, 'gw.json'),
      JSON.stringify({ upstream: 'http://127.0.0.1:1', auth: { basic: { htpasswd: '/x' } } }),
    );
    const config = loadConfig(
      join(dir, 'gw.json'),
      { listen: '[::1]:9000' },
      {
        HTTPAUTH_GATEWAY_LISTEN: '127.0.0.1:7000',
        HTTPAUTH_GATEWAY_UPSTREAM: 'http://127.0.0.1:2',
      },
    );
    assert.deepEqual(config.listen, { host: '::1', port: 9000 });
    assert.equal(config.upstream.url, 'http://127.0.0.1:2');
  });

  it('reports every problem at once, with the setting path', () => {
    const found = problems(() =>
      validateConfig({
        upstream: 'ftp://x',
        auth: { mechanisms: ['digest', 'kerberos'], channelBinding: 'sometimes' },
        identity: { userHeader: 'bad header' },
        rules: [{ prefix: 'admin', public: true, groups: ['g'] }],
        bogus: 1,
      }),
    );
    const text = found.join('\n');
    for (const expected of [
      'unknown setting "bogus"',
      'upstream.url must be http: or https:',
      'auth.mechanisms',
      'auth.channelBinding',
      'identity.userHeader',
      'rules[0].prefix must start with /',
      'rules[0]: a public rule',
    ]) {
      assert.ok(text.includes(expected), `missing: ${expected}\n${text}`);
    }
  });

  it('requires an upstream and a mechanism', () => {
    const found = problems(() => validateConfig({}));
    assert.ok(found.some((p) => p.includes('upstream.url is required')));
    assert.ok(found.some((p) => p.includes('at least one of')));
  });

  it('fails clearly on files that do not parse', () => {
    writeFileSync(join(dir, 'broken.yaml'), 'upstream: [unclosed\n');
    const found = problems(() => loadConfig(join(dir, 'broken.yaml'), {}, {}));
    assert.match(found[0] ?? '', /broken\.yaml does not parse/);
    assert.match(
      problems(() => loadConfig(join(dir, 'missing.yaml'), {}, {}))[0] ?? '',
      /cannot read .*missing\.yaml: ENOENT/,
    );
  });

  it('CLI: --help documents every option and variable', () => {
    const result = runCli(['--help']);
    assert.equal(result.status, 0);
    for (const word of [
      '--config',
      '--listen',
      '--upstream',
      '--realm',
      '--log-level',
      '--ntlm-channel-binding',
      '--ntlm-target-names',
      'HTTPAUTH_GATEWAY_NTLM_CHANNEL_BINDING',
      'HTTPAUTH_GATEWAY_NTLM_TARGET_NAMES',
      'pathCase',
      'trustProxy',
      'targetNames',
      '--check',
      'HTTPAUTH_GATEWAY_CONFIG',
      'HTTPAUTH_GATEWAY_UPSTREAM',
      'authRequest',
      'sessions',
      'rules',
      'routes',
      'trustedProxies',
      'channelBindingCertificate',
      'store:',
      'sentinels',
      'passwordFile',
      'HTTPAUTH_GATEWAY_REDIS_URL',
      'HTTPAUTH_GATEWAY_REDIS_PASSWORD',
      'HTTPAUTH_GATEWAY_TRUSTED_PROXIES',
      'SIGHUP',
    ]) {
      assert.ok(result.stdout.includes(word), `--help lacks ${word}`);
    }
  });

  it('CLI: bad configuration gives a clear message and a non-zero exit', () => {
    writeFileSync(
      join(dir, 'bad.yaml'),
      'upstream: http://127.0.0.1:3000\nauth:\n  ntlm:\n    domain: EXAMPLE\n    smbpasswd: does-not-exist\n',
    );
    const result = runCli(['--config', join(dir, 'bad.yaml'), '--check']);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /auth\.ntlm: .*ENOENT|auth\.ntlm/);
    const unknown = runCli(['--frobnicate']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /Try --help/);
  });

  it('CLI: --check validates a good configuration and exits 0', () => {
    writeFileSync(join(dir, 'users.htdigest'), 'alice:r:0123456789abcdef0123456789abcdef\n');
    writeFileSync(
      join(dir, 'good.yaml'),
      'upstream: http://127.0.0.1:3000\nauth:\n  realm: r\n  digest:\n    htdigest: users.htdigest\n',
    );
    const result = runCli(['-c', join(dir, 'good.yaml'), '--check']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /configuration OK: .*mechanisms digest/);
  });

  it('CLI: --check lists the principals the keytab lets Negotiate accept, and fails an unusable keytab', () => {
    const keytab = (name: string, enctype: number, size: number) => {
      writeFileSync(
        join(dir, name),
        encodeKeytab([
          {
            realm: 'EXAMPLE.TEST',
            components: ['HTTP', 'web.example.test'],
            kvno: 3,
            key: makeKey(enctype, randomBytes(size)),
          },
        ]),
      );
    };
    keytab('aes.keytab', 18, 32);
    keytab('rc4.keytab', 23, 16);
    const config = (file: string, extra = '') => {
      writeFileSync(
        join(dir, `${file}.yaml`),
        `upstream: http://127.0.0.1:3000\nauth:\n  realm: r\n  negotiate:\n    kerberosOnly: true\n    keytab: ${file}\n${extra}`,
      );
      return runCli(['-c', join(dir, `${file}.yaml`), '--check']);
    };
    const every = config('aes.keytab');
    assert.equal(every.status, 0, every.stderr);
    assert.match(
      every.stdout,
      /negotiate keytab .*aes\.keytab: accepts HTTP\/web\.example\.test@EXAMPLE\.TEST\n {2}HTTP\/web\.example\.test@EXAMPLE\.TEST kvno 3: aes256-cts-hmac-sha1-96/,
    );
    // RC4 alone is no usable key unless allowRc4: --check fails instead of the first logon.
    const rc4 = config('rc4.keytab');
    assert.equal(rc4.status, 1, rc4.stdout);
    assert.match(
      rc4.stderr,
      /auth\.negotiate: .*rc4\.keytab has no key the gateway can use \(AES\)/,
    );
    // A configured principal the keytab lacks fails too, naming what the keytab holds.
    const other = config('aes.keytab', '    principals: [HTTP/other.example.test]\n');
    assert.equal(other.status, 1, other.stdout);
    assert.match(
      other.stderr,
      /HTTP\/other\.example\.test is not in the keytab \(it holds: HTTP\/web\.example\.test@EXAMPLE\.TEST\)/,
    );
  });

  describe('NTLM relay protection settings', () => {
    const base = (ntlm: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
      upstream: 'http://127.0.0.1:3000',
      auth: { ntlm: { smbpasswd: '/x', domain: 'EXAMPLE', ...ntlm }, ...extra },
    });
    const tls = { listen: { host: '127.0.0.1', port: 8443, tls: { cert: '/c', key: '/k' } } };

    it('requires channel bindings by default when the gateway terminates TLS', () => {
      assert.equal(validateConfig(base()).auth.ntlm?.channelBinding, 'allow');
      assert.equal(validateConfig({ ...base(), ...tls }).auth.ntlm?.channelBinding, 'require');
      // An explicit setting wins, at either level.
      assert.equal(
        validateConfig({ ...base({}, { channelBinding: 'allow' }), ...tls }).auth.ntlm
          ?.channelBinding,
        'allow',
      );
      assert.equal(
        validateConfig({ ...base({ channelBinding: 'none' }), ...tls }).auth.ntlm?.channelBinding,
        'none',
      );
    });

    it('takes target names and the mode from the file, the environment and flags', () => {
      const config = validateConfig(
        base({ targetNames: ['HTTP/gw.example.com'], channelBinding: 'allow' }),
      );
      assert.deepEqual(config.auth.ntlm?.targetNames, ['HTTP/gw.example.com']);
      writeFileSync(join(dir, 'ntlm.json'), JSON.stringify(base()));
      const fromEnv = loadConfig(
        join(dir, 'ntlm.json'),
        {},
        {
          HTTPAUTH_GATEWAY_NTLM_CHANNEL_BINDING: 'require',
          HTTPAUTH_GATEWAY_NTLM_TARGET_NAMES: 'HTTP/a.example.com, HTTP/b.example.com',
        },
      );
      assert.equal(fromEnv.auth.ntlm?.channelBinding, 'require');
      assert.deepEqual(fromEnv.auth.ntlm?.targetNames, [
        'HTTP/a.example.com',
        'HTTP/b.example.com',
      ]);
      const fromFlags = loadConfig(
        join(dir, 'ntlm.json'),
        { ntlmChannelBinding: 'none', ntlmTargetNames: 'HTTP/c' },
        { HTTPAUTH_GATEWAY_NTLM_CHANNEL_BINDING: 'require' },
      );
      assert.equal(fromFlags.auth.ntlm?.channelBinding, 'none');
      assert.deepEqual(fromFlags.auth.ntlm?.targetNames, ['HTTP/c']);
    });

    it('reports bad values', () => {
      const text = problems(() =>
        validateConfig(base({ channelBinding: 'sometimes', targetNames: 'HTTP/x' })),
      ).join('\n');
      assert.match(text, /auth\.ntlm\.channelBinding must be none, allow or require/);
      assert.match(text, /auth\.ntlm\.targetNames must be a list of strings/);
      assert.match(
        problems(() => validateConfig(base({ hostNames: 'gw' }))).join('\n'),
        /auth\.ntlm\.hostNames must be a list of strings/,
      );
      assert.match(
        problems(() => validateConfig(base({ hostNames: [] }))).join('\n'),
        /auth\.ntlm\.hostNames must list at least one host name/,
      );
      // A misspelt setting is reported, never silently ignored.
      assert.match(
        problems(() => validateConfig(base({ targetname: ['HTTP/x'] }))).join('\n'),
        /unknown setting "auth\.ntlm\.targetname"/,
      );
      assert.match(
        problems(() => validateConfig(base(), { ntlmTargetNames: ' , ' })).join('\n'),
        /targetNames must list at least one SPN/,
      );
    });

    it('warns at start-up when NTLM has neither required bindings nor target names', () => {
      assert.equal(ntlmWarnings(validateConfig(base())).length, 1);
      assert.equal(ntlmWarnings(validateConfig({ ...base(), ...tls })).length, 0);
      assert.equal(ntlmWarnings(validateConfig(base({ targetNames: ['HTTP/gw'] }))).length, 0);
      // Negotiate with the NTLM fallback counts; Kerberos only does not.
      const negotiate = (kerberosOnly: boolean) =>
        validateConfig({
          ...base(),
          auth: {
            mechanisms: ['negotiate'],
            negotiate: { kerberosOnly },
            ntlm: { smbpasswd: '/x', domain: 'EXAMPLE' },
          },
        });
      assert.equal(ntlmWarnings(negotiate(false)).length, 1);
      assert.equal(ntlmWarnings(negotiate(true)).length, 0);
    });
  });

  it('rules must be canonical paths; pathCase and trustProxy are validated', () => {
    const text = problems(() =>
      validateConfig({
        upstream: 'http://127.0.0.1:3000',
        auth: { basic: { htpasswd: '/x' } },
        rules: [{ prefix: '/a/../b' }, { prefix: '/%61dmin' }, { prefix: '/x;y' }],
        pathCase: 'upper',
        trustProxy: 'yes',
      }),
    ).join('\n');
    assert.match(text, /rules\[0\]\.prefix "\/a\/\.\.\/b" is not canonical \(use "\/b"\)/);
    assert.match(text, /rules\[1\]\.prefix "\/%61dmin" is not canonical \(use "\/admin"\)/);
    assert.match(text, /rules\[2\]\.prefix "\/x;y" is not a plain path/);
    assert.match(text, /pathCase must be insensitive or sensitive/);
    assert.match(text, /trustProxy must be true or false/);
    const config = validateConfig({
      upstream: 'http://127.0.0.1:3000',
      auth: { basic: { htpasswd: '/x' } },
    });
    assert.equal(config.pathCase, 'insensitive');
    assert.equal(config.trustProxy, false);
  });
});
