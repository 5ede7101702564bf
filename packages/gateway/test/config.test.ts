import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GatewayConfigError, loadConfig, validateConfig } from '../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'httpauth-gw-config-'));
const cli = fileURLToPath(new URL('../src/cli-entry.ts', import.meta.url));

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof GatewayConfigError, String(error));
    return [...error.problems];
  }
  assert.fail('expected a GatewayConfigError');
}

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
      '--check',
      'HTTPAUTH_GATEWAY_CONFIG',
      'HTTPAUTH_GATEWAY_UPSTREAM',
      'authRequest',
      'sessions',
      'rules',
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
});
