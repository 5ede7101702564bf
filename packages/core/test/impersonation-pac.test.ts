/**
 * PAC group SIDs from a Samba AD DC on the impersonation context, through the whole pipeline:
 * the service ticket captured from a throwaway Samba DC (fixtures/kerberos/samba-tokens.json,
 * with its throwaway keytab) goes through createAuthenticator + the Negotiate package at the
 * capture time; the impersonation context carries the user SID and the group SIDs (Domain Users,
 * the test group), the policy allows by group SID, and requireGroup() sees them.
 */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { requireGroup, requireUser } from '../src/authorization/authorization.js';
import { createAuthenticator } from '../src/loop/authenticator.js';
import type { AuthInfo } from '../src/loop/authenticator.js';
import { createImpersonation } from '../src/impersonation/policy.js';
import type { PosixIdentity, UserDatabase } from '../src/impersonation/posix.js';
import { negotiate } from '../src/negotiate/index.js';
import type { AuthRequest } from '../src/security-package.js';
import { keytabOf, sambaTokens } from './fixtures/kerberos/captured-tokens.js';

const fixture = sambaTokens;
const keytab = keytabOf(fixture);
const domainUsers = `${fixture.domainSid}-513`;
const webusers = fixture.sids.webusers as string;

/** alice of the domain is the local user "adalice" (uid 2001) in this test's user database. */
const database: UserDatabase = {
  async lookup(name) {
    if (name !== 'adalice') return undefined;
    const identity: PosixIdentity = {
      user: 'adalice',
      uid: 2001,
      gid: 2001,
      groups: [2001],
      groupNames: ['adalice'],
      home: '/',
      shell: '/bin/sh',
    };
    return identity;
  },
};

async function authenticate(allowGroups: string[]): Promise<AuthInfo> {
  const authenticator = createAuthenticator({
    packages: [negotiate({ kerberos: { keytab }, kerberosOnly: true })],
    impersonation: createImpersonation({
      allow: { groups: allowGroups },
      mapping: { map: { [`${fixture.user}@${fixture.realm}`]: 'adalice' } },
      userDatabase: database,
    }),
    now: () => fixture.capturedAt,
  });
  const request: AuthRequest = {
    method: 'GET',
    target: '/',
    headers: { authorization: `Negotiate ${fixture.token}` },
    httpVersionMajor: 1,
    secure: false,
  };
  const decision = await authenticator.authenticate(request);
  assert.equal(decision.type, 'authenticated', JSON.stringify(decision));
  if (decision.type !== 'authenticated') throw new Error('unreachable');
  return decision.auth;
}

describe('PAC group SIDs from Samba AD on the impersonation context', () => {
  test('the context carries the user SID and the group SIDs, and the policy allows by SID', async () => {
    const auth = await authenticate([webusers]);
    const context = auth.impersonation;
    assert.equal(auth.principal.name, `${fixture.user}@${fixture.realm}`);
    assert.equal(context.userSid, fixture.sids.alice);
    assert.ok(context.groupSids?.includes(domainUsers), 'Domain Users');
    assert.ok(context.groupSids?.includes(webusers), 'the test group');
    assert.equal(context.level, 'impersonate');
    assert.equal(context.posix?.user, 'adalice');
    assert.equal(requireGroup(webusers).test(auth), true);
    assert.equal(requireGroup(`${fixture.domainSid}-512`).test(auth), false, 'not Domain Admins');
    assert.equal(requireUser(fixture.sids.alice as string).test(auth), true);
    await context.dispose();
  });

  test('a group SID the user is not in leaves the context at identify', async () => {
    const auth = await authenticate([`${fixture.domainSid}-512`]);
    assert.equal(auth.impersonation.level, 'identify');
    assert.equal(auth.impersonation.reason, 'not-allowed');
    assert.ok(auth.impersonation.groupSids?.includes(webusers), 'identify still knows the SIDs');
  });
});
