// Session cookies are bound to where they were issued: the __Host- prefix over TLS keeps a sibling
// subdomain from planting one, and the issuer in the AEAD's additional data keeps a cookie sealed
// for one host or application (sharing the keys) from opening on another.
import assert from 'node:assert/strict';
import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { HttpAuthError } from '../src/errors.js';
import type { AuthDecision } from '../src/loop/authenticator.js';
import { createAuthenticator } from '../src/loop/authenticator.js';
import type { AuthRequest, SecurityPackage } from '../src/security-package.js';
import type { SessionOptions } from '../src/session/session-cookie.js';
import { SessionCookies } from '../src/session/session-cookie.js';

const keyA = { id: 'a', secret: 'a'.repeat(32) };
const keyB = { id: 'b', secret: Buffer.alloc(32, 7) };

/** `Test user=<name>` authenticates <name>. */
const testPackage: SecurityPackage = {
  name: 'Test',
  scheme: 'Test',
  connectionBound: false,
  challenges: () => ['Test'],
  async accept(credentials) {
    const user = credentials.params?.get('user');
    if (user === undefined) {
      return { type: 'reject', error: new HttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS') };
    }
    return {
      type: 'complete',
      principal: { name: user, user, realm: 'EXAMPLE.TEST', mechanism: 'Kerberos' },
    };
  },
};

function req(host: string, headers: Record<string, string>, secure: boolean): AuthRequest {
  return { method: 'GET', target: '/', headers: { host, ...headers }, httpVersionMajor: 1, secure };
}

function app(sessions: SessionOptions) {
  const auth = createAuthenticator({ packages: [testPackage], sessions });
  return {
    login: (host: string, user: string, secure: boolean) =>
      auth.authenticate(req(host, { authorization: `Test user=${user}` }, secure)),
    visit: (host: string, cookie: string, secure: boolean) =>
      auth.authenticate(req(host, { cookie }, secure)),
  };
}

function setCookie(decision: AuthDecision): string {
  return decision.headers.find(([name]) => name === 'set-cookie')?.[1] ?? '';
}

function cookieOf(decision: AuthDecision): string {
  return setCookie(decision).split(';')[0] as string;
}

function userOf(decision: AuthDecision): string | undefined {
  return decision.type === 'authenticated' ? decision.auth.principal.user : undefined;
}

/** A cookie sealed the way version 1 did (no issuer, version byte 1), for the migration test. */
function versionOneCookie(name: string, secret: string, keyId: string): string {
  const key = Buffer.from(
    hkdfSync('sha256', Buffer.from(secret), Buffer.alloc(0), 'httpauth session v1', 32),
  );
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.concat([Buffer.from(name + '\0'), Buffer.of(1), Buffer.from(keyId)]));
  const principal = {
    name: 'mallory',
    user: 'mallory',
    realm: 'EXAMPLE.TEST',
    mechanism: 'Kerberos',
  };
  const plain = Buffer.from(JSON.stringify({ s: 'id', p: principal, i: 0, e: 8e15 }));
  const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
  const raw = Buffer.concat([
    Buffer.of(1, keyId.length),
    Buffer.from(keyId),
    iv,
    sealed,
    cipher.getAuthTag(),
  ]);
  return `${name}=${raw.toString('base64url')}`;
}

describe('session cookies over TLS', () => {
  it('are __Host- cookies: Secure, Path=/, no Domain', async () => {
    const site = app({ keys: [keyA] });
    const issued = setCookie(await site.login('app.example.com', 'alice', true));
    assert.match(
      issued,
      /^__Host-httpauth_session=[A-Za-z0-9_-]+; Max-Age=3600; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    );
    assert.doesNotMatch(issued, /Domain=/i);
  });

  it('ignore an unprefixed cookie, which a sibling subdomain can plant', async () => {
    // The attacker's own valid session, as a sibling host (or plain HTTP) could set it with
    // Domain=example.com under the unprefixed name: on TLS it is not read.
    const site = app({ keys: [keyA] });
    const attacker = cookieOf(await site.login('app.example.com', 'mallory', false));
    assert.match(attacker, /^httpauth_session=/);
    const victim = await site.visit('app.example.com', attacker, true);
    assert.equal(victim.type, 'respond');
    assert.equal(userOf(victim), undefined);
    // The prefixed cookie of this host works.
    const own = cookieOf(await site.login('app.example.com', 'alice', true));
    assert.equal(userOf(await site.visit('app.example.com', `${attacker}; ${own}`, true)), 'alice');
  });

  it('keep key rotation working', async () => {
    const before = app({ keys: [keyA] });
    const after = app({ keys: [keyB, keyA] });
    const old = cookieOf(await before.login('app.example.com', 'alice', true));
    assert.equal(userOf(await after.visit('app.example.com', old, true)), 'alice');
    const fresh = cookieOf(await after.login('app.example.com', 'bob', true));
    assert.equal(userOf(await app({ keys: [keyB] }).visit('app.example.com', fresh, true)), 'bob');
  });
});

describe('session cookies are bound to their issuer', () => {
  it('by default to the host: a cookie of a sibling sharing the keys does not open here', async () => {
    const sibling = app({ keys: [keyA] });
    const site = app({ keys: [keyA] });
    for (const secure of [false, true]) {
      const planted = cookieOf(await sibling.login('evil.example.com', 'mallory', secure));
      const visit = await site.visit('app.example.com', planted, secure);
      assert.equal(userOf(visit), undefined, `secure=${secure}`);
      // It is removed, and the victim is challenged.
      assert.match(setCookie(visit), /Max-Age=0/);
      // The port is not part of the host (browsers share cookies across ports).
      assert.equal(
        userOf(await sibling.visit('evil.example.com:8443', planted, secure)),
        'mallory',
      );
    }
  });

  it('a cookie already opened for one host does not open for another host of the same app', async () => {
    const site = app({ keys: [keyA] });
    for (const secure of [false, true]) {
      const cookie = cookieOf(await site.login('app.example.com', 'alice', secure));
      // Opened once here: the app now remembers it, under this host (the issuer) and name.
      assert.equal(userOf(await site.visit('app.example.com', cookie, secure)), 'alice');
      const elsewhere = await site.visit('other.example.com', cookie, secure);
      assert.equal(userOf(elsewhere), undefined, `secure=${secure}`);
      assert.match(setCookie(elsewhere), /Max-Age=0/);
      // And the other host's refusal did not forget it where it belongs.
      assert.equal(userOf(await site.visit('app.example.com', cookie, secure)), 'alice');
    }
  });

  it('to the issuer option when set, e.g. applications sharing keys and a Domain', async () => {
    const one = app({ keys: [keyA], domain: 'example.com', issuer: 'app-one' });
    const two = app({ keys: [keyA], domain: 'example.com', issuer: 'app-two' });
    const cookie = cookieOf(await one.login('one.example.com', 'mallory', true));
    assert.match(cookie, /^httpauth_session=/, 'a Domain cookie cannot be __Host-');
    assert.equal(userOf(await two.visit('two.example.com', cookie, true)), undefined);
    assert.equal(userOf(await one.visit('www.example.com', cookie, true)), 'mallory');
  });

  it('refuse cookies sealed by the previous version (users simply authenticate again)', async () => {
    const site = app({ keys: [keyA] });
    const legacy = versionOneCookie('httpauth_session', keyA.secret, keyA.id);
    const visit = await site.visit('app.example.com', legacy, false);
    assert.equal(userOf(visit), undefined);
    assert.match(setCookie(visit), /Max-Age=0/);
  });

  it('refuse options the __Host- prefix forbids', () => {
    const invalid = (options: Partial<SessionOptions>) =>
      assert.throws(
        () => new SessionCookies({ keys: [keyA], ...options }),
        (error: unknown) =>
          error instanceof HttpAuthError && error.code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
      );
    invalid({ hostPrefix: true, domain: 'example.com' });
    invalid({ hostPrefix: true, path: '/app' });
    invalid({ cookieName: '__Host-s', domain: 'example.com' });
    invalid({ issuer: '' });
    // Without the prefix, a Domain or a narrower path is allowed.
    new SessionCookies({ keys: [keyA], domain: 'example.com' });
    new SessionCookies({ keys: [keyA], hostPrefix: false });
  });
});
