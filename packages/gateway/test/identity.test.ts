import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { AuthInfo, Principal } from '@httpauth/core';
import { validateConfig } from '../src/config.js';
import {
  encodeHeaderValue,
  identityValues,
  signIdentity,
  verifyIdentitySignature,
} from '../src/identity.js';
import { PathRules } from '../src/rules.js';
import { UpstreamHeaders } from '../src/upstream-headers.js';

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

describe('identity headers per request', () => {
  it('are the principal’s own on every request, also when one principal object is reused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'httpauth-gw-identity-'));
    writeFileSync(join(dir, 'smbpasswd'), '');
    const config = validateConfig(
      {
        upstream: 'http://127.0.0.1:3000',
        auth: { realm: 'r', mechanisms: ['ntlm'], ntlm: { smbpasswd: 'smbpasswd', domain: 'D' } },
      },
      {},
      dir,
    );
    const headers = new UpstreamHeaders(config, undefined);
    const req = {
      method: 'GET',
      headers: { host: 'gw', 'x-remote-user': 'forged' },
      socket: { remoteAddress: '127.0.0.1' },
    } as unknown as IncomingMessage;
    const alice = { name: 'D\\alice', user: 'alice', mechanism: 'NTLM' as const, groups: ['A B'] };
    const bob = { name: 'D\\bob', user: 'bob', mechanism: 'NTLM' as const };
    const auth = (principal: Principal) => ({ principal }) as unknown as AuthInfo;
    const sent = (principal: Principal) => headers.request(req, auth(principal), '/x');
    for (let round = 0; round < 2; round++) {
      assert.equal(sent(alice)['x-remote-user'], 'D\\alice');
      assert.equal(sent(alice)['x-remote-groups'], 'A%20B');
      assert.equal(sent(bob)['x-remote-user'], 'D\\bob');
      assert.equal(sent(bob)['x-remote-groups'], '');
      // A new principal object with another name is never answered from the first one's values.
      assert.equal(sent({ ...alice, name: 'D\\carol' })['x-remote-user'], 'D\\carol');
    }
    assert.equal(headers.request(req, undefined, '/x')['x-remote-user'], undefined);
  });
});
