/**
 * Basic with Kerberos passwords against an Active Directory KDC (the Samba AD DC harness, which
 * takes a machine-wide lock: this file keeps its run short). AD salts keys with its own
 * ETYPE-INFO2 rules and answers disabled and expired accounts with its own KRB-ERRORs; the
 * service key the KDC is verified with is the service account's, exported by samba-tool.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { curlBasic, listenBasicKerberos } from './harness/basic-kerberos.js';
import { DEFAULT_SAMBA_USERS, startSambaDc, type SambaDc } from './harness/samba-dc.js';
import { selfSignedCertificate } from './support/tls.js';

const alice = DEFAULT_SAMBA_USERS[0] as { name: string; password: string };
const DISABLED = { name: 'dora', password: 'D0ra-Passw0rd!', state: 'disabled' as const };
const EXPIRED = { name: 'ed', password: 'Ed-Passw0rd!1', state: 'passwordExpired' as const };
const reasons: (string | undefined)[] = [];

let dc: SambaDc;
const servers: { close(): unknown }[] = [];
let url = '';

before(async () => {
  dc = await startSambaDc({ users: [alice, DISABLED, EXPIRED] });
  url = await listenBasicKerberos(
    selfSignedCertificate(),
    {
      realm: dc.realm,
      keytab: dc.keytabPath,
      servicePrincipal: `HTTP/localhost@${dc.realm}`,
      krb5Conf: dc.krb5Conf,
    },
    servers,
    (refusal) => reasons.push(refusal.reason),
  );
});

after(async () => {
  for (const server of servers) server.close();
  await dc?.stop();
});

const curlDc = (user: string, password: string) => curlBasic(url, user, password);

describe('Basic over Kerberos against the Samba AD DC', () => {
  test('alice logs on with her AD password; the KDC is verified with the service keytab', async () => {
    const ok = await curlDc(alice.name, alice.password);
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual(JSON.parse(ok.body), {
      name: `alice@${dc.realm}`,
      user: 'alice',
      realm: dc.realm,
      mechanism: 'Basic',
    });
  });

  test('wrong password and unknown user: the same 401', async () => {
    for (const [user, password] of [
      [alice.name, 'Wr0ng-Passw0rd!'],
      ['nobody', 'Wr0ng-Passw0rd!'],
    ] as const) {
      const answer = await curlDc(user, password);
      assert.equal(answer.status, 401);
      assert.equal(answer.body, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    }
  });

  test('a disabled account and an expired password get their own codes', async () => {
    const disabled = await curlDc(DISABLED.name, DISABLED.password);
    assert.equal(disabled.status, 401);
    assert.equal(disabled.body, 'ERR_HTTPAUTH_ACCOUNT_LOCKED', reasons.at(-1));
    const expired = await curlDc(EXPIRED.name, EXPIRED.password);
    assert.equal(expired.status, 401);
    assert.equal(expired.body, 'ERR_HTTPAUTH_PASSWORD_EXPIRED', reasons.at(-1));
  });
});
