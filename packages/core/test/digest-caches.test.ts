// The per-request shortcuts of the Digest package (issue 16, third pass): the principal made once
// per user, H(A2) per hash/method/uri, the digests compared in one scratch buffer, a credential
// callback answered without a promise. Each must give what the full computation gives, never one
// user's or one resource's value for another, and leave every check in place: a replayed nc, an
// expired nonce, a wrong response and a failing source are still refused with their own codes.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { A2Cache } from '../src/digest/a2-cache.js';
import { decodeChallenge } from '../src/digest/challenge.js';
import { clientResponse, computeHa2 } from '../src/digest/compute.js';
import { encodeCredentials } from '../src/digest/credentials.js';
import { digest } from '../src/digest/digest.js';
import type { DigestCredentialCallback } from '../src/digest/sources.js';
import { digestsEqual } from '../src/digest/verify.js';
import { HttpAuthError } from '../src/errors.js';
import type { AuthDecision } from '../src/loop/authenticator.js';
import { createAuthenticator } from '../src/loop/authenticator.js';
import { MemoryStore } from '../src/store/memory.js';

const REALM = 'caches@example.org';
const PASSWORDS: Record<string, string> = { alice: 'Wonderland1', bob: 'Builder2' };

function harness(credentials: DigestCredentialCallback = (user) => passwordOf(user)) {
  let clock = 1_800_000_000_000;
  const now = () => clock;
  const auth = createAuthenticator({
    packages: [digest({ realm: REALM, algorithms: ['SHA-256'], credentials })],
    store: new MemoryStore({ now }),
    now,
  });
  const send = (authorization?: string, method = 'GET', target = '/api') =>
    auth.authenticate({
      method,
      target,
      headers: { host: 'example.org', ...(authorization === undefined ? {} : { authorization }) },
      httpVersionMajor: 1,
      secure: false,
    });
  return {
    send,
    tick: (ms: number) => (clock += ms),
    async challenge() {
      const decision = await send();
      const value = decision.headers.find(([name]) => name === 'www-authenticate')?.[1];
      assert.ok(value !== undefined);
      return decodeChallenge(value);
    },
  };
}

function passwordOf(user: string): { password: string } | undefined {
  return Object.hasOwn(PASSWORDS, user) ? { password: PASSWORDS[user] as string } : undefined;
}

interface Sent {
  readonly nonce: string;
  readonly opaque: string | undefined;
  readonly user: string;
  readonly nc: number;
  readonly method?: string;
  readonly uri?: string;
  readonly password?: string;
}

/** What a user agent sends (RFC 7616 §3.4.1), computed with the client-side helpers. */
function answer(sent: Sent): string {
  const nc = sent.nc.toString(16).padStart(8, '0');
  const cnonce = `cnonce-${sent.user}`;
  const uri = sent.uri ?? '/api';
  return encodeCredentials({
    username: sent.user,
    realm: REALM,
    uri,
    algorithm: 'SHA-256',
    nonce: sent.nonce,
    nc,
    cnonce,
    qop: 'auth',
    opaque: sent.opaque,
    response: clientResponse({
      hash: 'SHA-256',
      username: sent.user,
      realm: REALM,
      password: sent.password ?? (PASSWORDS[sent.user] as string),
      method: sent.method ?? 'GET',
      uri,
      nonce: sent.nonce,
      qop: 'auth',
      nc,
      cnonce,
    }),
  });
}

function authenticated(decision: AuthDecision) {
  assert.equal(decision.type, 'authenticated', JSON.stringify(decision));
  assert.ok(decision.type === 'authenticated');
  return decision;
}

function refusedWith(decision: AuthDecision, code: string): void {
  assert.equal(decision.type, 'respond');
  assert.ok(decision.type === 'respond');
  assert.equal(decision.error.code, code);
}

describe('Digest per-user principal', () => {
  it('gives each user its own frozen principal, the same object on every request', async () => {
    const h = harness();
    const { nonce, opaque } = await h.challenge();
    const alice1 = authenticated(await h.send(answer({ nonce, opaque, user: 'alice', nc: 1 })));
    // bob on alice's nonce, between two of alice's requests: his own principal, his own count.
    const bob = authenticated(await h.send(answer({ nonce, opaque, user: 'bob', nc: 1 })));
    const alice2 = authenticated(await h.send(answer({ nonce, opaque, user: 'alice', nc: 2 })));
    assert.deepEqual(alice1.auth.principal, {
      name: 'alice',
      user: 'alice',
      realm: REALM,
      mechanism: 'Digest',
    });
    assert.equal(bob.auth.principal.name, 'bob');
    assert.equal(bob.auth.principal.user, 'bob');
    assert.equal(alice2.auth.principal, alice1.auth.principal);
    assert.notEqual(bob.auth.principal, alice1.auth.principal);
    assert.ok(Object.isFrozen(alice1.auth.principal));
    assert.throws(() => {
      (alice1.auth.principal as { name: string }).name = 'bob';
    }, TypeError);
  });

  it('still refuses a replayed nc, a wrong password and an expired nonce', async () => {
    const h = harness();
    const { nonce, opaque } = await h.challenge();
    authenticated(await h.send(answer({ nonce, opaque, user: 'alice', nc: 1 })));
    authenticated(await h.send(answer({ nonce, opaque, user: 'alice', nc: 2 })));
    refusedWith(
      await h.send(answer({ nonce, opaque, user: 'alice', nc: 2 })),
      'ERR_HTTPAUTH_DIGEST_NC_REPLAY',
    );
    refusedWith(
      await h.send(answer({ nonce, opaque, user: 'alice', nc: 1 })),
      'ERR_HTTPAUTH_DIGEST_NC_REPLAY',
    );
    refusedWith(
      await h.send(answer({ nonce, opaque, user: 'alice', nc: 3, password: 'wrong' })),
      'ERR_HTTPAUTH_BAD_CREDENTIALS',
    );
    h.tick(24 * 3600 * 1000);
    const stale = await h.send(answer({ nonce, opaque, user: 'alice', nc: 4 }));
    refusedWith(stale, 'ERR_HTTPAUTH_DIGEST_NONCE_STALE');
    assert.match(stale.headers[0]?.[1] ?? '', /stale=true/);
  });

  it('sends Authentication-Info with the rspauth of the request (RFC 7616 §3.5)', async () => {
    const h = harness();
    const { nonce, opaque } = await h.challenge();
    const decision = authenticated(await h.send(answer({ nonce, opaque, user: 'bob', nc: 7 })));
    const rspauth = clientResponse({
      hash: 'SHA-256',
      username: 'bob',
      realm: REALM,
      password: PASSWORDS.bob as string,
      method: '',
      uri: '/api',
      nonce,
      qop: 'auth',
      nc: '00000007',
      cnonce: 'cnonce-bob',
    });
    assert.deepEqual(decision.headers, [
      ['authentication-info', `qop=auth, rspauth="${rspauth}", cnonce="cnonce-bob", nc=00000007`],
    ]);
  });
});

describe('Digest H(A2) cache', () => {
  it('keeps methods, uris and hashes apart, also once it was cleared when full', () => {
    const cache = new A2Cache();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 1200; i++) {
        const uri = `/r/${i}`;
        const method = i % 2 === 0 ? 'GET' : 'POST';
        const hash = i % 3 === 0 ? 'MD5' : 'SHA-256';
        const found = cache.get(hash, method, uri);
        assert.equal(found.request, computeHa2(hash, method, uri));
        assert.equal(found.rspauth, computeHa2(hash, '', uri));
      }
    }
    assert.notEqual(
      cache.get('SHA-256', 'GET', '/x').request,
      cache.get('SHA-256', 'PUT', '/x').request,
    );
  });

  it('authenticates a POST after a GET to the same uri with its own H(A2)', async () => {
    const h = harness();
    const { nonce, opaque } = await h.challenge();
    authenticated(await h.send(answer({ nonce, opaque, user: 'alice', nc: 1 })));
    // A response computed for GET is not accepted for POST.
    refusedWith(
      await h.send(answer({ nonce, opaque, user: 'alice', nc: 2 }), 'POST'),
      'ERR_HTTPAUTH_BAD_CREDENTIALS',
    );
    authenticated(
      await h.send(answer({ nonce, opaque, user: 'alice', nc: 3, method: 'POST' }), 'POST'),
    );
  });
});

describe('digestsEqual in the scratch buffer', () => {
  it('compares whole digests of every length, leaving nothing from a previous comparison', () => {
    const long = 'a'.repeat(64);
    const short = 'a'.repeat(32);
    assert.equal(digestsEqual(long, long), true);
    // The 32-digit views overlap the 64-digit ones: the tail of the previous write must not matter.
    assert.equal(digestsEqual(short, short), true);
    assert.equal(digestsEqual(short, 'a'.repeat(31) + 'b'), false);
    assert.equal(digestsEqual(long, 'b' + 'a'.repeat(63)), false);
    assert.equal(digestsEqual(long, short), false);
    assert.equal(digestsEqual(short, long), false);
    assert.equal(digestsEqual('', ''), true);
    // Longer than the scratch buffer: compared as before.
    assert.equal(digestsEqual('c'.repeat(128), 'c'.repeat(128)), true);
    assert.equal(digestsEqual('c'.repeat(128), 'c'.repeat(127) + 'd'), false);
  });
});

describe('Digest credential callbacks', () => {
  it('answers a synchronous callback, and refuses its failures with a stable code', async () => {
    for (const credentials of [
      ((user) => passwordOf(user)) as DigestCredentialCallback,
      (async (user) => passwordOf(user)) as DigestCredentialCallback,
    ]) {
      const h = harness(credentials);
      const { nonce, opaque } = await h.challenge();
      authenticated(await h.send(answer({ nonce, opaque, user: 'alice', nc: 1 })));
      refusedWith(
        await h.send(answer({ nonce, opaque, user: 'carol', nc: 1, password: 'x' })),
        'ERR_HTTPAUTH_BAD_CREDENTIALS',
      );
    }
    const failures: DigestCredentialCallback[] = [
      () => {
        throw new Error('database down');
      },
      () => Promise.reject(new Error('database down')),
      () => ({ ha1: 'not hex' }),
      async () => ({ ha1: 'not hex' }),
    ];
    for (const credentials of failures) {
      const h = harness(credentials);
      const { nonce, opaque } = await h.challenge();
      const decision = await h.send(answer({ nonce, opaque, user: 'alice', nc: 1 }));
      assert.equal(decision.type, 'respond');
      assert.ok(decision.type === 'respond');
      assert.equal(decision.error.code, 'ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED');
      assert.ok(decision.status >= 500);
    }
    // An HttpAuthError from the callback keeps its own code.
    const h = harness(() => {
      throw new HttpAuthError('ERR_HTTPAUTH_STORE_UNAVAILABLE');
    });
    const { nonce, opaque } = await h.challenge();
    const decision = await h.send(answer({ nonce, opaque, user: 'alice', nc: 1 }));
    assert.ok(decision.type === 'respond');
    assert.equal(decision.error.code, 'ERR_HTTPAUTH_STORE_UNAVAILABLE');
  });
});
