/**
 * Basic over Kerberos against an MIT KDC that requires FAST (RFC 6113) for passwords: its
 * kdc.conf disables the encrypted_timestamp pre-authentication module, so a principal with
 * +requires_preauth can prove its password only with encrypted challenge (RFC 6113 §5.4.6),
 * which exists only inside a FAST tunnel. httpauth armors the AS exchange with the service's own
 * TGT from the keytab (kerberos/client/fast-as-exchange.ts), as MIT's kinit -T does with an armor
 * ccache; the KDC is then verified with the keytab as for any logon.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { basic, createAuthenticator, type Authenticator } from '@httpauth/core';
import { startMitKdc, type MitKdc } from './harness/mit-kdc.js';

const FAY_PASSWORD = 'fay-fast-pw-1';
const PAT_PASSWORD = 'pat-plain-pw-2';
const SAM_PASSWORD = 'sam-sha1-pw-3';

let kdc: MitKdc;
let spoof: MitKdc;
let auth: Authenticator;

async function logon(user: string, password: string, with_ = auth) {
  const token = Buffer.from(`${user}:${password}`).toString('base64');
  const decision = await with_.authenticate({
    method: 'GET',
    target: '/',
    headers: { authorization: `Basic ${token}` },
    httpVersionMajor: 1,
    secure: true,
  });
  if (decision.type === 'authenticated') return { principal: decision.auth.principal.name };
  return { status: decision.status, code: decision.error?.code, reason: decision.error?.reason };
}

const FAST_ONLY = '\n[plugins]\n    kdcpreauth = {\n        disable = encrypted_timestamp\n    }\n';

before(async () => {
  // The spoofed KDC: same realm name, user and password, FAST required, its own keys.
  spoof = await startMitKdc({
    realm: 'FAST.TEST',
    principals: [
      { name: 'fay', password: FAY_PASSWORD, options: ['+requires_preauth'] },
      { name: 'HTTP/localhost' },
    ],
    extraKdcConf: FAST_ONLY,
  });
  kdc = await startMitKdc({
    realm: 'FAST.TEST',
    principals: [
      { name: 'fay', password: FAY_PASSWORD, options: ['+requires_preauth'] },
      // Without required pre-authentication the KDC answers the first AS-REQ: no FAST needed.
      { name: 'pat', password: PAT_PASSWORD },
      // AES-SHA1 only: the challenge key mixes an AES-SHA2 armor key with an AES-SHA1 user key.
      {
        name: 'sam',
        password: SAM_PASSWORD,
        options: ['+requires_preauth'],
        enctypes: ['aes256-cts-hmac-sha1-96'],
      },
      { name: 'HTTP/localhost' },
    ],
    extraKdcConf: FAST_ONLY,
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
  await spoof?.stop();
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

  test('a user who needs FAST logs on: the AS exchange is armored with the service TGT', async () => {
    assert.deepEqual(await logon('fay', FAY_PASSWORD), { principal: `fay@${kdc.realm}` });
    assert.deepEqual(await logon('sam', SAM_PASSWORD), { principal: `sam@${kdc.realm}` });
    // The KDC issued the TGTs that an unarmored AS-REQ cannot get (the first test).
    const log = readFileSync(join(kdc.dir, 'kdc.log'), 'utf8');
    assert.match(log, /ISSUE: .* fay@FAST\.TEST for krbtgt\/FAST\.TEST@FAST\.TEST/);
  });

  test('inside FAST a wrong password and an unknown user get the same code', async () => {
    const wrong = await logon('fay', 'not-the-password');
    const unknown = await logon('nobody', FAY_PASSWORD);
    for (const answer of [wrong, unknown]) {
      assert.equal(answer.status, 401);
      assert.equal(answer.code, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    }
    const log = readFileSync(join(kdc.dir, 'kdc.log'), 'utf8');
    assert.match(log, /PREAUTH_FAILED: fay@FAST\.TEST .*encrypted challenge/);
  });

  test('a user without required pre-authentication logs on without the tunnel', async () => {
    assert.deepEqual(await logon('pat', PAT_PASSWORD), { principal: `pat@${kdc.realm}` });
  });

  test('a spoofed KDC requiring FAST: refused as unverified, not as a wrong password', async () => {
    // It cannot issue the service a TGT under the real keytab key, so there is no armor either.
    const spoofed = createAuthenticator({
      packages: [
        basic({
          realm: 'intranet',
          kerberos: { realm: kdc.realm, keytab: kdc.keytabPath, kdcs: [`127.0.0.1:${spoof.port}`] },
        }),
      ],
    });
    const answer = await logon('fay', FAY_PASSWORD, spoofed);
    assert.equal(answer.status, 401);
    assert.equal(answer.code, 'ERR_HTTPAUTH_KDC_UNVERIFIED');
    assert.match(answer.reason ?? '', /FAST armor/);
  });
});
