import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  encodeHeaderValue,
  identityValues,
  signIdentity,
  verifyIdentitySignature,
} from '../src/identity.js';
import { PathRules } from '../src/rules.js';

const secret = Buffer.alloc(32, 9);

describe('identity headers and signature', () => {
  it('encodes names and groups into safe header values', () => {
    assert.equal(encodeHeaderValue('alice@EXAMPLE.TEST'), 'alice@EXAMPLE.TEST');
    assert.equal(encodeHeaderValue('Jäsøn Doe'), 'J%C3%A4s%C3%B8n%20Doe');
    assert.equal(encodeHeaderValue('a,b%\r\n'), 'a%2Cb%25%0D%0A');
    const values = identityValues(
      {
        name: 'EXAMPLE\\bob',
        user: 'bob',
        mechanism: 'NTLM',
        groups: ['Domain Users'],
        groupSids: ['S-1-5-21-1-513'],
      },
      'name',
    );
    assert.deepEqual(values, {
      user: 'EXAMPLE\\bob',
      groups: 'Domain%20Users,S-1-5-21-1-513',
      mechanism: 'NTLM',
    });
  });

  it('signs and verifies; any change breaks the signature', () => {
    const values = { user: 'alice@EXAMPLE.TEST', groups: 'g1,g2', mechanism: 'Kerberos' };
    const signature = signIdentity(secret, 1000, 'GET', '/x?y=1', values);
    const headers = {
      'x-remote-user': values.user,
      'x-remote-groups': values.groups,
      'x-auth-mechanism': values.mechanism,
      'x-httpauth-signature': signature,
    };
    assert.deepEqual(verifyIdentitySignature('GET', '/x?y=1', headers, secret, { now: 1010 }), {
      user: 'alice@EXAMPLE.TEST',
      groups: ['g1', 'g2'],
      mechanism: 'Kerberos',
    });
    assert.equal(
      verifyIdentitySignature('POST', '/x?y=1', headers, secret, { now: 1010 }),
      undefined,
    );
    assert.equal(verifyIdentitySignature('GET', '/x', headers, secret, { now: 1010 }), undefined);
    assert.equal(
      verifyIdentitySignature('GET', '/x?y=1', { ...headers, 'x-remote-user': 'mallory' }, secret, {
        now: 1010,
      }),
      undefined,
    );
    assert.equal(
      verifyIdentitySignature(
        'GET',
        '/x?y=1',
        { ...headers, 'x-remote-groups': 'g1,g2,admins' },
        secret,
        { now: 1010 },
      ),
      undefined,
    );
    assert.equal(
      verifyIdentitySignature('GET', '/x?y=1', headers, Buffer.alloc(32, 8), { now: 1010 }),
      undefined,
    );
    assert.equal(
      verifyIdentitySignature('GET', '/x?y=1', headers, secret, { now: 1061 }),
      undefined,
    );
    assert.equal(
      verifyIdentitySignature(
        'GET',
        '/x?y=1',
        { ...headers, 'x-httpauth-signature': 'garbage' },
        secret,
        { now: 1010 },
      ),
      undefined,
    );
  });
});

describe('path rules', () => {
  const rules = new PathRules(
    [
      { prefix: '/public', public: true },
      { prefix: '/admin', groups: ['admins', 'S-1-5-21-9-512'] },
      { prefix: '/admin/alice', users: ['alice@EXAMPLE.TEST'] },
    ],
    'insensitive',
  );
  const alice = { name: 'alice@EXAMPLE.TEST', user: 'alice', mechanism: 'Kerberos' as const };
  const admin = {
    name: 'root@EXAMPLE.TEST',
    user: 'root',
    mechanism: 'Kerberos' as const,
    groupSids: ['S-1-5-21-9-512'],
  };

  it('match on segment boundaries, longest prefix first', () => {
    assert.equal(rules.find('/public')?.public, true);
    assert.equal(rules.find('/public/x')?.public, true);
    assert.equal(rules.find('/publicity'), undefined);
    assert.equal(rules.find('/admin/alice/x')?.users?.[0], 'alice@EXAMPLE.TEST');
    assert.deepEqual(rules.find('/admin/bob')?.groups, ['admins', 'S-1-5-21-9-512']);
  });

  it('admit by user or group', () => {
    assert.equal(rules.match('/admin').allows({ principal: alice }), false);
    assert.equal(rules.match('/admin').allows({ principal: admin }), true);
    assert.equal(rules.match('/admin/alice').allows({ principal: alice }), true);
    assert.equal(rules.match('/anything').allows({ principal: alice }), true);
  });
});
