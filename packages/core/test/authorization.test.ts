import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  allOf,
  anyOf,
  combineRules,
  requireGroup,
  requireMechanism,
  requireRealm,
  requireThat,
  requireUser,
} from '../src/authorization/authorization.js';
import type { AuthorizationSubject } from '../src/authorization/authorization.js';
import { isHttpAuthError } from '../src/errors.js';
import { identifyContext } from '../src/impersonation/context.js';
import type { ImpersonationContext } from '../src/impersonation/context.js';
import type { Principal } from '../src/principal.js';

const forbidden = (error: unknown): boolean =>
  isHttpAuthError(error) && error.code === 'ERR_HTTPAUTH_FORBIDDEN' && error.kind === 'forbidden';

const alice: Principal = {
  name: 'alice@SAMDOM.TEST',
  user: 'alice',
  realm: 'SAMDOM.TEST',
  mechanism: 'Kerberos',
  userSid: 'S-1-5-21-1-2-3-1104',
  groupSids: ['S-1-5-21-1-2-3-513', 'S-1-5-21-1-2-3-1110'],
  upn: 'alice@samdom.test',
  logonInfo: { primaryGroupSid: 'S-1-5-21-1-2-3-513' },
};
const bob: Principal = {
  name: 'SAMDOM\\bob',
  user: 'bob',
  realm: 'SAMDOM',
  mechanism: 'NTLM',
  groups: ['Domain Users'],
};
const carol: Principal = { name: 'carol', user: 'carol', realm: 'intranet', mechanism: 'Digest' };

const subject = (
  principal: Principal,
  impersonation?: ImpersonationContext,
): AuthorizationSubject => ({
  principal,
  impersonation: impersonation ?? identifyContext(principal),
});

describe('authorization rules', () => {
  it('requireUser matches names, UPNs and SIDs, Kerberos names exactly', () => {
    const rule = requireUser('alice@SAMDOM.TEST');
    assert.equal(rule.test(subject(alice)), true);
    rule.check(subject(alice));
    assert.throws(() => rule.check(subject(bob)), forbidden);
    const { upn: _upn, ...withoutUpn } = alice;
    assert.equal(requireUser('ALICE@SAMDOM.TEST').test(subject(withoutUpn)), false);
    assert.equal(requireUser('upn:Alice@Samdom.Test').test(subject(alice)), true, 'the UPN');
    assert.equal(requireUser('s-1-5-21-1-2-3-1104').test(subject(alice)), true);
    assert.equal(requireUser('S-1-5-21-1-2-3-1105').test(subject(alice)), false);
    assert.equal(requireUser('samdom\\BOB').test(subject(bob)), true, 'NTLM names fold case');
    assert.equal(
      requireUser('bob').test(subject(bob)),
      false,
      'a bare user does not match another realm',
    );
    assert.equal(requireUser('Carol', 'dave').test(subject(carol)), true);
  });

  it('a UPN counts only when the rule says upn: and its domain is the realm (issue 12, 6)', () => {
    // A bare name is a Kerberos name, never a UPN, whatever the case.
    assert.equal(requireUser('Alice@Samdom.Test').test(subject(alice)), false);
    assert.equal(requireUser('alice@samdom.test').test(subject(alice)), false);
    assert.equal(requireUser('UPN:alice@SAMDOM.test').test(subject(alice)), true);
    // Another account that took the UPN 'boss@samdom.test' matches only as that UPN.
    const mallory: Principal = { ...alice, name: 'mallory@SAMDOM.TEST', upn: 'boss@samdom.test' };
    assert.equal(requireUser('boss@SAMDOM.TEST').test(subject(mallory)), false);
    // A UPN outside the client's realm, or on a non-Kerberos principal, never matches.
    const partner: Principal = { ...alice, upn: 'alice@partner.test' };
    assert.equal(requireUser('upn:alice@partner.test').test(subject(partner)), false);
    assert.equal(
      requireUser('upn:bob@samdom.test').test(subject({ ...bob, upn: 'bob@samdom.test' })),
      false,
    );
  });

  it('requireGroup matches SIDs (incl. the primary group), names and POSIX group names', () => {
    assert.equal(requireGroup('S-1-5-21-1-2-3-1110').test(subject(alice)), true);
    assert.equal(
      requireGroup('S-1-5-21-1-2-3-513').test(subject({ ...alice, groupSids: [] })),
      true,
    );
    assert.equal(requireGroup('S-1-5-21-1-2-3-512').test(subject(alice)), false);
    assert.equal(requireGroup('domain users').test(subject(bob)), true);
    assert.equal(requireGroup('Domain Admins').test(subject(bob)), false);
    const withPosix: ImpersonationContext = {
      ...identifyContext(carol),
      level: 'impersonate',
      posix: {
        user: 'carol',
        uid: 1500,
        gid: 1500,
        groups: [1500, 27],
        groupNames: ['carol', 'sudo'],
        home: '/',
        shell: '/bin/sh',
      },
    };
    assert.equal(requireGroup('sudo').test(subject(carol, withPosix)), true);
    assert.equal(requireGroup('sudo').test(subject(carol)), false);
  });

  it('requireRealm and requireMechanism', () => {
    assert.equal(requireRealm('SAMDOM.TEST').test(subject(alice)), true);
    // Kerberos realms are case-sensitive: samdom.test may be another, trusted realm.
    assert.equal(requireRealm('samdom.test').test(subject(alice)), false);
    assert.equal(requireRealm('Samdom').test(subject(bob)), true, 'NTLM domains fold case');
    assert.equal(requireRealm('SAMDOM').test(subject(alice)), false);
    assert.equal(requireRealm('SAMDOM').test(subject(bob)), true);
    assert.equal(
      requireRealm('x').test(subject({ ...carol, realm: undefined } as Principal)),
      false,
    );
    assert.equal(requireMechanism('Kerberos').test(subject(alice)), true);
    assert.equal(requireMechanism('Kerberos', 'NTLM').test(subject(bob)), true);
    assert.throws(() => requireMechanism('Kerberos').check(subject(carol)), forbidden);
  });

  it('composes with allOf / anyOf / requireThat', () => {
    const rule = allOf(
      requireRealm('SAMDOM.TEST', 'SAMDOM'),
      anyOf(requireUser('SAMDOM\\bob'), requireGroup('S-1-5-21-1-2-3-1110')),
    );
    assert.equal(rule.test(subject(alice)), true);
    assert.equal(rule.test(subject(bob)), true);
    assert.equal(rule.test(subject(carol)), false);
    const custom = requireThat((s) => s.principal.user.startsWith('a'));
    assert.equal(custom.test(subject(alice)), true);
    assert.equal(custom.test(subject(bob)), false);
    const throwing = requireThat(() => {
      throw new Error('boom');
    });
    assert.throws(() => throwing.check(subject(alice)), forbidden);
    assert.equal(
      combineRules([requireUser('carol'), requireMechanism('Digest')]).test(subject(carol)),
      true,
    );
    assert.equal(
      combineRules([requireUser('carol'), requireMechanism('NTLM')]).test(subject(carol)),
      false,
    );
  });

  it('refuses requests that were never authenticated', () => {
    for (const missing of [undefined, null, {}]) {
      assert.throws(
        () => requireUser('alice@SAMDOM.TEST').check(missing as unknown as AuthorizationSubject),
        forbidden,
      );
    }
  });

  it('refuses empty rule lists and invalid entries at creation', () => {
    const invalid = (e: unknown): boolean =>
      isHttpAuthError(e) && e.code === 'ERR_HTTPAUTH_INVALID_OPTIONS';
    assert.throws(() => requireUser(), invalid);
    assert.throws(() => requireGroup(''), invalid);
    assert.throws(() => allOf(), invalid);
    assert.throws(() => anyOf(), invalid);
    assert.throws(() => combineRules([]), invalid);
    assert.throws(() => combineRules([{} as never]), invalid);
    assert.throws(() => requireThat('x' as never), invalid);
  });

  it('never throws anything but FORBIDDEN on arbitrary principals', () => {
    const rule = anyOf(
      requireUser('alice@SAMDOM.TEST', 'S-1-5-21-1'),
      requireGroup('g', 'S-1-5-32-544'),
      requireRealm('R'),
    );
    fc.assert(
      fc.property(
        fc.record({
          name: fc.string(),
          user: fc.string(),
          realm: fc.option(fc.string(), { nil: undefined }),
          mechanism: fc.constantFrom(
            'Kerberos',
            'NTLM',
            'Digest',
            'Basic',
            'Session',
          ) as fc.Arbitrary<Principal['mechanism']>,
          groupSids: fc.option(fc.array(fc.string()), { nil: undefined }),
          groups: fc.option(fc.array(fc.string()), { nil: undefined }),
          userSid: fc.option(fc.string(), { nil: undefined }),
        }),
        (principal) => {
          try {
            rule.check({ principal });
          } catch (error) {
            assert.ok(forbidden(error));
          }
        },
      ),
    );
  });
});
