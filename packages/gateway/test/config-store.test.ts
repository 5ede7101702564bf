/**
 * `store.redis`: exactly one of url, sentinels (+ name), cluster; no password inline in the file
 * (passwordFile or HTTPAUTH_GATEWAY_REDIS_PASSWORD); several instances must share the Digest
 * nonce key; HTTPAUTH_GATEWAY_REDIS_URL replaces the file's address.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { GatewayConfigError, loadConfig, validateConfig } from '../src/config.js';

const base = { upstream: 'http://127.0.0.1:1', auth: { basic: { htpasswd: '/x' } } };

function problems(document: object, overrides = {}): string {
  try {
    validateConfig(document, overrides, '/etc/gw');
  } catch (error) {
    assert.ok(error instanceof GatewayConfigError);
    return error.problems.join('\n');
  }
  return '';
}

describe('store configuration', () => {
  it('standalone, Sentinel and Cluster; defaults fail closed', () => {
    const url = validateConfig({
      ...base,
      store: { redis: { url: 'redis://r:6379/2', passwordFile: 'pw' } },
    });
    assert.deepEqual(url.store?.redis, {
      url: 'redis://r:6379/2',
      passwordFile: `${process.cwd()}/pw`,
      tls: false,
      keyPrefix: 'httpauth:',
      commandTimeoutMs: 500,
      fallback: 'none',
    });
    const sentinel = validateConfig({
      ...base,
      store: { redis: { sentinels: [{ host: 's1', port: 26379 }], name: 'mymaster' } },
    });
    assert.equal(sentinel.store?.redis.name, 'mymaster');
    const cluster = validateConfig({
      ...base,
      store: { redis: { cluster: [{ host: 'c1', port: 7000 }], tls: true } },
    });
    assert.deepEqual(cluster.store?.redis.cluster, [{ host: 'c1', port: 7000 }]);
    assert.equal(
      validateConfig({ ...base, store: { redis: { url: 'rediss://r' } } }).store?.redis.tls,
      true,
    );
  });

  it('refuses a password inline, two addresses, sentinels without a name', () => {
    assert.match(
      problems({ ...base, store: { redis: { url: 'redis://:hunter2@r:6379' } } }),
      /store\.redis\.url must not carry a password/,
    );
    assert.match(
      problems({
        ...base,
        store: { redis: { url: 'redis://r', cluster: [{ host: 'c', port: 1 }] } },
      }),
      /needs exactly one of url, sentinels \(with name\), cluster/,
    );
    assert.match(problems({ ...base, store: { redis: {} } }), /needs exactly one of/);
    assert.match(
      problems({ ...base, store: { redis: { sentinels: [{ host: 's', port: 1 }] } } }),
      /store\.redis\.name .* is required with sentinels/,
    );
    assert.match(
      problems({ ...base, store: { redis: { url: 'http://r' } } }),
      /must be a redis:\/\/ or rediss:\/\/ URL/,
    );
  });

  it('several instances must share the Digest nonce key', () => {
    const digest = { realm: 'r', digest: { file: '/d' } };
    assert.match(
      problems({ ...base, auth: digest, store: { redis: { url: 'redis://r' } } }),
      /auth\.digest\.nonceKeyFile is required with store/,
    );
    assert.equal(
      problems({
        ...base,
        auth: { ...digest, digest: { file: '/d', nonceKeyFile: '/k' } },
        store: { redis: { url: 'redis://r' } },
      }),
      '',
    );
  });

  it('the environment gives the URL (with its password) and the password', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gw-store-')), 'gateway.json');
    writeFileSync(file, JSON.stringify(base));
    const config = loadConfig(file, {}, {
      HTTPAUTH_GATEWAY_REDIS_URL: 'redis://:s3cret@r:6380',
    } as NodeJS.ProcessEnv);
    assert.equal(config.store?.redis.url, 'redis://:s3cret@r:6380', 'the URL alone makes a store');
    const withStore = validateConfig(
      { ...base, store: { redis: { cluster: [{ host: 'c', port: 1 }] } } },
      { redisUrl: 'redis://:s3cret@r:6380', redisPassword: 'pw' },
    );
    assert.equal(withStore.store?.redis.url, 'redis://:s3cret@r:6380');
    assert.equal(withStore.store?.redis.cluster, undefined);
    assert.equal(withStore.store?.redis.password, 'pw');
    assert.match(
      problems(
        { ...base, store: { redis: { url: 'redis://r', passwordFile: '/p' } } },
        { redisPassword: 'pw' },
      ),
      /give the password once/,
    );
  });
});
