/**
 * Basic over Kerberos against an MIT KDC that requires FAST (RFC 6113) for passwords: its
 * kdc.conf disables the encrypted_timestamp pre-authentication module, so a principal with
 * +requires_preauth can prove its password only with encrypted challenge (RFC 6113 §5.4.6),
 * which exists only inside a FAST tunnel. httpauth does not armor AS requests: the logon fails
 * with the stable ERR_HTTPAUTH_KDC_FAST_REQUIRED (503), never as a wrong password. MIT's own
 * kinit shows the account is fine when armored (kinit -T with the service's TGT as armor).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { basic, createAuthenticator, type Authenticator } from '@httpauth/core';
import { startMitKdc, type MitKdc } from './harness/mit-kdc.js';

const FAY_PASSWORD = 'fay-fast-pw-1';
const PAT_PASSWORD = 'pat-plain-pw-2';

let kdc: MitKdc;
let auth: Authenticator;

async function logon(user: string, password: string) {
  const token = Buffer.from(`${user}:${password}`).toString('base64');
  const decision = await auth.authenticate({
    method: 'GET',
    target: '/',
    headers: { authorization: `Basic ${token}` },
    httpVersionMajor: 1,
    secure: true,
  });
  if (decision.type === 'authenticated') return { principal: decision.auth.principal.name };
  return { status: decision.status, code: decision.error?.code, reason: decision.error?.reason };
}

before(async () => {
  kdc = await startMitKdc({
    realm: 'FAST.TEST',
    principals: [
      { name: 'fay', password: FAY_PASSWORD, options: ['+requires_preauth'] },
      // Without required pre-authentication the KDC answers the first AS-REQ: no FAST needed.
      { name: 'pat', password: PAT_PASSWORD },
      { name: 'HTTP/localhost' },
    ],
    extraKdcConf: '\n[plugins]\n    kdcpreauth = {\n        disable = encrypted_timestamp\n    }\n',
  });
  auth = createAuthenticator({
    packages: [
      basic({
        realm: 'intranet',
        kerberos: { realm: kdc.realm, keytab: kdc.keytabPath, krb5Conf: kdc.krb5Conf },
      }),
    ],
  });
});

after(async () => {
  await kdc?.stop();
});

describe('Basic over Kerberos, KDC requiring FAST (MIT)', () => {
  test('the account logs on with MIT kinit armored by the service TGT (the realm works)', () => {
    const armor = join(kdc.dir, 'armor.ccache');
    const service = spawnSync(
      'kinit',
      ['-k', '-t', kdc.keytabPath, '-c', `FILE:${armor}`, `HTTP/localhost@${kdc.realm}`],
      { env: kdc.env, encoding: 'utf8' },
    );
    assert.equal(service.status, 0, service.stderr);
    const env = { ...kdc.env, KRB5CCNAME: `FILE:${join(kdc.dir, 'fay.ccache')}` };
    const plain = spawnSync('kinit', [`fay@${kdc.realm}`], {
      env,
      input: `${FAY_PASSWORD}\n`,
      encoding: 'utf8',
    });
    assert.notEqual(plain.status, 0, 'unarmored kinit must fail: the realm requires FAST');
    const armored = spawnSync('kinit', ['-T', `FILE:${armor}`, `fay@${kdc.realm}`], {
      env,
      input: `${FAY_PASSWORD}\n`,
      encoding: 'utf8',
    });
    assert.equal(armored.status, 0, armored.stderr);
  });

  test('a user who needs FAST: ERR_HTTPAUTH_KDC_FAST_REQUIRED, whatever the password', async () => {
    for (const password of [FAY_PASSWORD, 'not-the-password']) {
      const answer = await logon('fay', password);
      assert.equal(answer.status, 503);
      assert.equal(answer.code, 'ERR_HTTPAUTH_KDC_FAST_REQUIRED');
      assert.match(answer.reason ?? '', /requires FAST armoring \(PA-ENC-TIMESTAMP not offered\)/);
    }
  });

  test('a user without required pre-authentication still logs on; unknown users are refused', async () => {
    assert.deepEqual(await logon('pat', PAT_PASSWORD), { principal: `pat@${kdc.realm}` });
    const unknown = await logon('nobody', FAY_PASSWORD);
    assert.equal(unknown.code, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
  });
});
