/**
 * Connection persistence under Negotiate: `kerberos: { persistOnConnection }` and
 * `ntlm: { persistOnConnection }`, the name ntlm() uses, with the deprecated `persistNtlm` / `persistKerberos` still honoured (a user who
 * set `persistNtlm: false` behind a proxy must not silently get persistent connections back).
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createAuthenticator, Keytab, negotiate } from '../src/index.js';
import { encodeKeytab } from '../src/wire.js';
import type { AuthDecision, NegotiateOptions } from '../src/index.js';
import { persistence } from '../src/negotiate/persistence.js';
import { ntowfv1 } from '../src/ntlm/keys.js';
import { getRequest } from './fixtures/http-request.js';
import { forgeCurrentApReq, randomKey } from './fixtures/kerberos/forge.js';
import { authenticate, negotiate as ntlmNegotiate } from './ntlm-client.js';

const invalidOptions = (error: unknown) =>
  error instanceof Error && (error as { code?: string }).code === 'ERR_HTTPAUTH_INVALID_OPTIONS';

describe('persistence()', () => {
  it('defaults: NTLM persists (as IIS), Kerberos does not', () => {
    assert.deepEqual(persistence({}), { ntlm: true, kerberos: false });
    assert.deepEqual(persistence({ ntlm: {}, kerberos: {} }), { ntlm: true, kerberos: false });
  });

  it('takes persistOnConnection inside kerberos: and ntlm:, and the deprecated names', () => {
    assert.deepEqual(
      persistence({
        ntlm: { persistOnConnection: false },
        kerberos: { persistOnConnection: true },
      }),
      { ntlm: false, kerberos: true },
    );
    assert.deepEqual(persistence({ persistNtlm: false, persistKerberos: true }), {
      ntlm: false,
      kerberos: true,
    });
  });

  it('refuses both spellings at once, and anything but booleans', () => {
    assert.throws(
      () => persistence({ ntlm: { persistOnConnection: false }, persistNtlm: false }),
      invalidOptions,
    );
    assert.throws(
      () => persistence({ kerberos: { persistOnConnection: true }, persistKerberos: true }),
      invalidOptions,
    );
    for (const bad of [null, 'yes', [], 1]) {
      assert.throws(
        () => persistence({ ntlm: { persistOnConnection: bad as unknown as boolean } }),
        invalidOptions,
      );
    }
  });

  it('on random input either answers two booleans or refuses with INVALID_OPTIONS', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            ntlm: fc.record({ persistOnConnection: fc.anything() }, { requiredKeys: [] }),
            kerberos: fc.record({ persistOnConnection: fc.anything() }, { requiredKeys: [] }),
            persistNtlm: fc.anything(),
            persistKerberos: fc.anything(),
          },
          { requiredKeys: [] },
        ),
        (options) => {
          try {
            const result = persistence(options as Parameters<typeof persistence>[0]);
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
  const { kerberos, ...rest } = options;
  const auth = createAuthenticator({
    packages: [negotiate({ ...rest, kerberos: { keytab, ...kerberos } })],
  });
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
  const { ntlm: ntlmOptions, ...rest } = options;
  const auth = createAuthenticator({
    packages: [negotiate({ ...rest, kerberos: { keytab }, ntlm: { ...ntlm, ...ntlmOptions } })],
  });
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
  it('Kerberos: off by default, on with kerberos.persistOnConnection or the old persistKerberos', async () => {
    assert.equal(await kerberosPersists({}), false);
    assert.equal(await kerberosPersists({ kerberos: { persistOnConnection: true } }), true);
    assert.equal(await kerberosPersists({ persistKerberos: true }), true);
  });

  it('NTLM: on by default, off with ntlm.persistOnConnection or the old persistNtlm', async () => {
    assert.equal(await ntlmPersists({}), true);
    assert.equal(await ntlmPersists({ ntlm: { ...ntlm, persistOnConnection: false } }), false);
    assert.equal(await ntlmPersists({ persistNtlm: false }), false);
  });
});
