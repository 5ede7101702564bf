import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { after, describe, it } from 'node:test';
import type { DigestAlgorithm, DigestHash } from '../src/digest/algorithms.js';
import { algorithmInfo } from '../src/digest/algorithms.js';
import { decodeAuthenticationInfo } from '../src/digest/authentication-info.js';
import type { DigestChallenge } from '../src/digest/challenge.js';
import { decodeChallenge } from '../src/digest/challenge.js';
import type { DigestQop } from '../src/digest/compute.js';
import {
  bodyHashHex,
  clientResponse,
  computeHa1,
  computeHa2,
  computeResponse,
  computeUserhash,
  sessionHa1,
} from '../src/digest/compute.js';
import { encodeCredentials } from '../src/digest/credentials.js';
import type { DigestOptions } from '../src/digest/options.js';
import { digest } from '../src/digest/digest.js';
import type { DigestCredentialCallback } from '../src/digest/sources.js';
import { digestFile, digestFileLine, htdigestFile } from '../src/digest/sources.js';
import { isHttpAuthError } from '../src/errors.js';
import { CHANNEL_FAILURE, type FailureEvent } from '../src/events.js';
import type { AuthDecision } from '../src/loop/authenticator.js';
import { createAuthenticator, errorBody } from '../src/loop/authenticator.js';
import type { AuthRequest } from '../src/security-package.js';
import { MemoryStore, type MemoryStoreOptions } from '../src/store/memory.js';

const REALM = 'api@example.org';
const USERS: Record<string, string> = { Mufasa: 'Circle of Life', 'Jäsøn Doe': 'Secret, or not?' };

const passwordCallback: DigestCredentialCallback = (user, realm) =>
  realm === REALM && Object.hasOwn(USERS, user) ? { password: USERS[user] as string } : undefined;

const dir = mkdtempSync(join(tmpdir(), 'httpauth-digest-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function harness(options: Partial<DigestOptions> = {}, storeOptions: MemoryStoreOptions = {}) {
  let clock = 1_800_000_000_000;
  const now = () => clock;
  const store = new MemoryStore({ now, ...storeOptions });
  const pkg = digest({ realm: REALM, credentials: passwordCallback, ...options });
  const auth = createAuthenticator({ packages: [pkg], store, now });
  return {
    pkg,
    auth,
    tick(ms: number) {
      clock += ms;
    },
    send(target: string, authorization?: string, extra: Partial<AuthRequest> = {}) {
      // Every HTTP/1.1 request names its host (RFC 9112 §3.2).
      const headers: Record<string, string> = { host: 'example.org' };
      if (authorization !== undefined) headers.authorization = authorization;
      return auth.authenticate({
        method: 'GET',
        target,
        headers,
        httpVersionMajor: 1,
        secure: false,
        ...extra,
      });
    },
  };
}

function header(decision: AuthDecision, name: string): string[] {
  return decision.headers.filter(([n]) => n === name).map(([, v]) => v);
}

function challenges(decision: AuthDecision): DigestChallenge[] {
  return header(decision, 'www-authenticate').map((value) => decodeChallenge(value));
}

function pick(decision: AuthDecision, algorithm: string): DigestChallenge {
  const found = challenges(decision).find((c) => c.algorithm === algorithm);
  assert.ok(found, `challenge for ${algorithm}`);
  return found;
}

interface Answer {
  user?: string;
  password?: string;
  method?: string;
  uri?: string;
  nc?: string;
  cnonce?: string;
  qop?: DigestQop | 'none';
  body?: Buffer;
  userhash?: boolean;
  extendedUsername?: boolean;
  realm?: string;
  opaque?: string | null;
  nonce?: string;
}

/** What a user agent sends for `challenge` (RFC 7616 §3.4), computed independently of the server. */
function answer(challenge: DigestChallenge, a: Answer = {}): string {
  const info = algorithmInfo(challenge.algorithm);
  assert.ok(info);
  const user = a.user ?? 'Mufasa';
  const password = a.password ?? USERS[user] ?? 'x';
  const realm = a.realm ?? challenge.realm;
  const qop = a.qop === 'none' ? undefined : (a.qop ?? 'auth');
  const nc = qop === undefined ? undefined : (a.nc ?? '00000001');
  const cnonce = qop === undefined ? undefined : (a.cnonce ?? randomBytes(12).toString('base64'));
  const nonce = a.nonce ?? challenge.nonce;
  const uri = a.uri ?? '/dir/index.html';
  const response = clientResponse({
    hash: info.hash,
    session: info.session,
    username: user,
    realm,
    password,
    method: a.method ?? 'GET',
    uri,
    nonce,
    ...(qop === undefined ? {} : { qop, nc: nc as string, cnonce: cnonce as string }),
    ...(a.body === undefined ? {} : { body: a.body }),
  });
  return encodeCredentials({
    username: a.userhash === true ? computeUserhash(info.hash, user, realm) : user,
    userhash: a.userhash,
    extendedUsername: a.extendedUsername,
    realm,
    uri,
    algorithm: challenge.algorithm,
    nonce,
    nc,
    cnonce,
    qop,
    response,
    opaque: a.opaque === null ? undefined : (a.opaque ?? challenge.opaque),
  });
}

function assertAuthenticated(decision: AuthDecision, user = 'Mufasa') {
  assert.equal(
    decision.type,
    'authenticated',
    decision.type === 'respond' ? decision.error.code : '',
  );
  if (decision.type !== 'authenticated') return;
  assert.deepEqual(decision.auth.principal, {
    name: user,
    user,
    realm: REALM,
    mechanism: 'Digest',
  });
}

function assertRejected(decision: AuthDecision, code: string, status = 401) {
  assert.equal(decision.type, 'respond');
  if (decision.type !== 'respond') return;
  assert.equal(decision.error.code, code);
  assert.equal(decision.status, status);
}

function configError(fn: () => unknown) {
  assert.throws(
    fn,
    (e: unknown) => isHttpAuthError(e) && e.code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
  );
}

describe('Digest challenges', () => {
  it('offers SHA-256 then MD5, one header each, sharing one nonce, with charset and opaque', async () => {
    const h = harness();
    const d = await h.send('/dir/index.html');
    assertRejected(d, 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
    const list = challenges(d);
    assert.deepEqual(
      list.map((c) => c.algorithm),
      ['SHA-256', 'MD5'],
    );
    for (const c of list) {
      assert.equal(c.realm, REALM);
      assert.deepEqual(c.qop, ['auth']);
      assert.equal(c.charsetUtf8, true);
      assert.equal(c.stale, undefined);
      assert.ok(c.opaque !== undefined && c.opaque.length > 10);
      assert.equal(c.nonce, list[0]?.nonce);
    }
    const again = challenges(await h.send('/'));
    assert.notEqual(again[0]?.nonce, list[0]?.nonce, 'every 401 mints a fresh nonce');
  });

  it('follows the configured algorithm order and sends domain and userhash', async () => {
    const source = digestFile(writeFile('order.txt', digestFileLine('Mufasa', REALM, 'pw')));
    const h = harness({
      credentials: source,
      algorithms: ['MD5-sess', 'SHA-512-256', 'SHA-256-sess'],
      domain: ['/api/', 'https://example.org/other'],
      userhash: true,
      opaque: false,
    });
    const list = challenges(await h.send('/'));
    assert.deepEqual(
      list.map((c) => c.algorithm),
      ['MD5-sess', 'SHA-512-256', 'SHA-256-sess'],
    );
    assert.deepEqual(list[0]?.domain, ['/api/', 'https://example.org/other']);
    assert.equal(list[0]?.userhash, true);
    assert.equal(list[0]?.opaque, undefined);
  });

  it('rejects invalid options at registration', () => {
    configError(() => digest({ realm: '', credentials: passwordCallback }));
    configError(() => digest({ realm: 'a\r\nb', credentials: passwordCallback }));
    configError(() => digest({ realm: REALM, credentials: passwordCallback, algorithms: [] }));
    configError(() =>
      digest({
        realm: REALM,
        credentials: passwordCallback,
        algorithms: ['SHA-1' as DigestAlgorithm],
      }),
    );
    configError(() => digest({ realm: REALM, credentials: passwordCallback, qop: [] }));
    configError(() =>
      digest({ realm: REALM, credentials: passwordCallback, nonceKey: Buffer.alloc(4) }),
    );
    configError(() => digest({ realm: REALM, credentials: passwordCallback, nonceLifetimeMs: 5 }));
    // A bare callback cannot map userhashes back to names.
    configError(() => digest({ realm: REALM, credentials: passwordCallback, userhash: true }));
  });
});

function writeFile(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content.endsWith('\n') ? content : content + '\n');
  return path;
}

describe('Digest round trips', () => {
  const algorithms: DigestAlgorithm[] = [
    'SHA-256',
    'SHA-256-sess',
    'SHA-512-256',
    'SHA-512-256-sess',
    'MD5',
    'MD5-sess',
  ];
  for (const algorithm of algorithms) {
    it(`authenticates with ${algorithm} and answers a correct Authentication-Info`, async () => {
      const h = harness({ algorithms: [algorithm] });
      const challenge = pick(await h.send('/dir/index.html?x=1'), algorithm);
      const cnonce = 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ';
      const d = await h.send(
        '/dir/index.html?x=1',
        answer(challenge, { uri: '/dir/index.html?x=1', cnonce }),
      );
      assertAuthenticated(d);
      const [infoHeader] = header(d, 'authentication-info');
      assert.ok(infoHeader);
      const info = decodeAuthenticationInfo(infoHeader);
      // rspauth recomputed here from the password, with an empty method (RFC 7616 §3.5).
      const { hash, session } = algorithmInfo(algorithm)!;
      let ha1 = computeHa1(hash, 'Mufasa', REALM, 'Circle of Life');
      if (session) ha1 = sessionHa1(hash, ha1, challenge.nonce, cnonce);
      const rspauth = computeResponse({
        hash,
        ha1,
        ha2: computeHa2(hash, '', '/dir/index.html?x=1'),
        nonce: challenge.nonce,
        qop: 'auth',
        nc: '00000001',
        cnonce,
      });
      assert.equal(info.rspauth, rspauth);
      assert.equal(info.qop, 'auth');
      assert.equal(info.nc, '00000001');
      assert.equal(info.cnonce, cnonce);
      assert.equal(info.nextnonce, undefined);
    });
  }

  it('accepts HA1 values from the callback as well as passwords', async () => {
    const h = harness({
      credentials: (user, realm, hash) =>
        user === 'Mufasa'
          ? computeHa1(hash, user, realm, 'Circle of Life').toUpperCase()
          : undefined,
    });
    const d = await h.send('/dir/index.html', answer(pick(await h.send('/'), 'SHA-256')));
    assertAuthenticated(d);
  });

  it('tells the operator (never the client) who tried, with which algorithm', async () => {
    const h = harness();
    const challenge = pick(await h.send('/'), 'SHA-256');
    const events: FailureEvent[] = [];
    const listener = (message: unknown) => events.push(message as FailureEvent);
    subscribe(CHANNEL_FAILURE, listener);
    let wrong;
    try {
      wrong = await h.send('/dir/index.html', answer(challenge, { password: 'Circle of Lies' }));
      await h.send('/dir/index.html', answer(challenge, { user: 'Scar', password: 'x' }));
    } finally {
      unsubscribe(CHANNEL_FAILURE, listener);
    }
    assert.deepEqual(
      events.map((e) => e.detail),
      [
        { user: 'Mufasa', algorithm: 'SHA-256' },
        { user: 'Scar', algorithm: 'SHA-256' },
      ],
    );
    assert.ok(!JSON.stringify(events).includes('Circle of Lies'));
    // What reaches the client: the headers and the error body, with no name in them.
    assert.ok(wrong.type === 'respond');
    assert.ok(!JSON.stringify([wrong.headers, errorBody(wrong.error)]).includes('Mufasa'));
  });

  it('makes a wrong password and an unknown user indistinguishable', async () => {
    const h = harness();
    const challenge = pick(await h.send('/'), 'SHA-256');
    const wrong = await h.send(
      '/dir/index.html',
      answer(challenge, { password: 'Circle of Lies' }),
    );
    const unknown = await h.send(
      '/dir/index.html',
      answer(challenge, { user: 'Scar', password: 'x' }),
    );
    for (const d of [wrong, unknown]) assertRejected(d, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    assert.equal(
      wrong.type === 'respond' && wrong.error.message,
      unknown.type === 'respond' && unknown.error.message,
    );
    assert.deepEqual(
      challenges(wrong).map((c) => [c.algorithm, c.stale]),
      challenges(unknown).map((c) => [c.algorithm, c.stale]),
    );
  });

  it('requires nc to increase strictly per nonce', async () => {
    const h = harness();
    const challenge = pick(await h.send('/'), 'SHA-256');
    const first = answer(challenge, { nc: '00000001', cnonce: 'abc' });
    assertAuthenticated(await h.send('/dir/index.html', first));
    assertRejected(await h.send('/dir/index.html', first), 'ERR_HTTPAUTH_DIGEST_NC_REPLAY');
    assertAuthenticated(await h.send('/dir/index.html', answer(challenge, { nc: '00000003' })));
    assertRejected(
      await h.send('/dir/index.html', answer(challenge, { nc: '00000002' })),
      'ERR_HTTPAUTH_DIGEST_NC_REPLAY',
    );
    assertRejected(
      await h.send('/dir/index.html', answer(challenge, { nc: '00000000' })),
      'ERR_HTTPAUTH_DIGEST_PARAMS',
      400,
    );
  });

  it("keeps nonce counts per user: another account cannot burn a victim's nonce", async () => {
    // The nonce is public. User B answers A's challenge with nc=ffffffff; A's own nc=1 must still
    // be fresh, not an NC_REPLAY 401 without stale=true (which makes a browser prompt).
    const h = harness();
    const challenge = pick(await h.send('/'), 'SHA-256');
    const burn = answer(challenge, { user: 'Jäsøn Doe', nc: 'ffffffff' });
    assertAuthenticated(await h.send('/dir/index.html', burn), 'Jäsøn Doe');
    assertAuthenticated(await h.send('/dir/index.html', answer(challenge, { nc: '00000001' })));
    // Each account's own counter still refuses its replays.
    assertRejected(await h.send('/dir/index.html', burn), 'ERR_HTTPAUTH_DIGEST_NC_REPLAY');
    assertRejected(
      await h.send('/dir/index.html', answer(challenge, { nc: '00000001' })),
      'ERR_HTTPAUTH_DIGEST_NC_REPLAY',
    );
  });

  it('keeps one-time nonce use per user too', async () => {
    const h = harness({ oneTimeNonces: true });
    const challenge = pick(await h.send('/'), 'SHA-256');
    assertAuthenticated(
      await h.send('/dir/index.html', answer(challenge, { user: 'Jäsøn Doe' })),
      'Jäsøn Doe',
    );
    assertAuthenticated(await h.send('/dir/index.html', answer(challenge)));
    assertRejected(
      await h.send('/dir/index.html', answer(challenge, { nc: '00000002' })),
      'ERR_HTTPAUTH_DIGEST_NONCE_STALE',
    );
  });

  it('caps the store entries one user creates; other users are still served', async () => {
    const h = harness({}, { maxEntries: 10, maxEntriesPerOwner: 3 });
    for (let i = 0; i < 3; i++) {
      const challenge = pick(await h.send('/'), 'SHA-256');
      assertAuthenticated(await h.send('/dir/index.html', answer(challenge)));
    }
    const fourth = pick(await h.send('/'), 'SHA-256');
    assertRejected(
      await h.send('/dir/index.html', answer(fourth)),
      'ERR_HTTPAUTH_STORE_QUOTA',
      503,
    );
    assertAuthenticated(
      await h.send('/dir/index.html', answer(fourth, { user: 'Jäsøn Doe' })),
      'Jäsøn Doe',
    );
    // The entries live as long as their nonce; then the user may create new ones.
    h.tick(301_001 + 1000);
    const later = pick(await h.send('/'), 'SHA-256');
    assertAuthenticated(await h.send('/dir/index.html', answer(later)));
  });

  it('answers stale=true for an expired authentic nonce with a correct response only', async () => {
    const h = harness({ nonceLifetimeMs: 60_000 });
    const challenge = pick(await h.send('/'), 'SHA-256');
    h.tick(59_000);
    assertAuthenticated(await h.send('/dir/index.html', answer(challenge, { nc: '00000001' })));
    h.tick(2_000);
    const stale = await h.send('/dir/index.html', answer(challenge, { nc: '00000002' }));
    assertRejected(stale, 'ERR_HTTPAUTH_DIGEST_NONCE_STALE');
    const fresh = challenges(stale);
    assert.deepEqual(
      fresh.map((c) => [c.algorithm, c.stale]),
      [
        ['SHA-256', true],
        ['MD5', true],
      ],
    );
    assert.notEqual(fresh[0]?.nonce, challenge.nonce);
    // A wrong password on an expired nonce is just wrong: no stale hint.
    const wrong = await h.send(
      '/dir/index.html',
      answer(challenge, { password: 'nope', nc: '00000003' }),
    );
    assertRejected(wrong, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    assert.ok(challenges(wrong).every((c) => c.stale === undefined));
    // The fresh nonce works.
    assertAuthenticated(await h.send('/dir/index.html', answer(fresh[0]!)));
  });

  it('rejects forged and tampered nonces', async () => {
    const h = harness();
    const challenge = pick(await h.send('/'), 'SHA-256');
    const n = challenge.nonce;
    const flipped = n.slice(0, 3) + (n[3] === 'A' ? 'B' : 'A') + n.slice(4);
    const other = pick(await harness().send('/'), 'SHA-256').nonce; // another random key
    for (const nonce of [
      flipped,
      other,
      'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      n + 'A',
      n.slice(0, -1),
    ]) {
      assertRejected(
        await h.send('/dir/index.html', answer(challenge, { nonce })),
        'ERR_HTTPAUTH_DIGEST_NONCE_INVALID',
      );
    }
    // A nonce whose timestamp was pushed forward (to extend its life) fails its HMAC.
    const raw = Buffer.from(n, 'base64url');
    raw.writeBigUInt64BE(raw.readBigUInt64BE(0) + 3_600_000n, 0);
    assertRejected(
      await h.send('/dir/index.html', answer(challenge, { nonce: raw.toString('base64url') })),
      'ERR_HTTPAUTH_DIGEST_NONCE_INVALID',
    );
  });

  it('shares nonces between nodes that share nonceKey (and not otherwise)', async () => {
    const nonceKey = randomBytes(32);
    const a = harness({ nonceKey });
    const b = harness({ nonceKey });
    const challenge = pick(await a.send('/'), 'SHA-256');
    assertAuthenticated(await b.send('/dir/index.html', answer(challenge)));
  });

  it('checks uri against the request target', async () => {
    const h = harness();
    const challenge = pick(await h.send('/'), 'SHA-256');
    assertRejected(
      await h.send('/dir/index.html', answer(challenge, { uri: '/dir/other.html' })),
      'ERR_HTTPAUTH_DIGEST_URI_MISMATCH',
      400,
    );
    assertRejected(
      await h.send('/dir/index.html?a=1', answer(challenge, { uri: '/dir/index.html' })),
      'ERR_HTTPAUTH_DIGEST_URI_MISMATCH',
      400,
    );
    // Absolute-form on one side, origin-form on the other: same resource.
    assertAuthenticated(
      await h.send(
        '/dir/index.html',
        answer(challenge, { uri: 'http://example.org/dir/index.html', nc: '00000001' }),
      ),
    );
    assertAuthenticated(
      await h.send('http://example.org/dir/index.html', answer(challenge, { nc: '00000002' })),
    );
    // An absolute uri naming another host is another resource (RFC 7616 §3.4.6), even when the
    // path matches: a response computed for it must not open this one.
    for (const uri of [
      'http://other.example/dir/index.html',
      'http://example.org:81/dir/index.html',
    ]) {
      assertRejected(
        await h.send('/dir/index.html', answer(challenge, { uri, nc: '00000003' })),
        'ERR_HTTPAUTH_DIGEST_URI_MISMATCH',
        400,
      );
    }
  });

  it('checks realm and opaque', async () => {
    const h = harness();
    const challenge = pick(await h.send('/'), 'SHA-256');
    assertRejected(
      await h.send('/dir/index.html', answer(challenge, { realm: 'other@example.org' })),
      'ERR_HTTPAUTH_DIGEST_REALM_MISMATCH',
    );
    assertRejected(
      await h.send('/dir/index.html', answer(challenge, { opaque: 'something-else' })),
      'ERR_HTTPAUTH_DIGEST_OPAQUE_MISMATCH',
    );
    assertRejected(
      await h.send('/dir/index.html', answer(challenge, { opaque: null })),
      'ERR_HTTPAUTH_DIGEST_OPAQUE_MISMATCH',
    );
    const fixed = harness({ opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS' });
    const c2 = pick(await fixed.send('/'), 'MD5');
    assert.equal(c2.opaque, 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS');
    assertAuthenticated(await fixed.send('/dir/index.html', answer(c2)));
  });

  it('refuses an algorithm or qop it did not offer', async () => {
    const h = harness({ algorithms: ['SHA-256'] });
    const challenge = pick(await h.send('/'), 'SHA-256');
    assertRejected(
      await h.send('/dir/index.html', answer({ ...challenge, algorithm: 'MD5' })),
      'ERR_HTTPAUTH_DIGEST_ALGORITHM',
    );
    assertRejected(
      await h.send(
        '/dir/index.html',
        answer(challenge, { qop: 'auth-int', body: Buffer.alloc(0) }),
        {
          body: async () => Buffer.alloc(0),
        },
      ),
      'ERR_HTTPAUTH_DIGEST_QOP',
    );
    // RFC 2069 (no qop) is off by default.
    assertRejected(
      await h.send('/dir/index.html', answer(challenge, { qop: 'none' })),
      'ERR_HTTPAUTH_DIGEST_QOP',
    );
  });

  it('accepts RFC 2069 clients when enabled, once per nonce', async () => {
    const h = harness({ allowRfc2069: true, algorithms: ['MD5', 'MD5-sess'] });
    const challenge = pick(await h.send('/'), 'MD5');
    const req = answer(challenge, { qop: 'none' });
    const d = await h.send('/dir/index.html', req);
    assertAuthenticated(d);
    const info = decodeAuthenticationInfo(header(d, 'authentication-info')[0]!);
    const ha1 = computeHa1('MD5', 'Mufasa', REALM, 'Circle of Life');
    assert.equal(
      info.rspauth,
      computeResponse({
        hash: 'MD5',
        ha1,
        ha2: computeHa2('MD5', '', '/dir/index.html'),
        nonce: challenge.nonce,
      }),
    );
    const replay = await h.send('/dir/index.html', req);
    assertRejected(replay, 'ERR_HTTPAUTH_DIGEST_NONCE_STALE');
    // -sess needs a cnonce, which RFC 2069 lacks.
    assertRejected(
      await h.send(
        '/dir/index.html',
        answer({ ...challenge, algorithm: 'MD5-sess' }, { qop: 'none' }),
      ),
      'ERR_HTTPAUTH_DIGEST_QOP',
    );
  });

  it('verifies qop=auth-int against the request body', async () => {
    const h = harness({ qop: ['auth', 'auth-int'] });
    // Without a body supplier the adapter cannot prove the body: auth-int is not offered.
    assert.deepEqual(pick(await h.send('/'), 'SHA-256').qop, ['auth']);
    const body = Buffer.from('{"hello":"wörld"}');
    const withBody = { method: 'POST', body: async () => body };
    const challenge = pick(await h.send('/upload', undefined, withBody), 'SHA-256');
    assert.deepEqual(challenge.qop, ['auth', 'auth-int']);
    const good = answer(challenge, { method: 'POST', uri: '/upload', qop: 'auth-int', body });
    const d = await h.send('/upload', good, withBody);
    assertAuthenticated(d);
    const info = decodeAuthenticationInfo(header(d, 'authentication-info')[0]!);
    assert.equal(info.qop, 'auth-int');
    const ha1 = computeHa1('SHA-256', 'Mufasa', REALM, 'Circle of Life');
    assert.equal(
      info.rspauth,
      computeResponse({
        hash: 'SHA-256',
        ha1,
        ha2: computeHa2('SHA-256', '', '/upload', bodyHashHex('SHA-256', body)),
        nonce: challenge.nonce,
        qop: 'auth-int',
        nc: info.nc,
        cnonce: info.cnonce,
      }),
    );
    const tampered = answer(challenge, {
      method: 'POST',
      uri: '/upload',
      qop: 'auth-int',
      body: Buffer.from('{"hello":"world"}'),
      nc: '00000002',
    });
    assertRejected(await h.send('/upload', tampered, withBody), 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    const failing = {
      method: 'POST',
      body: async (): Promise<Buffer> => {
        throw new Error('too large');
      },
    };
    const c3 = answer(challenge, {
      method: 'POST',
      uri: '/upload',
      qop: 'auth-int',
      body,
      nc: '00000003',
    });
    assertRejected(
      await h.send('/upload', c3, failing),
      'ERR_HTTPAUTH_DIGEST_BODY_UNAVAILABLE',
      400,
    );
  });

  it('serves userhash clients (RFC 7616 §3.9.2 user, SHA-512-256)', async () => {
    const path = writeFile(
      'userhash.txt',
      digestFileLine('Jäsøn Doe', REALM, 'Secret, or not?') +
        '\n' +
        digestFileLine('Mufasa', REALM, 'Circle of Life'),
    );
    const h = harness({
      credentials: digestFile(path),
      userhash: true,
      algorithms: ['SHA-512-256', 'MD5'],
    });
    const challenge = pick(await h.send('/'), 'SHA-512-256');
    assert.equal(challenge.userhash, true);
    const d = await h.send(
      '/doe.json',
      answer(challenge, { user: 'Jäsøn Doe', uri: '/doe.json', userhash: true }),
    );
    assertAuthenticated(d, 'Jäsøn Doe');
    const md5 = pick(await h.send('/'), 'MD5');
    assertAuthenticated(
      await h.send('/doe.json', answer(md5, { uri: '/doe.json', userhash: true })),
    );
    // An unknown userhash looks like any other failure.
    assertRejected(
      await h.send(
        '/doe.json',
        answer(challenge, { user: 'Nobody', password: 'x', uri: '/doe.json', userhash: true }),
      ),
      'ERR_HTTPAUTH_BAD_CREDENTIALS',
    );
    // userhash=true to a server that did not offer it.
    const plain = harness();
    assertRejected(
      await plain.send(
        '/doe.json',
        answer(pick(await plain.send('/'), 'SHA-256'), { uri: '/doe.json', userhash: true }),
      ),
      'ERR_HTTPAUTH_DIGEST_PARAMS',
      400,
    );
  });

  it('accepts username* (RFC 8187) and raw UTF-8 usernames', async () => {
    const h = harness();
    const challenge = pick(await h.send('/'), 'SHA-256');
    assertAuthenticated(
      await h.send(
        '/doe.json',
        answer(challenge, {
          user: 'Jäsøn Doe',
          uri: '/doe.json',
          extendedUsername: true,
          nc: '00000001',
        }),
      ),
      'Jäsøn Doe',
    );
    // The name as UTF-8 octets inside the quoted-string (how Node hands over header bytes).
    assertAuthenticated(
      await h.send(
        '/doe.json',
        answer(challenge, { user: 'Jäsøn Doe', uri: '/doe.json', nc: '00000002' }),
      ),
      'Jäsøn Doe',
    );
  });

  it('consumes one-time nonces and hands out nextnonce', async () => {
    const h = harness({ oneTimeNonces: true, nextnonce: true });
    const challenge = pick(await h.send('/'), 'SHA-256');
    const d = await h.send('/dir/index.html', answer(challenge, { nc: '00000001' }));
    assertAuthenticated(d);
    const info = decodeAuthenticationInfo(header(d, 'authentication-info')[0]!);
    assert.ok(info.nextnonce !== undefined && info.nextnonce !== challenge.nonce);
    const again = await h.send('/dir/index.html', answer(challenge, { nc: '00000002' }));
    assertRejected(again, 'ERR_HTTPAUTH_DIGEST_NONCE_STALE');
    assert.ok(challenges(again).every((c) => c.stale === true));
    assertAuthenticated(
      await h.send('/dir/index.html', answer({ ...challenge, nonce: info.nextnonce })),
    );
  });

  it('maps a failing credential callback to ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED (503)', async () => {
    const h = harness({
      credentials: () => {
        throw new Error('database down');
      },
    });
    const challenge = pick(await h.send('/'), 'SHA-256');
    assertRejected(
      await h.send('/dir/index.html', answer(challenge)),
      'ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED',
      503,
    );
  });
});

/** Add a user with Apache's own htdigest (apache2-utils), which reads the password twice on stdin. */
function htdigest(path: string, realm: string, user: string, password: string, create: boolean) {
  const args = create ? ['-c', path, realm, user] : [path, realm, user];
  execFileSync('htdigest', args, {
    input: `${password}\n${password}\n`,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
}

describe('Digest credential files', () => {
  it('serves an Apache htdigest file with MD5 only', async () => {
    const path = join(dir, 'users.htdigest');
    htdigest(path, REALM, 'Mufasa', 'Circle of Life', true);
    const h = harness({ credentials: htdigestFile(path, { checkIntervalMs: 0 }) });
    const d = await h.send('/');
    assert.deepEqual(
      challenges(d).map((c) => c.algorithm),
      ['MD5'],
    );
    assertAuthenticated(await h.send('/dir/index.html', answer(pick(d, 'MD5'))));
    // A client that insists on SHA-256 is refused: the file cannot verify it.
    assertRejected(
      await h.send(
        '/dir/index.html',
        answer({ ...pick(d, 'MD5'), algorithm: 'SHA-256' }, { nc: '00000002' }),
      ),
      'ERR_HTTPAUTH_DIGEST_ALGORITHM',
    );
    // A configuration asking only for algorithms the file cannot serve is an error at start-up.
    configError(() =>
      digest({ realm: REALM, credentials: htdigestFile(path), algorithms: ['SHA-256'] }),
    );
    configError(() => htdigestFile(join(dir, 'missing.htdigest')));
  });

  it('reloads an htdigest file when it changes', async () => {
    const path = join(dir, 'reload.htdigest');
    htdigest(path, REALM, 'Mufasa', 'Circle of Life', true);
    const h = harness({ credentials: htdigestFile(path, { checkIntervalMs: 0 }) });
    const first = pick(await h.send('/'), 'MD5');
    assertRejected(
      await h.send('/dir/index.html', answer(first, { user: 'Nala', password: 'pride rock' })),
      'ERR_HTTPAUTH_BAD_CREDENTIALS',
    );
    htdigest(path, REALM, 'Nala', 'pride rock', false);
    assertAuthenticated(
      await h.send(
        '/dir/index.html',
        answer(first, { user: 'Nala', password: 'pride rock', nc: '00000002' }),
      ),
      'Nala',
    );
    // A broken rewrite leaves the last good contents in force.
    appendFileSync(path, 'this is not an htdigest line\n');
    assertAuthenticated(
      await h.send(
        '/dir/index.html',
        answer(first, { user: 'Nala', password: 'pride rock', nc: '00000003' }),
      ),
      'Nala',
    );
    // Removing the user takes effect on the next request.
    writeFileSync(path, '');
    htdigest(path, REALM, 'Mufasa', 'Circle of Life', false);
    assertRejected(
      await h.send(
        '/dir/index.html',
        answer(first, { user: 'Nala', password: 'pride rock', nc: '00000004' }),
      ),
      'ERR_HTTPAUTH_BAD_CREDENTIALS',
    );
  });

  it('reads the httpauth Digest file: one HA1 per hash, escaped names, offers what every user has', async () => {
    const odd = 'we:ird, user%#';
    const path = writeFile(
      'users.digest',
      [
        '# httpauth Digest file',
        digestFileLine('Mufasa', REALM, 'Circle of Life'),
        digestFileLine(odd, REALM, 'pw'),
      ].join('\n'),
    );
    const h = harness({
      credentials: digestFile(path, { checkIntervalMs: 0 }),
      algorithms: ['SHA-512-256', 'SHA-256', 'MD5'],
    });
    const d = await h.send('/');
    assert.deepEqual(
      challenges(d).map((c) => c.algorithm),
      ['SHA-512-256', 'SHA-256', 'MD5'],
    );
    assertAuthenticated(
      await h.send(
        '/dir/index.html',
        answer(pick(d, 'SHA-512-256'), { user: odd, password: 'pw' }),
      ),
      odd,
    );
    // A user with an MD5 HA1 only: SHA-256 can no longer serve everyone, so it is withdrawn.
    appendFileSync(path, digestFileLine('Zazu', REALM, 'pw', ['MD5']) + '\n');
    assert.deepEqual(
      challenges(await h.send('/')).map((c) => c.algorithm),
      ['MD5'],
    );
  });

  it('generates lines that match the HA1 definition and refuses bad input', () => {
    const line = digestFileLine('Mufasa', 'http-auth@example.org', 'Circle of Life', [
      'SHA-256',
      'MD5',
    ]);
    assert.equal(
      line,
      'Mufasa:http-auth@example.org:SHA-256=7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232,MD5=3d78807defe7de2157e2b0b6573a855f',
    );
    configError(() => digestFileLine('', REALM, 'x'));
    configError(() => digestFileLine('a', REALM, 'x', []));
    const bad = writeFile('bad.digest', 'Mufasa:realm:SHA-1=00');
    configError(() => digestFile(bad));
  });
});

describe('Digest robustness', () => {
  it('maps misbehaving custom sources to stable codes', async () => {
    const throwing = harness({
      credentials: {
        hashes: () => ['SHA-256', 'MD5'],
        lookup: () => {
          throw new TypeError('bug in source');
        },
      },
    });
    const c1 = pick(await throwing.send('/'), 'SHA-256');
    assertRejected(
      await throwing.send('/dir/index.html', answer(c1)),
      'ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED',
      503,
    );
    const badHa1 = harness({
      credentials: { hashes: () => ['SHA-256', 'MD5'], lookup: () => ({ ha1: 'abc' }) },
    });
    const c2 = pick(await badHa1.send('/'), 'SHA-256');
    assertRejected(
      await badHa1.send('/dir/index.html', answer(c2)),
      'ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED',
      503,
    );
    // hashes() failing after start-up: nothing is offered, nothing crashes.
    let broken = false;
    const flaky = harness({
      credentials: {
        hashes: () => {
          if (broken) throw new Error('gone');
          return ['MD5'];
        },
        lookup: () => undefined,
      },
    });
    broken = true;
    const d = await flaky.send('/');
    assertRejected(d, 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
    assert.equal(challenges(d).length, 0);
  });

  it('follows a source whose hash list changes in place (the offer is cached per list content)', async () => {
    const served: DigestHash[] = ['SHA-256'];
    const h = harness({
      algorithms: ['SHA-256', 'MD5'],
      credentials: { hashes: () => served, lookup: () => ({ password: 'Circle of Life' }) },
    });
    assert.deepEqual(
      challenges(await h.send('/')).map((c) => c.algorithm),
      ['SHA-256'],
    );
    // The same array, now holding MD5 only: SHA-256 is no longer offered nor accepted.
    const sha256 = pick(await h.send('/'), 'SHA-256');
    served.splice(0, 1, 'MD5');
    assert.deepEqual(
      challenges(await h.send('/')).map((c) => c.algorithm),
      ['MD5'],
    );
    assertRejected(
      await h.send('/dir/index.html', answer(sha256)),
      'ERR_HTTPAUTH_DIGEST_ALGORITHM',
    );
    assertAuthenticated(await h.send('/dir/index.html', answer(pick(await h.send('/'), 'MD5'))));
  });

  it('accepts long request targets', async () => {
    const h = harness();
    const target = '/search?q=' + 'x'.repeat(10_000);
    const challenge = pick(await h.send(target), 'SHA-256');
    assertAuthenticated(await h.send(target, answer(challenge, { uri: target })));
  });

  it('works in proxy mode (Proxy-Authorization in, Proxy-Authentication-Info out)', async () => {
    const pkg = digest({ realm: REALM, credentials: passwordCallback });
    const auth = createAuthenticator({ packages: [pkg], proxy: true });
    const target = 'http://backend.example/dir/index.html';
    const first = await auth.authenticate({
      method: 'GET',
      target,
      headers: {},
      httpVersionMajor: 1,
      secure: false,
    });
    assertRejected(first, 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED', 407);
    const challenge = decodeChallenge(first.headers.find(([n]) => n === 'proxy-authenticate')![1]);
    const d = await auth.authenticate({
      method: 'GET',
      target,
      headers: { 'proxy-authorization': answer(challenge, { uri: target }) },
      httpVersionMajor: 1,
      secure: false,
    });
    assertAuthenticated(d);
    assert.equal(header(d, 'proxy-authentication-info').length, 1);
  });

  it('sends a non-ASCII realm as UTF-8 octets and reads it back', async () => {
    const realm = 'Zürich intranet';
    const h = harness({
      realm,
      credentials: (user, r) => (user === 'Mufasa' && r === realm ? { password: 'pw' } : undefined),
    });
    const d = await h.send('/');
    const raw = header(d, 'www-authenticate')[0]!;
    assert.ok(raw.includes(Buffer.from(realm, 'utf8').toString('latin1')));
    const challenge = pick(d, 'SHA-256');
    assert.equal(challenge.realm, realm);
    const ok = await h.send('/dir/index.html', answer(challenge, { password: 'pw' }));
    assert.equal(ok.type, 'authenticated');
  });
});

describe('Digest interoperability quirks', () => {
  it('refuses a SHA-512-256 response computed with SHA-256 (what curl 7.88 sends)', async () => {
    const h = harness({ algorithms: ['SHA-512-256', 'SHA-256'] });
    const challenge = pick(await h.send('/'), 'SHA-512-256');
    const mislabeled = encodeCredentials({
      username: 'Mufasa',
      realm: REALM,
      uri: '/x',
      algorithm: 'SHA-512-256',
      nonce: challenge.nonce,
      nc: '00000001',
      cnonce: 'abc',
      qop: 'auth',
      opaque: challenge.opaque,
      response: clientResponse({
        hash: 'SHA-256',
        username: 'Mufasa',
        realm: REALM,
        password: 'Circle of Life',
        method: 'GET',
        uri: '/x',
        nonce: challenge.nonce,
        qop: 'auth',
        nc: '00000001',
        cnonce: 'abc',
      }),
    });
    assertRejected(await h.send('/x', mislabeled), 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    assertAuthenticated(await h.send('/x', answer(challenge, { uri: '/x', nc: '00000002' })));
  });
});
