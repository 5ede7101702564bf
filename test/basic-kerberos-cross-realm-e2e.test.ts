/**
 * Basic over Kerberos for users of a trusted realm (RFC 4120 §3.3.1 cross-realm TGTs, RFC 6806
 * §8 referrals), against real MIT KDCs (test/harness/mit-kdc.ts), one per realm:
 *
 *   WEST.CORP.TEST   the service's realm (HTTP/localhost in the keytab)
 *   CORP.TEST        the parent: krbtgt/WEST.CORP.TEST@CORP.TEST (in CORP and WEST, same key)
 *   EAST.CORP.TEST   the users' realm: krbtgt/CORP.TEST@EAST.CORP.TEST (in EAST and CORP)
 *
 * EAST has no key shared with WEST: asked for krbtgt/WEST.CORP.TEST, its KDC answers with a
 * referral, a TGT for CORP.TEST (the realm hierarchy), whose KDC issues the TGT for WEST, whose
 * KDC issues the service ticket that the keytab checks. A second EAST KDC with other keys plays
 * the spoofed user realm: it accepts the password, but CORP cannot read its cross-realm TGT.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  basic,
  createAuthenticator,
  type Authenticator,
  type BasicKerberosOptions,
} from '@httpauth/core';
import { startMitKdc, type MitKdc } from './harness/mit-kdc.js';

const dir = mkdtempSync(join(tmpdir(), 'httpauth-basic-xrealm-'));
const WEST = 'WEST.CORP.TEST';
const CORP = 'CORP.TEST';
const EAST = 'EAST.CORP.TEST';
const CAROL_PASSWORD = 'carol-east-pw-1';
const WENDY_PASSWORD = 'wendy-west-pw-2';

let west: MitKdc;
let corp: MitKdc;
let east: MitKdc;
let spoofEast: MitKdc;

/** A krb5.conf naming each realm's KDC (what the server's own krb5.conf would hold). */
function krb5Conf(name: string, kdcs: Record<string, MitKdc>): string {
  const path = join(dir, name);
  const realms = Object.entries(kdcs)
    .map(([realm, kdc]) => `    ${realm} = {\n        kdc = 127.0.0.1:${kdc.port}\n    }\n`)
    .join('');
  writeFileSync(path, `[libdefaults]\n    dns_lookup_kdc = false\n\n[realms]\n${realms}`);
  return path;
}

/** The same inter-realm key in both KDCs: the same password and salt (RFC 4120 §7.3). */
function trust(from: string, to: string, ...kdcs: MitKdc[]): void {
  for (const kdc of kdcs) kdc.kadmin(`addprinc -pw xrealm-${from}-${to} krbtgt/${to}@${from}`);
}

function authenticator(options: BasicKerberosOptions): Authenticator {
  return createAuthenticator({ packages: [basic({ realm: 'intranet', kerberos: options })] });
}

async function logon(auth: Authenticator, user: string, password: string) {
  const token = Buffer.from(`${user}:${password}`).toString('base64');
  const decision = await auth.authenticate({
    method: 'GET',
    target: '/',
    headers: { authorization: `Basic ${token}` },
    httpVersionMajor: 1,
    secure: true,
  });
  if (decision.type === 'authenticated') return { principal: decision.auth.principal };
  return {
    status: decision.status,
    code: decision.error?.code,
    reason: decision.error?.reason,
  };
}

let westAuth: Authenticator;

before(async () => {
  [west, corp, east, spoofEast] = await Promise.all([
    startMitKdc({
      realm: WEST,
      principals: [
        { name: 'wendy', password: WENDY_PASSWORD, options: ['+requires_preauth'] },
        { name: 'HTTP/localhost' },
      ],
    }),
    startMitKdc({ realm: CORP, principals: [] }),
    startMitKdc({
      realm: EAST,
      principals: [
        { name: 'carol', password: CAROL_PASSWORD, options: ['+requires_preauth'] },
        { name: 'HTTP/localhost' },
      ],
    }),
    // The spoofed EAST: same realm name, same user and password, its own keys for everything.
    startMitKdc({
      realm: EAST,
      principals: [{ name: 'carol', password: CAROL_PASSWORD, options: ['+requires_preauth'] }],
    }),
  ]);
  trust(EAST, CORP, east, corp);
  trust(CORP, WEST, corp, west);
  spoofEast.kadmin(`addprinc -pw not-the-inter-realm-key krbtgt/${CORP}@${EAST}`);
  westAuth = authenticator({
    realm: WEST,
    trustedRealms: [EAST],
    keytab: west.keytabPath,
    krb5Conf: krb5Conf('krb5.conf', { [WEST]: west, [CORP]: corp, [EAST]: east }),
    timeoutMs: 1500,
  });
});

after(async () => {
  await Promise.all([west?.stop(), corp?.stop(), east?.stop(), spoofEast?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('Basic over Kerberos across realms (MIT)', () => {
  test('a user of a trusted realm logs on through the referral to the parent realm', async () => {
    for (const name of [`carol@${EAST}`, 'carol@east.corp.test']) {
      const answer = await logon(westAuth, name, CAROL_PASSWORD);
      assert.deepEqual(answer, {
        principal: { name: `carol@${EAST}`, user: 'carol', realm: EAST, mechanism: 'Basic' },
      });
    }
  });

  test("the service's own users still log on without a realm", async () => {
    const answer = await logon(westAuth, 'wendy', WENDY_PASSWORD);
    assert.equal(answer.principal?.name, `wendy@${WEST}`);
  });

  test('a wrong password and an unknown user of the trusted realm get the same code', async () => {
    const wrong = await logon(westAuth, `carol@${EAST}`, 'not-the-password');
    const unknown = await logon(westAuth, `nobody@${EAST}`, CAROL_PASSWORD);
    for (const answer of [wrong, unknown]) {
      assert.equal(answer.status, 401);
      assert.equal(answer.code, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    }
  });

  test('a realm that is not trusted is refused without asking any KDC', async () => {
    const answer = await logon(westAuth, `carol@${CORP}`, CAROL_PASSWORD);
    assert.equal(answer.code, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    assert.equal(answer.reason, 'not a user name of the realm');
  });

  test('a spoofed KDC of the trusted realm is refused: its cross-realm TGT is not readable', async () => {
    const spoofed = authenticator({
      realm: WEST,
      trustedRealms: [EAST],
      keytab: west.keytabPath,
      krb5Conf: krb5Conf('krb5-spoof.conf', { [WEST]: west, [CORP]: corp, [EAST]: spoofEast }),
      timeoutMs: 1500,
    });
    const answer = await logon(spoofed, `carol@${EAST}`, CAROL_PASSWORD);
    assert.equal(answer.status, 401);
    assert.equal(answer.code, 'ERR_HTTPAUTH_KDC_UNVERIFIED');
    assert.match(answer.reason ?? '', /^TGS-XREALM: KRB_AP_ERR_BAD_INTEGRITY/);
  });

  test('without a trust path the logon fails with ERR_HTTPAUTH_KDC_ERROR naming the realms', async () => {
    // The other way round: EAST's service, WEST's users. The trusts above are one-way.
    const eastAuth = authenticator({
      realm: EAST,
      trustedRealms: [WEST],
      keytab: east.keytabPath,
      krb5Conf: krb5Conf('krb5-east.conf', { [WEST]: west, [CORP]: corp, [EAST]: east }),
      timeoutMs: 1500,
    });
    const answer = await logon(eastAuth, `wendy@${WEST}`, WENDY_PASSWORD);
    assert.equal(answer.status, 503);
    assert.equal(answer.code, 'ERR_HTTPAUTH_KDC_ERROR');
    assert.match(answer.reason ?? '', new RegExp(`no cross-realm path from ${WEST} to ${EAST}`));
  });
});
