/**
 * Connection persistence under Negotiate: `persistOnConnection: { ntlm, kerberos }`, the name
 * ntlm() uses, with the deprecated `persistNtlm` / `persistKerberos` still honoured (a user who
 * set `persistNtlm: false` behind a proxy must not silently get persistent connections back).
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createAuthenticator, Keytab, negotiate } from '../src/index.js';
import { encodeKeytab } from '../src/wire.js';
import type { AuthDecision, NegotiateOptions } from '../src/index.js';
import { resolvePersistence } from '../src/negotiate/persistence.js';
import { ntowfv1 } from '../src/ntlm/keys.js';
import { getRequest } from './fixtures/http-request.js';
import { forgeCurrentApReq, randomKey } from './fixtures/kerberos/forge.js';
import { authenticate, negotiate as ntlmNegotiate } from './ntlm-client.js';

const invalidOptions = (error: unknown) =>
  error instanceof Error && (error as { code?: string }).code === 'ERR_HTTPAUTH_INVALID_OPTIONS';

describe('resolvePersistence', () => {
  it('defaults: NTLM persists (as IIS), Kerberos does not', () => {
    assert.deepEqual(resolvePersistence({}), { ntlm: true, kerberos: false });
    assert.deepEqual(resolvePersistence({ persistOnConnection: {} }), {
      ntlm: true,
      kerberos: false,
    });
  });

  it('takes persistOnConnection, and the deprecated names when it is absent', () => {
    assert.deepEqual(resolvePersistence({ persistOnConnection: { ntlm: false, kerberos: true } }), {
      ntlm: false,
      kerberos: true,
    });
    assert.deepEqual(resolvePersistence({ persistNtlm: false, persistKerberos: true }), {
      ntlm: false,
      kerberos: true,
    });
    // Both names agreeing is fine (a migration in progress).
    assert.deepEqual(
      resolvePersistence({ persistOnConnection: { ntlm: false }, persistNtlm: false }),
      { ntlm: false, kerberos: false },
    );
  });

  it('refuses the two names disagreeing, and anything but booleans', () => {
    assert.throws(
      () => resolvePersistence({ persistOnConnection: { ntlm: true }, persistNtlm: false }),
      invalidOptions,
    );
    assert.throws(
      () => resolvePersistence({ persistOnConnection: { kerberos: false }, persistKerberos: true }),
      invalidOptions,
    );
    for (const bad of [null, true, 'yes', [], 1]) {
      assert.throws(
        () => resolvePersistence({ persistOnConnection: bad } as unknown as NegotiateOptions),
        invalidOptions,
      );
    }
    assert.throws(
      () =>
        resolvePersistence({ persistOnConnection: { ntlm: 'no' } } as unknown as NegotiateOptions),
      invalidOptions,
    );
  });

  it('on random input either answers two booleans or refuses with INVALID_OPTIONS', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            persistOnConnection: fc.oneof(fc.anything(), fc.record({ ntlm: fc.anything() })),
            persistNtlm: fc.anything(),
            persistKerberos: fc.anything(),
          },
          { requiredKeys: [] },
        ),
        (options) => {
          try {
            const result = resolvePersistence(options as NegotiateOptions);
            assert.equal(typeof result.ntlm, 'boolean');
            assert.equal(typeof result.kerberos, 'boolean');
          } catch (error) {
            assert.ok(invalidOptions(error), String(error));
          }
        },
      ),
    );
  });
});

const serviceKey = randomKey(18);
const keytab = Keytab.parse(
  encodeKeytab([
    { realm: 'EXAMPLE.TEST', components: ['HTTP', 'localhost'], kvno: 2, key: serviceKey },
  ]),
);
const ntlm = {
  domain: 'EXAMPLE',
  credentials: (user: string) => (user.toLowerCase() === 'bob' ? ntowfv1('Bob-pw1') : undefined),
};

function request(connection: EventEmitter, authorization?: string) {
  return { ...getRequest(authorization), connection };
}

function challengeToken(decision: AuthDecision): Buffer {
  const value = decision.headers.find(([name]) => name === 'www-authenticate')?.[1] ?? '';
  assert.match(value, /^Negotiate [A-Za-z0-9+/]+=*$/);
  return Buffer.from(value.slice('Negotiate '.length), 'base64');
}

/** A Kerberos logon on `connection`, then a request without credentials on it: answered? */
async function kerberosPersists(options: NegotiateOptions): Promise<boolean> {
  const auth = createAuthenticator({ packages: [negotiate({ keytab, ...options })] });
  const token = forgeCurrentApReq(serviceKey);
  const connection = new EventEmitter();
  const logon = await auth.authenticate(
    request(connection, `Negotiate ${token.toString('base64')}`),
  );
  assert.equal(logon.type, 'authenticated');
  return (await auth.authenticate(request(connection))).type === 'authenticated';
}

/** A raw NTLMSSP logon under Negotiate on `connection`, then a request without credentials. */
async function ntlmPersists(options: NegotiateOptions): Promise<boolean> {
  const auth = createAuthenticator({ packages: [negotiate({ keytab, ntlm, ...options })] });
  const connection = new EventEmitter();
  const type1 = ntlmNegotiate();
  const second = await auth.authenticate(
    request(connection, `Negotiate ${type1.toString('base64')}`),
  );
  const type3 = authenticate(type1, challengeToken(second), {
    user: 'bob',
    password: 'Bob-pw1',
    domain: 'EXAMPLE',
  }).message;
  const logon = await auth.authenticate(
    request(connection, `Negotiate ${type3.toString('base64')}`),
  );
  assert.equal(logon.type, 'authenticated');
  return (await auth.authenticate(request(connection))).type === 'authenticated';
}

describe('Negotiate: persistOnConnection', () => {
  it('Kerberos: off by default, on with persistOnConnection.kerberos or the old persistKerberos', async () => {
    assert.equal(await kerberosPersists({}), false);
    assert.equal(await kerberosPersists({ persistOnConnection: { kerberos: true } }), true);
    assert.equal(await kerberosPersists({ persistKerberos: true }), true);
  });

  it('NTLM: on by default, off with persistOnConnection.ntlm or the old persistNtlm', async () => {
    assert.equal(await ntlmPersists({}), true);
    assert.equal(await ntlmPersists({ persistOnConnection: { ntlm: false } }), false);
    assert.equal(await ntlmPersists({ persistNtlm: false }), false);
  });
});
