/**
 * authenticateNow (loop/authenticator.ts): the decision synchronously when nothing in it waits (a
 * request without credentials on a connection that stays authenticated), otherwise the promise
 * authenticate() gives, and in every case the same decision and the same audit event.
 */
import * as assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { CHANNEL_SUCCESS } from '../src/events.js';
import { identifyContext } from '../src/impersonation/context.js';
import type { ImpersonationFactory } from '../src/loop/authenticator.js';
import { authenticateNow, createAuthenticator } from '../src/loop/authenticator.js';
import type { AuthDecision, Authenticator } from '../src/loop/authenticator.js';
import { isPromiseLike } from '../src/loop/decision.js';
import { ntowfv1 } from '../src/ntlm/keys.js';
import { ntlm } from '../src/ntlm/ntlm-package.js';
import type { AuthRequest } from '../src/security-package.js';
import { authRequest } from '../../../test/support/auth-request.js';
import { authenticate, negotiate } from './ntlm-client.js';

const packages = () => [
  ntlm({
    domain: 'EXAMPLE',
    credentials: (user) => (user.toLowerCase() === 'alice' ? ntowfv1('Wonderland1') : undefined),
  }),
];

function request(connection: EventEmitter, authorization?: string | string[]): AuthRequest {
  return authRequest(authorization, { connection });
}

/** NEGOTIATE, CHALLENGE, AUTHENTICATE on `connection`: then it stays authenticated. */
async function logOn(auth: Authenticator, connection: EventEmitter): Promise<void> {
  const neg = negotiate();
  const second = await auth.authenticate(request(connection, `NTLM ${neg.toString('base64')}`));
  const value = second.headers.find(([n]) => n === 'www-authenticate')![1];
  const type3 = authenticate(neg, Buffer.from(value.slice(5), 'base64'), {
    user: 'alice',
    password: 'Wonderland1',
    domain: 'EXAMPLE',
  }).message;
  const third = await auth.authenticate(request(connection, `NTLM ${type3.toString('base64')}`));
  assert.equal(third.type, 'authenticated');
}

function settled(value: AuthDecision | Promise<AuthDecision>): Promise<AuthDecision> {
  return Promise.resolve(value);
}

describe('authenticateNow', () => {
  it('answers a kept connection at once, with the decision and event authenticate() gives', async () => {
    const auth = createAuthenticator({ packages: packages() });
    const connection = new EventEmitter();
    await logOn(auth, connection);
    const events: unknown[] = [];
    const listener = (event: unknown) => events.push(event);
    subscribe(CHANNEL_SUCCESS, listener);
    try {
      const now = authenticateNow(auth, request(connection));
      assert.ok(!isPromiseLike(now), 'a kept connection is answered synchronously');
      assert.equal(now.type, 'authenticated');
      if (now.type !== 'authenticated') return;
      assert.equal(now.reused, true);
      assert.equal(now.scheme, 'NTLM');
      assert.equal(now.auth.principal.name, 'EXAMPLE\\alice');
      assert.equal(now.auth.impersonation.level, 'identify');
      assert.deepEqual(now.headers, []);
      const later = await auth.authenticate(request(connection));
      assert.deepEqual({ ...later, auth: undefined }, { ...now, auth: undefined });
      assert.equal(events.length, 2);
      assert.deepEqual(
        events.map((e) => (e as { name: string; reused: boolean }).name),
        ['EXAMPLE\\alice', 'EXAMPLE\\alice'],
      );
    } finally {
      unsubscribe(CHANNEL_SUCCESS, listener);
    }
  });

  it('gives a promise whenever something has to wait, and the same decision as authenticate()', async () => {
    const auth = createAuthenticator({ packages: packages() });
    const fresh = new EventEmitter();
    // No connection state yet: the 401 with the challenges.
    const challenge = authenticateNow(auth, request(fresh));
    assert.ok(isPromiseLike(challenge));
    assert.equal((await challenge).type, 'respond');
    // Credentials always take the full path, even on a kept connection.
    const kept = new EventEmitter();
    await logOn(auth, kept);
    const withCredentials = authenticateNow(
      auth,
      request(kept, `NTLM ${negotiate().toString('base64')}`),
    );
    assert.ok(isPromiseLike(withCredentials));
    // The new handshake replaced the kept authentication (as IIS does).
    assert.equal((await settled(authenticateNow(auth, request(kept)))).type, 'respond');
  });

  it('refuses two sets of credentials on a kept connection exactly as the full path does', async () => {
    const auth = createAuthenticator({ packages: packages() });
    const connection = new EventEmitter();
    await logOn(auth, connection);
    const twice = await settled(authenticateNow(auth, request(connection, ['NTLM a', 'NTLM b'])));
    assert.equal(twice.type === 'respond' && twice.error.code, 'ERR_HTTPAUTH_MULTIPLE_CREDENTIALS');
    assert.equal(twice.type === 'respond' && twice.status, 400);
  });

  it('waits for an impersonation factory that answers later, and maps one that throws', async () => {
    const later: ImpersonationFactory = async (principal) => identifyContext(principal);
    const slow = createAuthenticator({ packages: packages(), impersonation: later });
    const connection = new EventEmitter();
    await logOn(slow, connection);
    const pending = authenticateNow(slow, request(connection));
    assert.ok(isPromiseLike(pending));
    const decision = await pending;
    assert.equal(
      decision.type === 'authenticated' && decision.auth.principal.name,
      'EXAMPLE\\alice',
    );

    let broken = false;
    const throwing: ImpersonationFactory = (principal) => {
      if (broken) throw new Error('policy bug');
      return identifyContext(principal);
    };
    const failing = createAuthenticator({ packages: packages(), impersonation: throwing });
    const other = new EventEmitter();
    await logOn(failing, other);
    broken = true;
    for (const answer of [
      await settled(authenticateNow(failing, request(other))),
      await failing.authenticate(request(other)),
    ]) {
      assert.equal(answer.type === 'respond' && answer.error.code, 'ERR_HTTPAUTH_INTERNAL');
    }
    let rejects = false;
    const rejecting = createAuthenticator({
      packages: packages(),
      impersonation: async (principal) => {
        if (rejects) throw new Error('policy bug');
        return identifyContext(principal);
      },
    });
    const third = new EventEmitter();
    await logOn(rejecting, third);
    rejects = true;
    const rejected = authenticateNow(rejecting, request(third));
    assert.ok(isPromiseLike(rejected));
    const refused = await rejected;
    assert.equal(refused.type === 'respond' && refused.error.code, 'ERR_HTTPAUTH_INTERNAL');
  });

  it('falls back to authenticate() for an authenticator it did not make', async () => {
    const decision = { type: 'respond' } as unknown as AuthDecision;
    const foreign = { authenticate: async () => decision } as unknown as Authenticator;
    const answer = authenticateNow(foreign, authRequest());
    assert.ok(isPromiseLike(answer));
    assert.equal(await answer, decision);
  });
});
