/**
 * The authenticator's `directory` option: names are added once per handshake, kept on the
 * authenticated connection, and a failing directory never turns a valid logon into a refusal.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { createSidResolver } from '../src/directory/resolver.js';
import type { PrincipalDirectory } from '../src/directory/resolver.js';
import { createAuthenticator } from '../src/loop/authenticator.js';
import type { AuthRequest, SecurityPackage } from '../src/security-package.js';
import { authRequest } from '../../../test/support/auth-request.js';

const GROUP = 'S-1-5-21-1-2-3-1104';

class FakeSocket extends EventEmitter {}

/** A one-leg, connection-persisting package whose principal carries a group SID. */
const withSids: SecurityPackage = {
  name: 'Sid',
  scheme: 'Sid',
  connectionBound: true,
  challenges: () => ['Sid'],
  async accept() {
    return {
      type: 'complete',
      principal: { name: 'SAMDOM\\alice', user: 'alice', mechanism: 'NTLM', groupSids: [GROUP] },
      persist: true,
    };
  },
};

function request(authorization: string | undefined, connection: FakeSocket): AuthRequest {
  return authRequest(authorization, { connection });
}

describe('createAuthenticator({ directory })', () => {
  it('adds the names once per handshake and keeps them on the authenticated connection', async () => {
    let lookups = 0;
    const directory = createSidResolver({
      lookup: {
        async lookupSids(sids) {
          lookups++;
          return new Map(sids.map((sid) => [sid, 'SAMDOM\\WebUsers']));
        },
      },
    });
    const auth = createAuthenticator({ packages: [withSids], directory });
    const socket = new FakeSocket();
    const first = await auth.authenticate(request('Sid x', socket));
    assert.equal(first.type, 'authenticated');
    if (first.type !== 'authenticated') return;
    assert.deepEqual(first.auth.principal.groups, ['SAMDOM\\WebUsers']);
    assert.deepEqual(first.auth.principal.groupSids, [GROUP]);

    const reused = await auth.authenticate(request(undefined, socket));
    assert.equal(reused.type, 'authenticated');
    if (reused.type !== 'authenticated') return;
    assert.deepEqual(reused.auth.principal.groups, ['SAMDOM\\WebUsers']);
    assert.equal(lookups, 1);
  });

  it('a directory that throws or rejects leaves the SIDs and still authenticates', async () => {
    const broken: PrincipalDirectory[] = [
      {
        resolvePrincipal() {
          throw new Error('bug');
        },
      },
      { resolvePrincipal: () => Promise.reject(new Error('down')) },
    ];
    for (const directory of broken) {
      const auth = createAuthenticator({ packages: [withSids], directory });
      const decision = await auth.authenticate(request('Sid x', new FakeSocket()));
      assert.equal(decision.type, 'authenticated');
      if (decision.type !== 'authenticated') return;
      assert.deepEqual(decision.auth.principal.groupSids, [GROUP]);
      assert.equal(decision.auth.principal.groups, undefined);
    }
  });

  it('refuses a directory that is not one', () => {
    for (const directory of [null, {}, { resolvePrincipal: 'x' }]) {
      assert.throws(
        () => createAuthenticator({ packages: [withSids], directory: directory as never }),
        (e: unknown) => (e as { code?: string }).code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
      );
    }
  });
});
