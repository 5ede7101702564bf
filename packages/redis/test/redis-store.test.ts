// RedisStore against one real redis-server on loopback: the shared store contract, then what is
// particular to Redis (key layout, TTLs on the server, scripts after SCRIPT FLUSH, construction),
// then the layout of every key core writes.
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { AuthDecision } from '@httpauth/core';
import {
  HttpAuthError,
  KerberosAcceptor,
  Keytab,
  createAuthenticator,
  digest,
} from '@httpauth/core';
import {
  decodeDigestChallenge,
  digestClientResponse,
  encodeDigestCredentials,
  encodeKeytab,
} from '@httpauth/core/wire';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import type { RedisServer } from '../../../test/harness/redis.js';
import { startRedis } from '../../../test/harness/redis.js';
import { getRequest } from '../../core/test/fixtures/http-request.js';
import { forgeCurrentApReq, randomKey } from '../../core/test/fixtures/kerberos/forge.js';
import type { RedisKeyKind } from '../src/index.js';
import { DEFAULT_KEY_PREFIX, RedisStore, redisKeyLayout } from '../src/index.js';
import { storeContract } from './store-contract.js';
import { authRequest } from '../../../test/support/auth-request.js';

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

storeContract('RedisStore (standalone redis-server)', async () => {
  const store = new RedisStore({ host: redis.host, port: redis.port });
  await store.ready();
  return { store, dispose: () => store.close() };
});

storeContract('RedisStore over a caller-made ioredis client', async () => {
  const client = new Redis({ host: redis.host, port: redis.port, enableOfflineQueue: false });
  const store = new RedisStore(client, { keyPrefix: 'other-app:' });
  await store.ready();
  return {
    store,
    dispose: async () => {
      await store.close();
      // The store leaves a client it was given open: the caller still owns it.
      assert.equal(client.status, 'ready');
      client.disconnect();
    },
  };
});

describe('RedisStore on Redis', () => {
  let store: RedisStore;
  const warnings: string[] = [];
  before(async () => {
    store = new RedisStore({ url: redis.url, warn: (message) => warnings.push(message) });
    await store.ready();
  });
  after(async () => {
    await store.close();
  });

  it('keeps keys under the prefix, hash-tagged, with the TTL on the server', async () => {
    const id = randomUUID();
    assert.equal(await store.add(`httpauth:krb5rc:${id}`, 'x', 60_000), true);
    const ttl = await admin.pttl(`httpauth:{httpauth:krb5rc:${id}}`);
    assert.ok(ttl > 0 && ttl <= 60_000, `pttl ${ttl}`);
    assert.equal(await admin.get(`httpauth:{httpauth:krb5rc:${id}}`), 'x');
  });

  it('keeps a caller-chosen hash tag so keys about one nonce share a slot', async () => {
    const nonce = randomUUID();
    await store.advance(`digest:{${nonce}}:nc`, 3, 60_000);
    await store.add(`digest:{${nonce}}:seen`, '1', 60_000);
    assert.equal(await admin.get(`httpauth:digest:{${nonce}}:nc`), '3');
    assert.equal(await admin.get(`httpauth:digest:{${nonce}}:seen`), '1');
  });

  it('keeps Digest nonce counts per user: another account cannot burn a nonce', async () => {
    // RFC 7616 nc counts over the shared store: user B burning A's nonce with nc=ffffffff must
    // leave A's nc=1 fresh on every node, so the Lua advance must act on the per-user key.
    const realm = 'redis@example.org';
    const users: Record<string, string> = { alice: 'alice pw', bob: 'bob pw' };
    const auth = createAuthenticator({
      packages: [
        digest({
          realm,
          credentials: (user) =>
            Object.hasOwn(users, user) ? { password: users[user] as string } : undefined,
        }),
      ],
      store,
    });
    const toX = { target: '/x', headers: { host: 'example.org' } };
    const request = (authorization?: string) => auth.authenticate(authRequest(authorization, toX));
    const first = await request();
    const offered = first.headers.find(([name]) => name === 'www-authenticate');
    assert.ok(offered);
    const challenge = decodeDigestChallenge(offered[1]);
    const answer = (username: string, nc: string) =>
      encodeDigestCredentials({
        username,
        realm,
        uri: '/x',
        algorithm: challenge.algorithm,
        nonce: challenge.nonce,
        nc,
        cnonce: 'c' + nc,
        qop: 'auth',
        opaque: challenge.opaque,
        response: digestClientResponse({
          hash: 'SHA-256',
          session: false,
          username,
          realm,
          password: users[username] as string,
          method: 'GET',
          uri: '/x',
          nonce: challenge.nonce,
          qop: 'auth',
          nc,
          cnonce: 'c' + nc,
        }),
      });
    assert.equal(challenge.algorithm, 'SHA-256');
    assert.equal((await request(answer('bob', 'ffffffff'))).type, 'authenticated');
    assert.equal((await request(answer('alice', '00000001'))).type, 'authenticated');
    const replay = await request(answer('alice', '00000001'));
    assert.equal(replay.type === 'respond' && replay.error.code, 'ERR_HTTPAUTH_DIGEST_NC_REPLAY');
    const counts = await admin.keys(`httpauth:digest:{${challenge.nonce}}:nc:*`);
    assert.equal(counts.length, 2);
    assert.deepEqual((await Promise.all(counts.map((key) => admin.get(key)))).sort(), [
      '1',
      String(0xffffffff),
    ]);
  });

  it('caps the new entries of one owner, so one client cannot exhaust the shared store', async () => {
    const capped = new RedisStore({
      url: redis.url,
      keyPrefix: `quota-${randomUUID()}:`,
      ownerQuota: { maxNewEntries: 3, windowMs: 60_000 },
    });
    await capped.ready();
    try {
      const owner = `krb5:mallory-${randomUUID()}@EXAMPLE.TEST`;
      const quota = (error: unknown) =>
        error instanceof HttpAuthError && error.code === 'ERR_HTTPAUTH_STORE_QUOTA';
      assert.equal(await capped.add('replay:1', '1', 60_000, owner), true);
      assert.equal(await capped.advance('digest:{n1}:nc:t', 1, 60_000, owner), true);
      assert.equal(await capped.compareAndSet('cas:1', undefined, 'v', 60_000, owner), true);
      // Raising an existing counter and detecting a replay are not new entries.
      assert.equal(await capped.advance('digest:{n1}:nc:t', 2, 60_000, owner), true);
      assert.equal(await capped.add('replay:1', '1', 60_000, owner), false);
      await assert.rejects(capped.add('replay:2', '1', 60_000, owner), quota);
      await assert.rejects(capped.advance('digest:{n2}:nc:t', 1, 60_000, owner), quota);
      await assert.rejects(capped.compareAndSet('cas:2', undefined, 'v', 60_000, owner), quota);
      // The refused entries were not left behind, and the store is still up for everybody else.
      assert.equal(await capped.get('replay:2'), undefined);
      assert.equal(await capped.get('digest:{n2}:nc:t'), undefined);
      assert.equal(capped.available, true);
      assert.equal(await capped.add('replay:3', '1', 60_000, 'krb5:alice@EXAMPLE.TEST'), true);
      assert.equal(await capped.add('replay:4', '1', 60_000), true);
      // Only a hash of the owner is stored.
      const counters = await admin.keys('quota-*owner-quota:*');
      assert.ok(counters.length >= 1);
      assert.ok(counters.every((key) => !key.includes('mallory')));
    } finally {
      await capped.close();
    }
  });

  it('a custom prefix separates two applications on one Redis', async () => {
    const other = new RedisStore({ host: redis.host, port: redis.port, keyPrefix: 'app2:' });
    await other.ready();
    try {
      const k = `shared-name:${randomUUID()}`;
      assert.equal(await store.add(k, 'one', 60_000), true);
      assert.equal(await other.add(k, 'two', 60_000), true);
      assert.equal(await store.get(k), 'one');
      assert.equal(await other.get(k), 'two');
      assert.equal(await admin.get(`app2:{${k}}`), 'two');
    } finally {
      await other.close();
    }
  });

  it('scripts still run after the server forgot them (SCRIPT FLUSH: NOSCRIPT, then EVAL)', async () => {
    const k = `nc:${randomUUID()}`;
    assert.equal(await store.advance(k, 1, 60_000), true);
    await admin.script('FLUSH');
    assert.equal(await store.advance(k, 2, 60_000), true);
    assert.equal(await store.advance(k, 2, 60_000), false);
    await admin.script('FLUSH');
    assert.equal(await store.compareAndSet(k, '2', '5', 60_000), true);
    assert.equal(await admin.get(`httpauth:{${k}}`), '5');
  });

  it('refuses to advance a counter that holds no number (fail closed)', async () => {
    const k = `nc:${randomUUID()}`;
    await store.add(k, 'not-a-number', 60_000);
    assert.equal(await store.advance(k, 1, 60_000), false);
    assert.equal(await store.get(k), 'not-a-number');
  });

  it('answers a wrongly typed key with ERR_HTTPAUTH_STORE_UNAVAILABLE, never a success', async () => {
    const k = `wrongtype:${randomUUID()}`;
    await admin.hset(`httpauth:{${k}}`, 'field', 'value');
    await assert.rejects(store.get(k), (error: Error) => {
      assert.ok(error instanceof HttpAuthError);
      assert.equal(error.code, 'ERR_HTTPAUTH_STORE_UNAVAILABLE');
      // The cause names a reason, never the key or the command arguments.
      assert.ok(!String((error.cause as Error).message).includes(k));
      return true;
    });
    // One bad key is not an outage.
    assert.equal(store.available, true);
    assert.deepEqual(warnings, []);
    await store.delete(k);
  });

  it('rejects invalid arguments with HttpAuthError only', async () => {
    await assert.rejects(store.advance('k', 1.5, 1000), HttpAuthError);
    await assert.rejects(store.advance('k', Number.NaN, 1000), HttpAuthError);
    await assert.rejects(store.add('k', 'v', Number.NaN), HttpAuthError);
    assert.throws(
      () => new RedisStore({ keyPrefix: 'a{b}:', host: redis.host, port: redis.port }),
      HttpAuthError,
    );
    assert.throws(() => new RedisStore({ commandTimeoutMs: 0 }), HttpAuthError);
    assert.throws(() => new RedisStore({ cluster: [] }), HttpAuthError);
  });

  it('on random keys, values, TTLs and counters it only ever throws HttpAuthError', async () => {
    const anyNumber = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, -1, 2 ** 53, 1e300));
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 300 }),
        fc.string({ maxLength: 300 }),
        anyNumber,
        anyNumber,
        async (key, value, ttl, count) => {
          for (const operation of [
            () => store.add(key, value, ttl),
            () => store.get(key),
            () => store.compareAndSet(key, value, value, ttl),
            () => store.compareAndSet(key, undefined, value, ttl),
            () => store.advance(key, count, ttl),
            () => store.delete(key),
          ]) {
            try {
              await operation();
            } catch (error) {
              assert.ok(error instanceof HttpAuthError, String(error));
            }
          }
        },
      ),
      { numRuns: 200 },
    );
    assert.equal(store.available, true);
  });
});

// Every key core writes through a RedisStore lands where redisKeyLayout() (src/keys.ts, derived
// from core's STORE_KEY_LAYOUT) says: the real writers (Kerberos replay cache, Digest nonce use,
// session revocation, the owner quota) run, then every key in Redis is matched against the
// documented Redis patterns.
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
  const token = forgeCurrentApReq(serviceKey, now);
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
    auth.authenticate(getRequest(authorization));
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
