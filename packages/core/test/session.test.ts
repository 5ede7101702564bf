import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HttpAuthError } from '../src/errors.js';
import { authenticateNow, createAuthenticator } from '../src/loop/authenticator.js';
import { isPromiseLike } from '../src/loop/decision.js';
import type { AuthDecision } from '../src/loop/authenticator.js';
import type { AuthRequest, SecurityPackage } from '../src/security-package.js';
import { SessionCookies } from '../src/session/session-cookie.js';

const keyA = { id: 'a', secret: 'a'.repeat(32) };
const keyB = { id: 'b', secret: Buffer.alloc(32, 7) };

/** One leg: `Test <name>` authenticates <name>, with an optional expiry `Test <name> <expiresAtMs>`. */
function testPackage(): SecurityPackage & { calls: number } {
  const pkg = {
    name: 'Test',
    scheme: 'Test',
    connectionBound: false,
    calls: 0,
    challenges: () => ['Test'],
    async accept(credentials: { params?: ReadonlyMap<string, string> }) {
      pkg.calls++;
      const user = credentials.params?.get('user');
      const expires = credentials.params?.get('expires');
      if (user === undefined)
        return {
          type: 'reject' as const,
          error: new HttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS'),
        };
      return {
        type: 'complete' as const,
        principal: {
          name: `${user}@EXAMPLE.TEST`,
          user,
          realm: 'EXAMPLE.TEST',
          mechanism: 'Kerberos' as const,
          groupSids: ['S-1-5-21-1-2-3-513'],
          ...(expires === undefined ? {} : { expiresAt: new Date(Number(expires)) }),
        },
      };
    },
  };
  return pkg;
}

function req(headers: Record<string, string>, secure = false): AuthRequest {
  return { method: 'GET', target: '/', headers, httpVersionMajor: 1, secure };
}

function cookieOf(decision: AuthDecision): string | undefined {
  const header = decision.headers.find(([name]) => name === 'set-cookie')?.[1];
  return header?.split(';')[0];
}

describe('authentication sessions', () => {
  it('issue a cookie on success that later requests use instead of a handshake', async () => {
    let now = 1_000_000;
    const pkg = testPackage();
    const auth = createAuthenticator({
      packages: [pkg],
      sessions: { keys: [keyA] },
      now: () => now,
    });
    const first = await auth.authenticate(req({ authorization: 'Test user=alice' }, true));
    assert.equal(first.type, 'authenticated');
    const setCookie = first.headers.find(([n]) => n === 'set-cookie')?.[1] ?? '';
    assert.match(
      setCookie,
      /^__Host-httpauth_session=[A-Za-z0-9_-]+; Max-Age=3600; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    );
    now += 60_000;
    const second = await auth.authenticate(req({ cookie: `other=1; ${cookieOf(first)}` }, true));
    assert.equal(second.type, 'authenticated');
    assert.equal(pkg.calls, 1);
    if (second.type === 'authenticated' && first.type === 'authenticated') {
      assert.equal(second.auth.principal.name, 'alice@EXAMPLE.TEST');
      assert.deepEqual(second.auth.principal.groupSids, ['S-1-5-21-1-2-3-513']);
      assert.equal(second.auth.session?.reused, true);
      assert.equal(second.auth.session?.id, first.auth.session?.id);
    }
  });

  it('omit Secure over plain HTTP', async () => {
    const auth = createAuthenticator({ packages: [testPackage()], sessions: { keys: [keyA] } });
    const first = await auth.authenticate(req({ authorization: 'Test user=alice' }));
    assert.doesNotMatch(first.headers.find(([n]) => n === 'set-cookie')?.[1] ?? '', /Secure/);
  });

  it('never outlive the principal (Kerberos ticket end time)', async () => {
    let now = 1_000_000;
    const auth = createAuthenticator({
      packages: [testPackage()],
      sessions: { keys: [keyA] },
      now: () => now,
    });
    const first = await auth.authenticate(
      req({ authorization: `Test user=alice, expires=${now + 120_000}` }),
    );
    assert.match(first.headers.find(([n]) => n === 'set-cookie')?.[1] ?? '', /Max-Age=120;/);
    now += 119_000;
    assert.equal(
      (await auth.authenticate(req({ cookie: cookieOf(first)! }))).type,
      'authenticated',
    );
    now += 1_000;
    const expired = await auth.authenticate(req({ cookie: cookieOf(first)! }));
    assert.equal(expired.type, 'respond');
    if (expired.type === 'respond') assert.equal(expired.status, 401);
    assert.match(expired.headers.find(([n]) => n === 'set-cookie')?.[1] ?? '', /Max-Age=0/);
  });

  it('fall back to a challenge for tampered or foreign cookies', async () => {
    const auth = createAuthenticator({ packages: [testPackage()], sessions: { keys: [keyA] } });
    const first = await auth.authenticate(req({ authorization: 'Test user=alice' }));
    const cookie = cookieOf(first)!;
    const [name, value] = cookie.split('=') as [string, string];
    const raw = Buffer.from(value, 'base64url');
    for (let i = 0; i < raw.length; i += 7) {
      const copy = Buffer.from(raw);
      copy[i] = (copy[i] as number) ^ 1;
      const decision = await auth.authenticate(
        req({ cookie: `${name}=${copy.toString('base64url')}` }),
      );
      assert.equal(decision.type, 'respond', `bit flip at ${i} accepted`);
    }
    const foreign = createAuthenticator({ packages: [testPackage()], sessions: { keys: [keyB] } });
    assert.equal((await foreign.authenticate(req({ cookie }))).type, 'respond');
    const renamed = createAuthenticator({
      packages: [testPackage()],
      sessions: { keys: [keyA], cookieName: 'other' },
    });
    assert.equal((await renamed.authenticate(req({ cookie: `other=${value}` }))).type, 'respond');
  });

  it('rotate keys: the new key seals, old keys still open', async () => {
    const old = createAuthenticator({ packages: [testPackage()], sessions: { keys: [keyA] } });
    const issuedOld = cookieOf(await old.authenticate(req({ authorization: 'Test user=alice' })))!;
    const rotated = createAuthenticator({
      packages: [testPackage()],
      sessions: { keys: [keyB, keyA] },
    });
    assert.equal((await rotated.authenticate(req({ cookie: issuedOld }))).type, 'authenticated');
    const issuedNew = cookieOf(
      await rotated.authenticate(req({ authorization: 'Test user=bob' })),
    )!;
    assert.equal((await old.authenticate(req({ cookie: issuedNew }))).type, 'respond');
    const retired = createAuthenticator({ packages: [testPackage()], sessions: { keys: [keyB] } });
    assert.equal((await retired.authenticate(req({ cookie: issuedOld }))).type, 'respond');
    assert.equal((await retired.authenticate(req({ cookie: issuedNew }))).type, 'authenticated');
  });

  it('can be revoked through the store', async () => {
    const auth = createAuthenticator({
      packages: [testPackage()],
      sessions: { keys: [keyA], revocable: true },
    });
    const first = await auth.authenticate(req({ authorization: 'Test user=alice' }));
    assert.equal(first.type, 'authenticated');
    if (first.type !== 'authenticated') return;
    assert.equal(
      (await auth.authenticate(req({ cookie: cookieOf(first)! }))).type,
      'authenticated',
    );
    await auth.revokeSession(first.auth.session!.id);
    assert.equal((await auth.authenticate(req({ cookie: cookieOf(first)! }))).type, 'respond');
  });

  it('a valid cookie is decided without a promise (authenticateNow), expiry and revocation still checked', async () => {
    let now = 1_000_000;
    const auth = createAuthenticator({
      packages: [testPackage()],
      sessions: { keys: [keyA] },
      now: () => now,
    });
    const first = await auth.authenticate(
      req({ authorization: `Test user=alice, expires=${now + 120_000}` }),
    );
    const cookie = cookieOf(first)!;
    const kept = authenticateNow(auth, req({ cookie }));
    assert.ok(!isPromiseLike(kept), 'a session that needs no store read is answered at once');
    assert.equal(kept.type === 'authenticated' && kept.auth.session?.reused, true);
    assert.equal(kept.type === 'authenticated' && kept.scheme, 'Session');
    // Past the principal's end time the same cookie (already opened once) no longer counts.
    now += 120_000;
    const expired = await Promise.resolve(authenticateNow(auth, req({ cookie })));
    assert.equal(expired.type, 'respond');
    assert.match(expired.headers.find(([n]) => n === 'set-cookie')?.[1] ?? '', /Max-Age=0/);

    // Revocable sessions need the store read: a promise, and a revoked session is refused.
    const revocable = createAuthenticator({
      packages: [testPackage()],
      sessions: { keys: [keyA], revocable: true },
    });
    const issued = await revocable.authenticate(req({ authorization: 'Test user=alice' }));
    if (issued.type !== 'authenticated') throw new Error('no session');
    const pending = authenticateNow(revocable, req({ cookie: cookieOf(issued)! }));
    assert.ok(isPromiseLike(pending));
    assert.equal((await pending).type, 'authenticated');
    await revocable.revokeSession(issued.auth.session!.id);
    const revoked = await Promise.resolve(
      authenticateNow(revocable, req({ cookie: cookieOf(issued)! })),
    );
    assert.equal(revoked.type, 'respond');
  });

  it('validate options', () => {
    assert.throws(() => new SessionCookies({ keys: [] }), HttpAuthError);
    assert.throws(
      () => new SessionCookies({ keys: [{ id: 'a', secret: 'short' }] }),
      HttpAuthError,
    );
    assert.throws(() => new SessionCookies({ keys: [keyA, keyA] }), HttpAuthError);
    assert.throws(() => new SessionCookies({ keys: [keyA], cookieName: 'a b' }), HttpAuthError);
    assert.throws(() => new SessionCookies({ keys: [keyA], path: 'x;y' }), HttpAuthError);
  });

  it('never open random cookie values', () => {
    const cookies = new SessionCookies({ keys: [keyA] });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('base64url')),
        ),
        (value) => {
          assert.equal(cookies.open(value, 0, req({}, true)), undefined);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
