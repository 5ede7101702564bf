/**
 * Cross-realm service tickets (kerberos/client/cross-realm.ts, RFC 4120 §3.3.1, RFC 6806 §8)
 * against in-process KDCs (fixtures/kerberos/fake-kdc.ts), one per realm, that answer a request
 * for krbtgt/TARGET with a referral TGT for a realm on the way. Three real MIT realms run in
 * test/basic-kerberos-cross-realm-e2e.test.ts.
 */
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { MAX_REALM_HOPS } from '../src/kerberos/client/cross-realm.js';
import { errorFromKrbError } from '../src/kerberos/client/kdc-errors.js';
import { verifyKerberosPassword } from '../src/kerberos/client/password-verifier.js';
import { encryptionProfile, makeKey, type KerberosKey } from '../src/kerberos/crypto/index.js';
import { Keytab } from '../src/kerberos/keytab.js';
import { startFakeKdc, type FakeKdc } from './fixtures/kerberos/fake-kdc.js';

const USERS = 'USERS.TEST';
const SVC = 'SVC.TEST';
const SERVICE = `HTTP/web.svc.test@${SVC}`;
const PASSWORD = 'alice pw';

const random = (): KerberosKey => makeKey(18, randomBytes(32));
const serviceKey = random();
const aliceKey = encryptionProfile(18)!.stringToKey(PASSWORD, `${USERS}alice`);

interface RealmSpec {
  /** krbtgt/OTHER@THIS keys this KDC issues TGTs with (OTHER's krbtgt key, as shared). */
  readonly issues?: readonly string[];
  /** target realm -> realm this KDC refers to. */
  readonly referrals?: ReadonlyMap<string, string>;
}

/** One fake KDC per realm; a cross-realm TGT for OTHER is sealed in OTHER's krbtgt key. */
function network(specs: Record<string, RealmSpec>) {
  const krbtgt = new Map(Object.keys(specs).map((realm) => [realm, random()]));
  const kdcs = new Map<string, FakeKdc>();
  for (const [realm, spec] of Object.entries(specs)) {
    const serviceKeys = new Map<string, KerberosKey>(
      (spec.issues ?? []).map((other) => [`krbtgt/${other}@${realm}`, krbtgt.get(other)!]),
    );
    if (realm === SVC) serviceKeys.set(SERVICE, serviceKey);
    kdcs.set(
      realm,
      startFakeKdc({
        realm,
        users: new Map(
          realm === USERS
            ? [
                [
                  `alice@${USERS}`,
                  {
                    key: aliceKey,
                    etypeInfo: { etype: 18, salt: `${USERS}alice`, s2kparams: undefined },
                    requirePreauth: true,
                  },
                ],
              ]
            : [],
        ),
        krbtgtKey: krbtgt.get(realm)!,
        serviceKeys,
        ...(spec.referrals === undefined ? {} : { referrals: spec.referrals }),
      }),
    );
  }
  const asked: string[] = [];
  const verify = () =>
    verifyKerberosPassword(
      {
        realm: SVC,
        trustedRealms: [USERS],
        keytab: new Keytab([
          {
            realm: SVC,
            components: ['HTTP', 'web.svc.test'],
            nameType: 3,
            principal: SERVICE,
            timestamp: 0,
            kvno: 1,
            enctype: 18,
            key: serviceKey,
          },
        ]),
        servicePrincipal: undefined,
        allowRc4: false,
        sendTo: (realm, request) => {
          asked.push(realm);
          const kdc = kdcs.get(realm);
          if (kdc === undefined) throw new Error(`no KDC for ${realm}`);
          return kdc.send(request);
        },
        now: Date.now,
      },
      `alice@${USERS}`,
      PASSWORD,
    );
  return { kdcs, asked, verify };
}

function rejectsWith(code: string, reason: RegExp) {
  return (error: unknown): boolean => {
    const e = error as { code: string; reason?: string };
    assert.equal(e.code, code);
    assert.match(e.reason ?? '', reason);
    return true;
  };
}

describe('cross-realm service tickets', () => {
  test('follows a referral krbtgt/MID@USERS to MID, then the TGT for SVC, then the service', async () => {
    const { kdcs, asked, verify } = network({
      [USERS]: { issues: ['MID.TEST'], referrals: new Map([[SVC, 'MID.TEST']]) },
      'MID.TEST': { issues: [SVC] },
      [SVC]: {},
    });
    const verified = await verify();
    assert.equal(verified.principal, `alice@${USERS}`);
    assert.equal(verified.realm, USERS);
    // AS twice (pre-authentication), then one TGS per realm on the way.
    assert.deepEqual(asked, [USERS, USERS, USERS, 'MID.TEST', SVC]);
    // Every KDC on the way is asked for the service realm's TGT, the last for the service.
    const tgsNames = [USERS, 'MID.TEST', SVC].map((realm) => {
      const requests = kdcs.get(realm)!.requests;
      return requests[requests.length - 1]!.body.sname!.components.join('/');
    });
    assert.deepEqual(tgsNames, [`krbtgt/${SVC}`, `krbtgt/${SVC}`, 'HTTP/web.svc.test']);
  });

  test('a direct trust is one hop', async () => {
    const { asked, verify } = network({ [USERS]: { issues: [SVC] }, [SVC]: {} });
    assert.equal((await verify()).principal, `alice@${USERS}`);
    assert.deepEqual(asked, [USERS, USERS, USERS, SVC]);
  });

  test('no trust: ERR_HTTPAUTH_KDC_ERROR naming both realms', async () => {
    const { verify } = network({ [USERS]: {}, [SVC]: {} });
    await assert.rejects(
      verify(),
      rejectsWith('ERR_HTTPAUTH_KDC_ERROR', /^no cross-realm path from USERS\.TEST to SVC\.TEST/),
    );
  });

  test('a referral back to a realm already visited is refused, not followed round', async () => {
    const { asked, verify } = network({
      [USERS]: { issues: ['MID.TEST'], referrals: new Map([[SVC, 'MID.TEST']]) },
      'MID.TEST': { issues: [USERS], referrals: new Map([[SVC, USERS]]) },
      [SVC]: {},
    });
    await assert.rejects(
      verify(),
      rejectsWith(
        'ERR_HTTPAUTH_KDC_ERROR',
        /referral loop \(USERS\.TEST -> MID\.TEST -> USERS\.TEST\)/,
      ),
    );
    assert.deepEqual(asked, [USERS, USERS, USERS, 'MID.TEST']);
  });

  test(`a path longer than ${MAX_REALM_HOPS} realms is refused`, async () => {
    const chain = Array.from({ length: MAX_REALM_HOPS + 1 }, (_, i) => `R${i}.TEST`);
    const specs: Record<string, RealmSpec> = {
      [USERS]: { issues: [chain[0]!], referrals: new Map([[SVC, chain[0]!]]) },
      [SVC]: {},
    };
    chain.forEach((realm, i) => {
      const next = chain[i + 1] ?? SVC;
      specs[realm] = { issues: [next], referrals: new Map([[SVC, next]]) };
    });
    const { asked, verify } = network(specs);
    await assert.rejects(
      verify(),
      rejectsWith('ERR_HTTPAUTH_KDC_ERROR', new RegExp(`more than ${MAX_REALM_HOPS} realms`)),
    );
    assert.ok(!asked.includes(SVC));
  });

  test('a KDC that cannot read a cross-realm TGT names a spoofed KDC behind us, not a plain error', () => {
    const krbError = (errorCode: number) => ({
      stime: 0,
      susec: 0,
      errorCode,
      realm: SVC,
      sname: { nameType: 2, components: ['krbtgt', SVC] },
      eData: undefined,
    });
    for (const code of [31, 41]) {
      assert.equal(
        errorFromKrbError(krbError(code), 'TGS-XREALM').code,
        'ERR_HTTPAUTH_KDC_UNVERIFIED',
      );
      // With a TGT of the KDC's own realm the same error is the KDC's problem, not a spoof.
      assert.equal(errorFromKrbError(krbError(code), 'TGS').code, 'ERR_HTTPAUTH_KDC_ERROR');
    }
    assert.equal(errorFromKrbError(krbError(7), 'TGS-XREALM').code, 'ERR_HTTPAUTH_KDC_ERROR');
  });
});
