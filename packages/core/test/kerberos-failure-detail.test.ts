/**
 * The operator-only detail of a refused Kerberos ticket (kerberos/failure-detail.ts): the ticket's
 * service principal, kvno and enctype against the keytab, the clock difference on skew, the
 * client's realm, which PAC or transited check failed; through the acceptor and through
 * Negotiate into the failure event. Never a key, a token or a session key.
 */
import * as assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, test } from 'node:test';
import { CHANNEL_FAILURE, type FailureEvent } from '../src/events.js';
import { KerberosAcceptor } from '../src/kerberos/acceptor.js';
import { encodeKeytab, Keytab } from '../src/kerberos/keytab.js';
import { createAuthenticator } from '../src/loop/authenticator.js';
import { negotiate } from '../src/negotiate/negotiate.js';
import { MemoryStore } from '../src/store/memory.js';
import {
  encodeClientInfo,
  encodePac,
  forgeApReq,
  pacAuthorizationData,
  randomKey,
  type ForgeOptions,
} from './fixtures/kerberos/forge.js';
import { getRequest } from './fixtures/http-request.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const HOUR = 3600_000;
const aes256 = randomKey(18);
const aes128 = randomKey(17);
const krbtgt = randomKey(18);
const keytab = Keytab.parse(
  encodeKeytab([
    { realm: 'EXAMPLE.TEST', components: ['HTTP', 'localhost'], kvno: 2, key: aes256 },
    { realm: 'EXAMPLE.TEST', components: ['HTTP', 'localhost'], kvno: 2, key: aes128 },
  ]),
);

function forge(overrides: Partial<ForgeOptions> = {}) {
  return forgeApReq({
    serviceKey: aes256,
    kvno: 2,
    authtime: NOW - HOUR,
    endtime: NOW + 9 * HOUR,
    ctime: NOW - 2000,
    ...overrides,
  });
}

async function refusal(token: Buffer) {
  const result = await new KerberosAcceptor({ keytab }).accept(token, {
    store: new MemoryStore(),
    now: NOW,
    channelBinding: undefined,
  });
  assert.equal(result.ok, false);
  if (result.ok) throw new Error('accepted');
  return result.error;
}

/** No secret in what the operator sees: the token, the service keys, the ticket session key. */
function assertNoSecrets(serialized: string, forged: ReturnType<typeof forge>): void {
  const secrets = [
    forged.token.toString('base64'),
    forged.token.toString('hex'),
    forged.sessionKey.bytes.toString('hex'),
    forged.sessionKey.bytes.toString('base64'),
    aes256.bytes.toString('hex'),
    aes128.bytes.toString('hex'),
  ];
  for (const secret of secrets) assert.ok(!serialized.includes(secret), 'a secret leaked');
}

describe('Kerberos failure detail', () => {
  test('a ticket for a kvno the keytab lacks names both sides', async () => {
    const forged = forge({ kvno: 7 });
    const error = await refusal(forged.token);
    assert.equal(error.code, 'ERR_HTTPAUTH_KRB_NO_KEY');
    assert.deepEqual(error.detail, {
      servicePrincipal: 'HTTP/localhost@EXAMPLE.TEST',
      ticketEnctype: 18,
      ticketKvno: 7,
      keytabKvnos: '2',
      keytabEnctypes: '17,18',
    });
    assertNoSecrets(JSON.stringify(error.detail), forged);
  });

  test('a ticket for another service lists what the keytab holds instead', async () => {
    const forged = forge({ service: ['HTTP', 'elsewhere.test'] });
    const error = await refusal(forged.token);
    assert.equal(error.code, 'ERR_HTTPAUTH_KRB_WRONG_SERVICE');
    assert.equal(error.detail?.servicePrincipal, 'HTTP/elsewhere.test@EXAMPLE.TEST');
    assert.equal(error.detail?.keytabPrincipals, 'HTTP/localhost@EXAMPLE.TEST');
    assert.equal(error.detail?.keytabKvnos, '');
  });

  test('a ticket under a key the keytab has but that does not decrypt (stale keytab)', async () => {
    const forged = forge({ serviceKey: randomKey(18) });
    const error = await refusal(forged.token);
    assert.equal(error.code, 'ERR_HTTPAUTH_KRB_MODIFIED');
    assert.equal(error.detail?.keytabKvnos, '2');
    assertNoSecrets(JSON.stringify(error.detail), forged);
  });

  test('skew: the signed clock difference in seconds, the allowed skew and the client realm', async () => {
    for (const [offset, expected] of [
      [-301_000, -301],
      [+400_000, 400],
    ] as const) {
      const forged = forge({ ctime: NOW + offset, clientRealm: 'EXAMPLE.TEST' });
      const error = await refusal(forged.token);
      assert.equal(error.code, 'ERR_HTTPAUTH_KRB_SKEW');
      assert.equal(error.detail?.clockDifferenceSeconds, expected);
      assert.equal(error.detail?.allowedSkewSeconds, 300);
      assert.equal(error.detail?.clientRealm, 'EXAMPLE.TEST');
      assert.equal(error.detail?.servicePrincipal, 'HTTP/localhost@EXAMPLE.TEST');
      assert.equal(error.detail?.keytabKvnos, undefined, 'no keytab inventory for a clock fault');
      assertNoSecrets(JSON.stringify(error.detail), forged);
    }
  });

  test('an expired ticket says since when', async () => {
    const error = await refusal(forge({ authtime: NOW - 10 * HOUR, endtime: NOW - HOUR }).token);
    assert.equal(error.code, 'ERR_HTTPAUTH_KRB_TICKET_EXPIRED');
    assert.equal(error.detail?.secondsSinceExpiry, 3600);
  });

  test('PAC failures name the check and the client realm', async () => {
    const authtime = NOW - HOUR;
    const signedElsewhere = encodePac(
      [{ type: 10, data: encodeClientInfo(authtime, 'alice') }],
      randomKey(18),
      krbtgt,
    );
    const otherAuthtime = encodePac(
      [{ type: 10, data: encodeClientInfo(authtime - 60_000, 'alice') }],
      aes256,
      krbtgt,
    );
    const otherName = encodePac(
      [{ type: 10, data: encodeClientInfo(authtime, 'mallory') }],
      aes256,
      krbtgt,
    );
    const cases = [
      [signedElsewhere, 'ERR_HTTPAUTH_KRB_PAC_INVALID', 'pac-server-signature'],
      [otherAuthtime, 'ERR_HTTPAUTH_KRB_PAC_INVALID', 'pac-client-info-authtime'],
      [otherName, 'ERR_HTTPAUTH_KRB_PAC_CLIENT_MISMATCH', 'pac-client-info-name'],
      [Buffer.from([1, 2, 3]), 'ERR_HTTPAUTH_KRB_PAC_INVALID', 'pac-structure'],
    ] as const;
    for (const [pac, code, check] of cases) {
      const error = await refusal(
        forge({ ticketAuthorizationData: pacAuthorizationData(pac) }).token,
      );
      assert.equal(error.code, code);
      assert.equal(error.detail?.check, check);
      assert.equal(error.detail?.clientRealm, 'EXAMPLE.TEST');
    }
  });

  test('an unchecked transited path names the realms nobody vouched for', async () => {
    const forged = forge({
      clientRealm: 'FAR.TEST',
      transited: { trType: 1, contents: Buffer.from('MIDDLE.TEST') },
    });
    const error = await refusal(forged.token);
    assert.equal(error.code, 'ERR_HTTPAUTH_KRB_TRANSITED_UNCHECKED');
    assert.equal(error.detail?.check, 'transited');
    assert.equal(error.detail?.untrustedRealms, 'MIDDLE.TEST');
    assert.equal(error.detail?.clientRealm, 'FAR.TEST');
  });

  test('through Negotiate, the detail reaches the failure event, with no secret in it', async () => {
    const auth = createAuthenticator({
      packages: [negotiate({ kerberos: { keytab } })],
      store: new MemoryStore(),
    });
    const events: FailureEvent[] = [];
    const listener = (message: unknown) => events.push(message as FailureEvent);
    const forged = forgeApReq({
      serviceKey: aes256,
      kvno: 9,
      authtime: Date.now() - HOUR,
      endtime: Date.now() + HOUR,
      ctime: Date.now(),
    });
    subscribe(CHANNEL_FAILURE, listener);
    try {
      await auth.authenticate(getRequest(`Negotiate ${forged.token.toString('base64')}`));
    } finally {
      unsubscribe(CHANNEL_FAILURE, listener);
    }
    assert.equal(events.length, 1);
    const [event] = events;
    assert.equal(event!.code, 'ERR_HTTPAUTH_KRB_NO_KEY');
    assert.equal(event!.detail?.ticketKvno, 9);
    assert.equal(event!.detail?.keytabKvnos, '2');
    assert.equal(event!.path, '/x');
    assertNoSecrets(JSON.stringify(event), forged);
  });
});
