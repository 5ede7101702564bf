/**
 * The gateway's path rules decide exactly as core's authorization rules do: a rule's `users`
 * are core's `requireUser`, its `groups` core's `requireGroup`, both together `anyOf` the two.
 * Each row runs the gateway (PathRules over a configured rule) and core (the rule an application
 * would write) on the same subject, and checks both against the expected answer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { anyOf, requireGroup, requireUser } from '@httpauth/core';
import type { AuthorizationRule, AuthorizationSubject, Principal } from '@httpauth/core';
import { PathRules } from '../src/rules.js';
import type { RuleConfig } from '../src/config-types.js';

const kerberosAlice: Principal = {
  name: 'alice@EXAMPLE.TEST',
  user: 'alice',
  realm: 'EXAMPLE.TEST',
  mechanism: 'Kerberos',
  upn: 'Alice.Smith@example.test',
  userSid: 'S-1-5-21-1-2-3-1104',
  groupSids: ['S-1-5-21-1-2-3-512'],
};
/** A UPN from another realm than the principal's: never trusted (MS-PAC §2.10). */
const kerberosForeignUpn: Principal = { ...kerberosAlice, upn: 'alice@other.test' };
const ntlmBob: Principal = {
  name: 'EXAMPLE\\bob',
  user: 'bob',
  realm: 'EXAMPLE',
  mechanism: 'NTLM',
  groups: ['Web Users'],
};
const basicCarol: Principal = { name: 'carol', user: 'carol', mechanism: 'Basic' };
const digestDave: Principal = {
  name: 'dave',
  user: 'dave',
  realm: 'intranet',
  mechanism: 'Digest',
  groups: ['Staff'],
};

function subject(principal: Principal, posixGroups?: readonly string[]): AuthorizationSubject {
  return posixGroups === undefined
    ? { principal }
    : ({
        principal,
        impersonation: { posix: { groupNames: posixGroups } },
      } as unknown as AuthorizationSubject);
}

interface Row {
  readonly title: string;
  readonly rule: Omit<RuleConfig, 'prefix'>;
  readonly subject: AuthorizationSubject;
  readonly admitted: boolean;
}

const table: readonly Row[] = [
  {
    title: 'Kerberos name, exact',
    rule: { users: ['alice@EXAMPLE.TEST'] },
    subject: subject(kerberosAlice),
    admitted: true,
  },
  {
    title: 'Kerberos names compare exactly',
    rule: { users: ['ALICE@example.test'] },
    subject: subject(kerberosAlice),
    admitted: false,
  },
  {
    title: 'a bare user name is not a Kerberos name',
    rule: { users: ['alice'] },
    subject: subject(kerberosAlice),
    admitted: false,
  },
  {
    title: 'UPN, case-insensitively',
    rule: { users: ['upn:alice.smith@EXAMPLE.TEST'] },
    subject: subject(kerberosAlice),
    admitted: true,
  },
  {
    title: 'a UPN without upn: is a Kerberos name',
    rule: { users: ['Alice.Smith@example.test'] },
    subject: subject(kerberosAlice),
    admitted: false,
  },
  {
    title: 'UPN outside the realm is not trusted',
    rule: { users: ['upn:alice@other.test'] },
    subject: subject(kerberosForeignUpn),
    admitted: false,
  },
  {
    title: 'user SID, any case',
    rule: { users: ['s-1-5-21-1-2-3-1104'] },
    subject: subject(kerberosAlice),
    admitted: true,
  },
  {
    title: 'group SID',
    rule: { groups: ['S-1-5-21-1-2-3-512'] },
    subject: subject(kerberosAlice),
    admitted: true,
  },
  {
    title: 'NTLM name, case-insensitively',
    rule: { users: ['example\\BOB'] },
    subject: subject(ntlmBob),
    admitted: true,
  },
  {
    title: 'NTLM bare user name is not the principal name',
    rule: { users: ['bob'] },
    subject: subject(ntlmBob),
    admitted: false,
  },
  {
    title: 'group name, case-insensitively',
    rule: { groups: ['web users'] },
    subject: subject(ntlmBob),
    admitted: true,
  },
  {
    title: 'Basic name, case-insensitively',
    rule: { users: ['CAROL'] },
    subject: subject(basicCarol),
    admitted: true,
  },
  {
    title: 'Basic, another user',
    rule: { users: ['bob'] },
    subject: subject(basicCarol),
    admitted: false,
  },
  {
    title: 'POSIX group of the mapped user',
    rule: { groups: ['Developers'] },
    subject: subject(basicCarol, ['developers']),
    admitted: true,
  },
  {
    title: 'POSIX groups absent: not a member',
    rule: { groups: ['developers'] },
    subject: subject(basicCarol),
    admitted: false,
  },
  {
    title: 'users or groups: the group admits',
    rule: { users: ['erin'], groups: ['staff'] },
    subject: subject(digestDave),
    admitted: true,
  },
  {
    title: 'users or groups: neither admits',
    rule: { users: ['erin'], groups: ['admins'] },
    subject: subject(digestDave),
    admitted: false,
  },
  {
    title: 'no users nor groups: any authenticated user',
    rule: {},
    subject: subject(digestDave),
    admitted: true,
  },
];

/** The rule an application would write with core for the same configuration. */
function coreRule(rule: Omit<RuleConfig, 'prefix'>): AuthorizationRule | undefined {
  const rules: AuthorizationRule[] = [];
  if (rule.users !== undefined) rules.push(requireUser(...rule.users));
  if (rule.groups !== undefined) rules.push(requireGroup(...rule.groups));
  return rules.length === 0 ? undefined : anyOf(...rules);
}

describe('gateway rules are core authorization rules', () => {
  for (const row of table) {
    it(row.title, () => {
      for (const pathCase of ['insensitive', 'sensitive'] as const) {
        const gateway = new PathRules([{ prefix: '/p', ...row.rule }], pathCase);
        const byGateway = gateway.match('/p/x').allows(row.subject);
        const byCore = coreRule(row.rule)?.test(row.subject) ?? true;
        assert.equal(byCore, row.admitted, 'core');
        assert.equal(byGateway, row.admitted, `gateway (pathCase ${pathCase})`);
      }
    });
  }

  it('a path no rule covers admits any authenticated user', () => {
    const rules = new PathRules([{ prefix: '/p', users: ['nobody'] }], 'insensitive');
    assert.equal(rules.match('/q').allows(subject(basicCarol)), true);
    assert.equal(rules.match('/p').allows(subject(basicCarol)), false);
  });
});
