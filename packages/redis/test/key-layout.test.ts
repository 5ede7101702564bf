// Every key core writes through a RedisStore lands where redisKeyLayout() (src/keys.ts, derived from
// core's STORE_KEY_LAYOUT) says: the real writers (Kerberos replay cache, Digest nonce use,
// session revocation, the owner quota) run against one redis-server, then every key in Redis is
// matched against the documented Redis patterns.
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { AuthDecision } from '@httpauth/core';
import {
  createAuthenticator,
  decodeDigestChallenge,
  digest,
  digestClientResponse,
  encodeDigestCredentials,
  encodeKeytab,
  KerberosAcceptor,
  Keytab,
} from '@httpauth/core';
import { Redis } from 'ioredis';
import type { RedisServer } from '../../../test/harness/redis.js';
import { startRedis } from '../../../test/harness/redis.js';
import { forgeApReq, randomKey } from '../../core/test/fixtures/kerberos/forge.js';
import type { RedisKeyKind } from '../src/index.js';
import { DEFAULT_KEY_PREFIX, RedisStore, redisKeyLayout } from '../src/index.js';

let redis: RedisServer;
let admin: Redis;

before(async () => {
  redis = await startRedis();
  admin = new Redis({ host: redis.host, port: redis.port, lazyConnect: true });
  await admin.connect();
});
after(async () => {
  admin.disconnect();
  await redis.dispose();
});

/** A documented pattern as a regular expression: a `<placeholder>` is one or more characters. */
function patternRegExp(pattern: string): RegExp {
  const parts = pattern.split(/<[^>]+>/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.+')}$`);
}

/** Kerberos: one forged AP-REQ accepted by core's acceptor, which records it in the store. */
async function writeKerberosReplay(store: RedisStore): Promise<void> {
  const serviceKey = randomKey(18);
  const keytab = Keytab.parse(
    encodeKeytab([
      { realm: 'EXAMPLE.TEST', components: ['HTTP', 'localhost'], kvno: 2, key: serviceKey },
    ]),
  );
  const now = Date.now();
  const { token } = forgeApReq({
    serviceKey,
    kvno: 2,
    authtime: now - 60_000,
    endtime: now + 3_600_000,
    ctime: now - 1000,
  });
  await new KerberosAcceptor({ keytab }).accept(token, { store, now, channelBinding: undefined });
}

/** Digest with one-time nonces: one request writes both the nc and the once record. */
async function writeDigestRecords(store: RedisStore): Promise<void> {
  const realm = 'layout@example.org';
  const auth = createAuthenticator({
    packages: [digest({ realm, credentials: () => ({ password: 'pw' }), oneTimeNonces: true })],
    store,
  });
  const request = (authorization?: string): Promise<AuthDecision> =>
    auth.authenticate({
      method: 'GET',
      target: '/x',
      headers: { host: 'example.org', ...(authorization === undefined ? {} : { authorization }) },
      httpVersionMajor: 1,
      secure: false,
    });
  const offered = (await request()).headers.find(([name]) => name === 'www-authenticate');
  assert.ok(offered);
  const challenge = decodeDigestChallenge(offered[1]);
  const common = { username: 'alice', realm, uri: '/x', nonce: challenge.nonce, nc: '00000001' };
  const response = digestClientResponse({
    ...common,
    hash: 'SHA-256',
    session: false,
    password: 'pw',
    method: 'GET',
    qop: 'auth',
    cnonce: 'c1',
  });
  const credentials = encodeDigestCredentials({
    ...common,
    algorithm: challenge.algorithm,
    cnonce: 'c1',
    qop: 'auth',
    opaque: challenge.opaque,
    response,
  });
  assert.equal((await request(credentials)).type, 'authenticated');
}

async function writeSessionRevocation(store: RedisStore): Promise<void> {
  const auth = createAuthenticator({
    packages: [digest({ realm: 'r', credentials: () => undefined })],
    store,
    sessions: { keys: [{ id: 'a', secret: 'a'.repeat(32) }], revocable: true },
  });
  await auth.revokeSession(randomUUID());
}

describe('the Redis key layout', () => {
  for (const prefix of [DEFAULT_KEY_PREFIX, `layout-${randomUUID()}:`]) {
    it(`every key core writes lands under its documented Redis prefix (keyPrefix '${prefix}')`, async () => {
      await admin.flushall();
      const store = new RedisStore({ host: redis.host, port: redis.port, keyPrefix: prefix });
      await store.ready();
      try {
        await writeKerberosReplay(store);
        await writeDigestRecords(store);
        await writeSessionRevocation(store);
      } finally {
        await store.close();
      }

      const layout = redisKeyLayout(prefix);
      const kinds: [string, RedisKeyKind][] = Object.entries(layout);
      const seen = new Set<string>();
      const keys = await admin.keys('*');
      for (const key of keys) {
        const matching = kinds.filter(
          ([, kind]) =>
            key.startsWith(kind.redisPrefix) && patternRegExp(kind.redisPattern).test(key),
        );
        assert.equal(matching.length, 1, `${key}: ${matching.length} documented kinds`);
        seen.add((matching[0] as [string, RedisKeyKind])[0]);
      }
      // Each kind was written, the owner quota once per owner (a Kerberos and a Digest client).
      assert.deepEqual([...seen].sort(), Object.keys(layout).sort());
      const quota = keys.filter((key) => key.startsWith(layout.ownerQuota.redisPrefix));
      assert.equal(quota.length, 2);
      assert.ok(keys.every((key) => !key.includes('alice')));
    });
  }

  it('documents the Redis patterns of the default prefix', () => {
    const layout = redisKeyLayout();
    assert.equal(layout.kerberosReplay.redisPattern, 'httpauth:{httpauth:krb5rc:<sha256>}');
    assert.equal(layout.digestNonceCount.redisPattern, 'httpauth:digest:{<nonce>}:nc:<user tag>');
    assert.equal(layout.digestNonceOnce.redisPrefix, 'httpauth:digest:{');
    assert.equal(layout.sessionRevoked.redisPrefix, 'httpauth:{session:revoked:');
    assert.equal(layout.ownerQuota.redisPrefix, 'httpauth:{owner-quota:');
    assert.equal(layout.epoch.redisPattern, 'httpauth:{httpauth-epoch}');
  });
});
