/**
 * basic({ kerberos }) options and wiring: exactly one password check, option validation, the
 * plain-HTTP refusal (no KDC is asked) and the warning when it is lifted, and a logon through the
 * real UDP transport to the in-process KDC (fixtures/kerberos/fake-kdc.ts). The MIT KDC and real
 * clients run in test/basic-kerberos-e2e.test.ts.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { basic, BASIC_KERBEROS_INSECURE_WARNING } from '../src/basic/basic.js';
import type { BasicKerberosOptions } from '../src/basic/kerberos.js';
import { encodeBasicToken } from '../src/basic/credentials.js';
import { createAuthenticator } from '../src/loop/authenticator.js';
import { encryptionProfile, makeKey } from '../src/kerberos/crypto/index.js';
import { Keytab } from '../src/kerberos/keytab.js';
import { MemoryStore } from '../src/store/memory.js';
import { startFakeKdc } from './fixtures/kerberos/fake-kdc.js';

const REALM = 'FAKE.TEST';
const serviceKey = makeKey(18, randomBytes(32));
const keytab = new Keytab([
  {
    realm: REALM,
    components: ['HTTP', 'web.fake.test'],
    nameType: 3,
    principal: `HTTP/web.fake.test@${REALM}`,
    timestamp: 0,
    kvno: 1,
    enctype: 18,
    key: serviceKey,
  },
]);
const fake = startFakeKdc({
  realm: REALM,
  users: new Map([
    [
      `alice@${REALM}`,
      {
        key: encryptionProfile(18)!.stringToKey('alice pw', `${REALM}alice`),
        etypeInfo: { etype: 18, salt: `${REALM}alice`, s2kparams: undefined },
        requirePreauth: true,
      },
    ],
  ]),
  krbtgtKey: makeKey(18, randomBytes(32)),
  serviceKeys: new Map([[`HTTP/web.fake.test@${REALM}`, serviceKey]]),
});

// The fake KDC behind a real UDP socket, so the package's own transport carries the exchange.
const udp = createSocket('udp4');
let kdcAddress = '';
before(async () => {
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  kdcAddress = `127.0.0.1:${(udp.address() as AddressInfo).port}`;
  udp.on('message', (message, from) => {
    void fake.send(message).then((reply) => udp.send(reply, from.port, from.address));
  });
});
after(() => udp.close());

function kerberos(extra: Partial<BasicKerberosOptions> = {}): BasicKerberosOptions {
  return { realm: REALM, keytab, kdcs: [kdcAddress], timeoutMs: 1000, ...extra };
}

function send(
  options: BasicKerberosOptions,
  user: string,
  password: string,
  secure = true,
  allowInsecure = false,
) {
  const auth = createAuthenticator({
    packages: [basic({ realm: 'intranet', kerberos: options, allowInsecure })],
    store: new MemoryStore(),
  });
  return auth.authenticate({
    method: 'GET',
    target: '/',
    headers: { authorization: `Basic ${encodeBasicToken({ user, password })}` },
    httpVersionMajor: 1,
    secure,
  });
}

describe('basic({ kerberos })', () => {
  it('logs on through the UDP transport as user@REALM', async () => {
    const decision = await send(kerberos(), 'alice', 'alice pw');
    assert.equal(decision.type, 'authenticated');
    if (decision.type !== 'authenticated') return;
    assert.deepEqual(decision.auth.principal, {
      name: `alice@${REALM}`,
      user: 'alice',
      realm: REALM,
      mechanism: 'Basic',
    });
    const wrong = await send(kerberos(), 'alice', 'nope');
    assert.equal(wrong.type, 'respond');
    if (wrong.type === 'respond') {
      assert.equal(wrong.status, 401);
      assert.equal(wrong.error.code, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    }
  });

  it('failure events carry the KDC reason for the operator, and never the password', async () => {
    const events: unknown[] = [];
    const listener = (event: unknown): void => {
      events.push(event);
    };
    subscribe('httpauth:failure', listener);
    subscribe('httpauth:success', listener);
    try {
      await send(kerberos(), 'alice', 'secret-guess-1');
      await send(kerberos(), 'mallory', 'secret-guess-2');
      await send(kerberos(), 'alice', 'alice pw');
    } finally {
      unsubscribe('httpauth:failure', listener);
      unsubscribe('httpauth:success', listener);
    }
    assert.deepEqual(
      events.map((e) => (e as { reason?: string }).reason),
      ['AS: KDC_ERR_PREAUTH_FAILED (24)', 'AS: KDC_ERR_C_PRINCIPAL_UNKNOWN (6)', undefined],
    );
    assert.equal((events[0] as { code: string }).code, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    assert.equal((events[2] as { name: string }).name, `alice@${REALM}`);
    const text = JSON.stringify(events);
    for (const password of ['secret-guess-1', 'secret-guess-2', 'alice pw']) {
      assert.equal(text.includes(password), false);
    }
  });

  it('refuses plain HTTP before any KDC is asked', async () => {
    const before = fake.requests.length;
    const decision = await send(kerberos(), 'alice', 'alice pw', false);
    assert.equal(decision.type, 'respond');
    if (decision.type === 'respond')
      assert.equal(decision.error.code, 'ERR_HTTPAUTH_INSECURE_TRANSPORT');
    assert.equal(fake.requests.length, before);
  });

  it('warns when Basic over Kerberos is allowed on plain HTTP, and only then', () => {
    const warnings: string[] = [];
    const original = process.emitWarning;
    process.emitWarning = ((_message: string, options?: { code?: string }) => {
      warnings.push(options?.code ?? '');
    }) as typeof process.emitWarning;
    try {
      basic({ realm: 'intranet', kerberos: kerberos() });
      assert.deepEqual(warnings, []);
      basic({ realm: 'intranet', kerberos: kerberos(), allowInsecure: true });
      assert.deepEqual(warnings, [BASIC_KERBEROS_INSECURE_WARNING]);
    } finally {
      process.emitWarning = original;
    }
  });

  it('needs exactly one of verify and kerberos, and valid Kerberos options', () => {
    const invalid = { code: 'ERR_HTTPAUTH_INVALID_OPTIONS' };
    assert.throws(() => basic({ realm: 'r' }), invalid);
    assert.throws(() => basic({ realm: 'r', verify: () => true, kerberos: kerberos() }), invalid);
    for (const bad of [
      { realm: '' },
      { realm: 'A B' },
      { kdcs: ['host:0'] },
      { kdcs: 'host' as unknown as string[] },
      { timeoutMs: 0 },
      { timeoutMs: 1.5 },
      { krb5Conf: '/nonexistent/krb5.conf', kdcs: undefined },
    ]) {
      assert.throws(
        () => basic({ realm: 'r', kerberos: kerberos(bad) }),
        invalid,
        JSON.stringify(bad),
      );
    }
  });

  it('no KDC configured or discoverable: 503 ERR_HTTPAUTH_KDC_UNAVAILABLE', async () => {
    const decision = await send(
      kerberos({
        kdcs: undefined,
        krb5Conf: undefined,
        dnsLookupKdc: true,
        resolveSrv: async () => [],
      }),
      'alice',
      'alice pw',
    );
    assert.equal(decision.type, 'respond');
    if (decision.type === 'respond') {
      assert.equal(decision.status, 503);
      assert.equal(decision.error.code, 'ERR_HTTPAUTH_KDC_UNAVAILABLE');
    }
  });
});
