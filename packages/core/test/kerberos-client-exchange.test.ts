/**
 * The AS and TGS exchanges and the KDC verification behind Basic over Kerberos, against an
 * in-process KDC (fixtures/kerberos/fake-kdc.ts) whose replies the tests can falsify one field at
 * a time. The real MIT KDC runs in test/basic-kerberos-e2e.test.ts.
 */
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { PaDataType } from '../src/kerberos/client/pa-data.js';
import {
  offeredEnctypes,
  verifyKerberosPassword,
  type PasswordVerifierParams,
} from '../src/kerberos/client/password-verifier.js';
import { encryptionProfile, makeKey, type KerberosKey } from '../src/kerberos/crypto/index.js';
import { Keytab } from '../src/kerberos/keytab.js';
import type { PrincipalName } from '../src/kerberos/messages/principal-name.js';
import { startFakeKdc, type FakeKdcOptions, type FakeUser } from './fixtures/kerberos/fake-kdc.js';

const REALM = 'FAKE.TEST';
const SERVICE = `HTTP/web.fake.test@${REALM}`;

function user(
  enctype: number,
  password: string,
  salt: string,
  requirePreauth = true,
  s2kparams?: Buffer,
): FakeUser {
  const key = encryptionProfile(enctype)!.stringToKey(password, salt, s2kparams);
  return { key, etypeInfo: { etype: enctype, salt, s2kparams }, requirePreauth };
}

function random(enctype: number): KerberosKey {
  return makeKey(enctype, randomBytes(encryptionProfile(enctype)!.keyBytes));
}

const serviceKey = random(18);
const users = new Map<string, FakeUser>([
  // A salt that is not the default one and a non-default iteration count: only ETYPE-INFO2 tells.
  [
    `alice@${REALM}`,
    user(18, 'alice pw', 'not-the-default-salt', true, Buffer.from('00000800', 'hex')),
  ],
  [`bob@${REALM}`, user(17, 'bob pw', `${REALM}bob`, false)],
  [`erin@${REALM}`, user(20, 'erin pw', `${REALM}erin`)],
  [`rick@${REALM}`, user(23, 'rick pw', '')],
]);

function keytab(key: KerberosKey = serviceKey, realm = REALM): Keytab {
  return new Keytab([
    {
      realm,
      components: ['HTTP', 'web.fake.test'],
      nameType: 3,
      principal: `HTTP/web.fake.test@${realm}`,
      timestamp: 0,
      kvno: 1,
      enctype: key.enctype,
      key,
    },
  ]);
}

function setup(
  overrides: Partial<FakeKdcOptions> = {},
  params: Partial<PasswordVerifierParams> = {},
) {
  const kdc = startFakeKdc({
    realm: REALM,
    users,
    krbtgtKey: random(18),
    serviceKeys: new Map([[SERVICE, serviceKey]]),
    ...overrides,
  });
  const verify = (name: string, password: string) =>
    verifyKerberosPassword(
      {
        realm: REALM,
        keytab: keytab(),
        servicePrincipal: undefined,
        allowRc4: false,
        sendTo: (_realm, request) => kdc.send(request),
        now: Date.now,
        ...params,
      },
      name,
      password,
    );
  return { kdc, verify };
}

function rejectsWith(code: string, reason?: RegExp) {
  return (error: unknown): boolean => {
    const e = error as { code: string; reason?: string };
    assert.equal(e.code, code);
    if (reason !== undefined) assert.match(e.reason ?? '', reason);
    return true;
  };
}

describe('AS exchange with pre-authentication', () => {
  test('PREAUTH_REQUIRED, then PA-ENC-TIMESTAMP with the ETYPE-INFO2 salt and s2kparams, cookie echoed', async () => {
    const { kdc, verify } = setup();
    const verified = await verify('alice', 'alice pw');
    assert.equal(verified.principal, `alice@${REALM}`);
    assert.equal(verified.user, 'alice');
    assert.equal(verified.realm, REALM);
    const [first, second, tgs] = kdc.requests;
    assert.deepEqual(first?.padata, []);
    assert.deepEqual(
      second?.padata.map((pa) => pa.type),
      [PaDataType.ENC_TIMESTAMP, PaDataType.FX_COOKIE],
    );
    assert.deepEqual(first?.body.etypes, [20, 18, 19, 17]);
    // The fake KDC answered the TGS-REQ, so the authenticator's body checksum verified.
    assert.deepEqual(tgs?.body.sname?.components, ['HTTP', 'web.fake.test']);
    assert.equal(kdc.requests.length, 3);
  });

  test('the realm may be typed in lower case (a UPN); the principal has the configured spelling', async () => {
    const { kdc, verify } = setup();
    const verified = await verify('alice@fake.test', 'alice pw');
    assert.equal(verified.principal, `alice@${REALM}`);
    assert.equal(kdc.requests[0]?.body.realm, REALM);
  });

  test('AES-SHA2 (RFC 8009) keys', async () => {
    const { verify } = setup();
    assert.equal((await verify(`erin@${REALM}`, 'erin pw')).user, 'erin');
  });

  test('wrong password and unknown user: ERR_HTTPAUTH_BAD_CREDENTIALS both', async () => {
    const { verify } = setup();
    await assert.rejects(
      verify('alice', 'wrong'),
      rejectsWith('ERR_HTTPAUTH_BAD_CREDENTIALS', /PREAUTH_FAILED/),
    );
    await assert.rejects(
      verify('mallory', 'x'),
      rejectsWith('ERR_HTTPAUTH_BAD_CREDENTIALS', /C_PRINCIPAL_UNKNOWN/),
    );
  });

  test('a user without pre-authentication: the AS-REP decrypts only with the right password', async () => {
    const { kdc, verify } = setup();
    assert.equal((await verify('bob', 'bob pw')).user, 'bob');
    assert.equal(kdc.requests.length, 2);
    await assert.rejects(
      verify('bob', 'bob wrong'),
      rejectsWith('ERR_HTTPAUTH_BAD_CREDENTIALS', /does not decrypt/),
    );
  });

  test('RC4 only when allowed, and then offered last', async () => {
    assert.deepEqual(offeredEnctypes(true), [20, 18, 19, 17, 23]);
    await assert.rejects(
      setup().verify('rick', 'rick pw'),
      rejectsWith('ERR_HTTPAUTH_KDC_ERROR', /ETYPE_NOSUPP/),
    );
    assert.equal((await setup({}, { allowRc4: true }).verify('rick', 'rick pw')).user, 'rick');
  });

  test('a KDC asking for an absurd PBKDF2 iteration count is refused at once', async () => {
    const greedy = new Map(users);
    greedy.set(`alice@${REALM}`, {
      ...users.get(`alice@${REALM}`)!,
      etypeInfo: { etype: 18, salt: 'x', s2kparams: Buffer.from('00ffffff', 'hex') },
    });
    const started = Date.now();
    await assert.rejects(
      setup({ users: greedy }).verify('alice', 'alice pw'),
      rejectsWith('ERR_HTTPAUTH_KDC_ERROR', /iterations/),
    );
    assert.ok(Date.now() - started < 1000);
  });

  test('names that are not users of the realm, and empty passwords, never reach the KDC', async () => {
    const { kdc, verify } = setup();
    for (const [name, password] of [
      ['HTTP/web.fake.test', 'x'],
      ['alice@OTHER.TEST', 'alice pw'],
      ['', 'x'],
      ['alice', ''],
    ] as const) {
      await assert.rejects(verify(name, password), rejectsWith('ERR_HTTPAUTH_BAD_CREDENTIALS'));
    }
    assert.equal(kdc.requests.length, 0);
  });
});

describe('a KDC that requires FAST (RFC 6113)', () => {
  test('PA-FX-FAST without PA-ENC-TIMESTAMP: ERR_HTTPAUTH_KDC_FAST_REQUIRED before string-to-key', async () => {
    const { kdc, verify } = setup({ fast: 'required' });
    for (const password of ['alice pw', 'wrong']) {
      await assert.rejects(
        verify('alice', password),
        rejectsWith('ERR_HTTPAUTH_KDC_FAST_REQUIRED', /not offered/),
      );
    }
    // One AS-REQ per logon: no encrypted timestamp is ever sent.
    assert.equal(kdc.requests.length, 2);
    assert.ok(kdc.requests.every((r) => r.padata.length === 0));
  });

  test('a KDC that offers FAST and ignores the encrypted timestamp: the same code', async () => {
    const { kdc, verify } = setup({ fast: 'required-lists-timestamp' });
    await assert.rejects(
      verify('alice', 'alice pw'),
      rejectsWith('ERR_HTTPAUTH_KDC_FAST_REQUIRED', /ignored/),
    );
    assert.equal(kdc.requests.length, 2);
  });

  test('FAST offered beside PA-ENC-TIMESTAMP (MIT by default): the timestamp is used', async () => {
    const { kdc, verify } = setup({ fast: 'optional' });
    assert.equal((await verify('alice', 'alice pw')).principal, `alice@${REALM}`);
    assert.ok(kdc.requests[1]?.padata.some((p) => p.type === PaDataType.ENC_TIMESTAMP));
  });
});

describe('replies that do not fit the request', () => {
  const cases: [
    string,
    'AS' | 'TGS',
    (p: Parameters<NonNullable<FakeKdcOptions['tamper']>>[1]) => object,
    RegExp,
  ][] = [
    ['AS nonce', 'AS', (p) => ({ nonce: (p.nonce + 1) >>> 0 }), /nonce/],
    ['TGS nonce', 'TGS', (p) => ({ nonce: (p.nonce + 1) >>> 0 }), /nonce/],
    [
      'AS service name',
      'AS',
      () => ({ sname: { nameType: 2, components: ['krbtgt', 'EVIL.TEST'] } }),
      /service name/,
    ],
    ['TGS service realm', 'TGS', () => ({ srealm: 'EVIL.TEST' }), /service realm/],
    [
      'AS session key of an enctype not offered',
      'AS',
      () => ({ key: { keytype: 23, keyvalue: Buffer.alloc(16) } }),
      /not offered/,
    ],
  ];
  for (const [name, kind, change, reason] of cases) {
    test(`${name}: ERR_HTTPAUTH_KDC_ERROR`, async () => {
      const { verify } = setup({
        tamper: (k, part) => (k === kind ? { ...part, ...change(part) } : part),
      });
      await assert.rejects(
        verify('alice', 'alice pw'),
        rejectsWith('ERR_HTTPAUTH_KDC_ERROR', reason),
      );
    });
  }
});

describe('KDC verification with the keytab', () => {
  test('a KDC without the service key (spoofed): ERR_HTTPAUTH_KDC_UNVERIFIED', async () => {
    const { verify } = setup({ serviceKeys: new Map([[SERVICE, random(18)]]) });
    await assert.rejects(
      verify('alice', 'alice pw'),
      rejectsWith('ERR_HTTPAUTH_KDC_UNVERIFIED', /does not decrypt/),
    );
  });

  test('a service ticket naming another client: refused', async () => {
    const other: PrincipalName = { nameType: 1, components: ['admin'] };
    const { verify } = setup({ serviceTicketClient: other });
    await assert.rejects(
      verify('alice', 'alice pw'),
      rejectsWith('ERR_HTTPAUTH_KDC_UNVERIFIED', /does not match/),
    );
  });

  test('a TGS-REP announcing another session key than the ticket holds: refused', async () => {
    const { verify } = setup({
      tamper: (kind, part) =>
        kind === 'TGS' ? { ...part, key: { keytype: 18, keyvalue: randomBytes(32) } } : part,
    });
    await assert.rejects(
      verify('alice', 'alice pw'),
      rejectsWith('ERR_HTTPAUTH_KDC_UNVERIFIED', /does not match/),
    );
  });

  test('a keytab with no key for the ticket, or none of the realm: refused; the latter asks no KDC', async () => {
    await assert.rejects(
      setup({}, { keytab: keytab(random(17)) }).verify('alice', 'alice pw'),
      rejectsWith('ERR_HTTPAUTH_KDC_UNVERIFIED', /no keytab key/),
    );
    const { kdc, verify } = setup({}, { keytab: keytab(serviceKey, 'ELSEWHERE.TEST') });
    await assert.rejects(
      verify('alice', 'alice pw'),
      rejectsWith('ERR_HTTPAUTH_KDC_UNVERIFIED', /no key of realm/),
    );
    assert.equal(kdc.requests.length, 0);
  });

  test('an explicit servicePrincipal the KDC does not know: ERR_HTTPAUTH_KDC_ERROR', async () => {
    const { verify } = setup({}, { servicePrincipal: `HTTP/unknown.fake.test@${REALM}` });
    await assert.rejects(
      verify('alice', 'alice pw'),
      rejectsWith('ERR_HTTPAUTH_KDC_ERROR', /S_PRINCIPAL_UNKNOWN/),
    );
  });
});
