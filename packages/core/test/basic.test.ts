import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { after, describe, it } from 'node:test';
import { apr1, apr1Salt } from '../src/basic/apr1.js';
import type { BasicOptions } from '../src/basic/basic.js';
import { basic } from '../src/basic/basic.js';
import { decodeBasicToken, encodeBasicToken } from '../src/basic/credentials.js';
import { hashScheme, htpasswdFile } from '../src/basic/htpasswd.js';
import { isHttpAuthError } from '../src/errors.js';
import { CHANNEL_FAILURE, type FailureEvent } from '../src/events.js';
import type { AuthDecision } from '../src/loop/authenticator.js';
import { createAuthenticator, errorBody } from '../src/loop/authenticator.js';
import { MemoryStore } from '../src/store/memory.js';

const REALM = 'intranet';
const dir = mkdtempSync(join(tmpdir(), 'httpauth-basic-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** One htpasswd line from Apache's own tool (apache2-utils): -B bcrypt, -m apr1, -s SHA-1. */
function htpasswdLine(flag: '-B' | '-m' | '-s', user: string, password: string): string {
  const args =
    flag === '-B' ? ['-nbB', '-C', '5', user, password] : [`-nb${flag.slice(1)}`, user, password];
  return execFileSync('htpasswd', args).toString().trim();
}

function harness(options: Partial<BasicOptions> = {}) {
  const pkg = basic({
    realm: REALM,
    verify: (u, p) => u === 'aladdin' && p === 'open sesame',
    ...options,
  });
  const auth = createAuthenticator({ packages: [pkg], store: new MemoryStore() });
  return {
    send(authorization: string | undefined, secure = true) {
      return auth.authenticate({
        method: 'GET',
        target: '/',
        headers: authorization === undefined ? {} : { authorization },
        httpVersionMajor: 1,
        secure,
      });
    },
  };
}

function basicHeader(user: string, password: string): string {
  return 'Basic ' + encodeBasicToken({ user, password });
}

function assertUser(d: AuthDecision, user: string) {
  assert.equal(d.type, 'authenticated', d.type === 'respond' ? d.error.code : '');
  if (d.type === 'authenticated') {
    assert.deepEqual(d.auth.principal, { name: user, user, realm: REALM, mechanism: 'Basic' });
  }
}

function assertCode(d: AuthDecision, code: string, status: number) {
  assert.equal(d.type, 'respond');
  if (d.type === 'respond') {
    assert.equal(d.error.code, code);
    assert.equal(d.status, status);
  }
}

describe('Basic credentials (RFC 7617)', () => {
  it('tells the operator (never the client) the attempted user, bounded, never the password', async () => {
    const h = harness();
    const events: FailureEvent[] = [];
    const listener = (message: unknown) => events.push(message as FailureEvent);
    subscribe(CHANNEL_FAILURE, listener);
    let refused;
    try {
      refused = await h.send(basicHeader('aladdin', 'open says me'));
      await h.send(basicHeader('x'.repeat(5000), 'pw'));
    } finally {
      unsubscribe(CHANNEL_FAILURE, listener);
    }
    assert.deepEqual(events[0]!.detail, { user: 'aladdin' });
    assert.equal((events[1]!.detail!.user as string).length, 257);
    assert.ok(!JSON.stringify(events).includes('open says me'));
    // What reaches the client: the headers and the error body, with no name in them.
    assert.ok(refused.type === 'respond');
    assert.ok(!JSON.stringify([refused.headers, errorBody(refused.error)]).includes('aladdin'));
  });

  it('decodes the RFC 7617 §2 example and UTF-8 (§2.1 example)', () => {
    assert.deepEqual(decodeBasicToken('QWxhZGRpbjpvcGVuIHNlc2FtZQ=='), {
      user: 'Aladdin',
      password: 'open sesame',
    });
    // RFC 7617 §2.1: user "test", password "123£" in UTF-8.
    assert.deepEqual(decodeBasicToken('dGVzdDoxMjPCow=='), { user: 'test', password: '123£' });
    assert.equal(encodeBasicToken({ user: 'test', password: '123£' }), 'dGVzdDoxMjPCow==');
    // The password may contain ':'; the user-id ends at the first one.
    assert.deepEqual(decodeBasicToken(encodeBasicToken({ user: 'a', password: 'b:c' })), {
      user: 'a',
      password: 'b:c',
    });
  });

  it('refuses malformed tokens', () => {
    const bad = [
      'QWxhZGRpbjpvcGVuIHNlc2FtZQ', // unpadded
      'QWxhZGRpbjpvcGVuIHNlc2FtZR==', // non-canonical trailing bits
      'bm9jb2xvbg==', // "nocolon"
      Buffer.from('a\u0000b:c').toString('base64'), // control character
      Buffer.from([0x61, 0x3a, 0xff, 0xfe]).toString('base64'), // not UTF-8
      '',
      '====',
    ];
    for (const token of bad) {
      assert.throws(
        () => decodeBasicToken(token),
        (e: unknown) => isHttpAuthError(e) && e.code === 'ERR_HTTPAUTH_BASIC_MALFORMED',
        token,
      );
    }
  });
});

describe('Basic package', () => {
  it('challenges with realm and charset="UTF-8" over TLS only by default', async () => {
    const h = harness();
    const tls = await h.send(undefined, true);
    assert.deepEqual(
      tls.headers.filter(([n]) => n === 'www-authenticate').map(([, v]) => v),
      ['Basic realm="intranet", charset="UTF-8"'],
    );
    const plain = await h.send(undefined, false);
    assert.equal(plain.headers.filter(([n]) => n === 'www-authenticate').length, 0);
  });

  it('authenticates over TLS and refuses plain HTTP unless allowed', async () => {
    const h = harness();
    assertUser(await h.send(basicHeader('aladdin', 'open sesame')), 'aladdin');
    assertCode(
      await h.send(basicHeader('aladdin', 'open sesame'), false),
      'ERR_HTTPAUTH_INSECURE_TRANSPORT',
      401,
    );
    const relaxed = harness({ allowInsecure: true });
    assertUser(await relaxed.send(basicHeader('aladdin', 'open sesame'), false), 'aladdin');
  });

  it('denies wrong passwords and maps verifier failures', async () => {
    const h = harness();
    assertCode(
      await h.send(basicHeader('aladdin', 'close sesame')),
      'ERR_HTTPAUTH_BAD_CREDENTIALS',
      401,
    );
    assertCode(await h.send('Basic realm="x"'), 'ERR_HTTPAUTH_BASIC_MALFORMED', 400);
    assertCode(await h.send('Basic !!!'), 'ERR_HTTPAUTH_HEADER_MALFORMED', 400);
    // A verifier that says anything but `true` does not authenticate.
    const sloppy = harness({ verify: () => 'yes' as unknown as boolean });
    assertCode(await sloppy.send(basicHeader('a', 'b')), 'ERR_HTTPAUTH_BAD_CREDENTIALS', 401);
    const broken = harness({
      verify: async () => {
        throw new Error('ldap down');
      },
    });
    assertCode(
      await broken.send(basicHeader('a', 'b')),
      'ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED',
      503,
    );
  });

  it('rejects invalid options', () => {
    for (const options of [
      { realm: '', verify: () => true },
      { realm: 'a\nb', verify: () => true },
      { realm: 'x' },
    ]) {
      assert.throws(
        () => basic(options as BasicOptions),
        (e: unknown) => isHttpAuthError(e) && e.code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
      );
    }
  });
});

describe('htpasswd files', () => {
  it('computes $apr1$ exactly as htpasswd -m does', () => {
    for (const password of [
      '',
      'pw',
      'sixteen bytes!!!',
      'a password longer than sixteen bytes',
      'Jäsøn',
    ]) {
      const hash = htpasswdLine('-m', 'u', password).slice(2);
      assert.equal(hashScheme(hash), 'apr1');
      assert.equal(apr1(password, apr1Salt(hash) as string), hash);
      assert.notEqual(apr1(password + 'x', apr1Salt(hash) as string), hash);
    }
  });

  it('verifies bcrypt, apr1 and SHA-1 entries written by htpasswd, and nothing else', async () => {
    const path = join(dir, 'users.htpasswd');
    writeFileSync(
      path,
      [
        htpasswdLine('-B', 'bea', 'bcrypt pw'),
        htpasswdLine('-m', 'max', 'apr1 pw'),
        htpasswdLine('-s', 'sam', 'sha1 pw'),
        'carl:abJnggxhB/yWI', // crypt(3) DES: not supported, never verifies
        'pete:plaintext',
        '',
      ].join('\n'),
    );
    const h = harness({ verify: htpasswdFile(path) });
    assertUser(await h.send(basicHeader('bea', 'bcrypt pw')), 'bea');
    assertUser(await h.send(basicHeader('max', 'apr1 pw')), 'max');
    assertUser(await h.send(basicHeader('sam', 'sha1 pw')), 'sam');
    for (const [user, password] of [
      ['bea', 'bcrypt pW'],
      ['max', 'apr1 pW'],
      ['sam', 'sha1 pW'],
      ['pete', 'plaintext'],
      ['nobody', 'bcrypt pw'],
    ] as const) {
      assertCode(await h.send(basicHeader(user, password)), 'ERR_HTTPAUTH_BAD_CREDENTIALS', 401);
    }
  });

  it('reloads the file when it changes', async () => {
    const path = join(dir, 'reload.htpasswd');
    writeFileSync(path, htpasswdLine('-s', 'sam', 'one') + '\n');
    const h = harness({ verify: htpasswdFile(path, { checkIntervalMs: 0 }) });
    assertUser(await h.send(basicHeader('sam', 'one')), 'sam');
    assertCode(await h.send(basicHeader('max', 'two')), 'ERR_HTTPAUTH_BAD_CREDENTIALS', 401);
    appendFileSync(path, htpasswdLine('-m', 'max', 'two') + '\n');
    assertUser(await h.send(basicHeader('max', 'two')), 'max');
    writeFileSync(path, htpasswdLine('-s', 'sam', 'three, a new password') + '\n');
    assertCode(await h.send(basicHeader('sam', 'one')), 'ERR_HTTPAUTH_BAD_CREDENTIALS', 401);
    assertUser(await h.send(basicHeader('sam', 'three, a new password')), 'sam');
  });

  it('refuses a missing file at start-up', () => {
    assert.throws(
      () => htpasswdFile(join(dir, 'missing')),
      (e: unknown) => isHttpAuthError(e) && e.code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
    );
  });
});
