import * as assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import { createAuthenticator } from '../src/loop/authenticator.js';
import type { AuthDecision } from '../src/loop/authenticator.js';
import { tlsServerEndPoint } from '../src/channel-binding.js';
import { ntowfv1 } from '../src/ntlm/keys.js';
import { ntlm } from '../src/ntlm/ntlm-package.js';
import type { NtlmOptions } from '../src/ntlm/ntlm-package.js';
import type { AuthRequest } from '../src/security-package.js';
import { authenticate, negotiate } from './ntlm-client.js';
import { selfSignedCertificate } from '../../../test/support/tls.js';
import { authRequest } from '../../../test/support/auth-request.js';

const options: NtlmOptions = {
  domain: 'EXAMPLE',
  credentials: (user) => (user.toLowerCase() === 'alice' ? ntowfv1('Wonderland1') : undefined),
};

function request(
  connection: EventEmitter | undefined,
  authorization?: string,
  extra: Partial<AuthRequest> = {},
): AuthRequest {
  return authRequest(authorization, { connection, ...extra });
}

function header(decision: AuthDecision, name: string): string[] {
  return decision.headers.filter(([n]) => n === name).map(([, v]) => v);
}

/** Runs the three legs on `connection`; returns the final decision and the AUTHENTICATE. */
async function threeLegs(
  auth: ReturnType<typeof createAuthenticator>,
  connection: EventEmitter,
  password = 'Wonderland1',
) {
  const first = await auth.authenticate(request(connection));
  assert.equal(first.type === 'respond' && first.status, 401);
  assert.deepEqual(header(first, 'www-authenticate'), ['NTLM']);
  const neg = negotiate();
  const second = await auth.authenticate(request(connection, `NTLM ${neg.toString('base64')}`));
  assert.equal(second.type === 'respond' && second.status, 401);
  const [challengeHeader] = header(second, 'www-authenticate');
  assert.match(challengeHeader!, /^NTLM [A-Za-z0-9+/]+=*$/);
  const challenge = Buffer.from(challengeHeader!.slice(5), 'base64');
  const type3 = authenticate(neg, challenge, {
    user: 'alice',
    password,
    domain: 'EXAMPLE',
  }).message;
  const third = await auth.authenticate(request(connection, `NTLM ${type3.toString('base64')}`));
  return { third, type3 };
}

describe('NTLM over the challenge loop', () => {
  it('three legs, then the connection stays authenticated; freed on close', async () => {
    const auth = createAuthenticator({ packages: [ntlm(options)] });
    const connection = new EventEmitter();
    const { third } = await threeLegs(auth, connection);
    assert.equal(third.type, 'authenticated');
    if (third.type !== 'authenticated') return;
    assert.equal(third.auth.principal.name, 'EXAMPLE\\alice');
    assert.equal(third.auth.principal.mechanism, 'NTLM');
    assert.equal(auth.pendingHandshakes, 0);
    const later = await auth.authenticate(request(connection));
    assert.equal(later.type === 'authenticated' && later.auth.principal.name, 'EXAMPLE\\alice');
    connection.emit('close');
    const afterClose = await auth.authenticate(request(connection));
    assert.equal(afterClose.type, 'respond');
  });

  it('persistOnConnection: false makes every request authenticate', async () => {
    const auth = createAuthenticator({
      packages: [ntlm({ ...options, persistOnConnection: false })],
    });
    const connection = new EventEmitter();
    const { third } = await threeLegs(auth, connection);
    assert.equal(third.type, 'authenticated');
    const later = await auth.authenticate(request(connection));
    assert.equal(later.type === 'respond' && later.status, 401);
  });

  it('a Type 3 replayed on a new connection is refused', async () => {
    const auth = createAuthenticator({ packages: [ntlm(options)] });
    const { type3 } = await threeLegs(auth, new EventEmitter());
    const replay = await auth.authenticate(
      request(new EventEmitter(), `NTLM ${type3.toString('base64')}`),
    );
    assert.equal(replay.type, 'respond');
    if (replay.type !== 'respond') return;
    assert.equal(replay.status, 401);
    assert.equal(replay.error.code, 'ERR_HTTPAUTH_NTLM_UNEXPECTED_MESSAGE');
    assert.deepEqual(header(replay, 'www-authenticate'), ['NTLM']);
  });

  it('a new Type 1 on an authenticated connection restarts cleanly', async () => {
    const auth = createAuthenticator({ packages: [ntlm(options)] });
    const connection = new EventEmitter();
    await threeLegs(auth, connection);
    const restart = await auth.authenticate(
      request(connection, `NTLM ${negotiate().toString('base64')}`),
    );
    assert.equal(restart.type === 'respond' && restart.status, 401);
    assert.equal(auth.pendingHandshakes, 1);
    // The old authentication is gone until the new handshake completes.
    const between = await auth.authenticate(request(connection));
    assert.equal(between.type, 'respond');
    const { third } = await threeLegs(auth, connection);
    assert.equal(third.type, 'authenticated');
  });

  it('a wrong password is a 401 with a fresh NTLM challenge and no pending state', async () => {
    const auth = createAuthenticator({ packages: [ntlm(options)] });
    const { third } = await threeLegs(auth, new EventEmitter(), 'wrong');
    assert.equal(third.type === 'respond' && third.status, 401);
    assert.equal(third.type === 'respond' && third.error.code, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    assert.equal(auth.pendingHandshakes, 0);
  });

  it('malformed tokens are a 400 with a stable code', async () => {
    const auth = createAuthenticator({ packages: [ntlm(options)] });
    const decision = await auth.authenticate(request(new EventEmitter(), 'NTLM AAAAAAAA'));
    assert.equal(decision.type === 'respond' && decision.status, 400);
    assert.equal(decision.type === 'respond' && decision.error.code, 'ERR_HTTPAUTH_NTLM_MALFORMED');
  });

  it('is offered over HTTP/2 (as IIS does), where its credentials ask for HTTP/1.1', async () => {
    const auth = createAuthenticator({ packages: [ntlm(options)] });
    const h2 = await auth.authenticate(
      request(new EventEmitter(), undefined, { httpVersionMajor: 2 }),
    );
    assert.deepEqual(header(h2, 'www-authenticate'), ['NTLM']);
    const attempt = await auth.authenticate(
      request(new EventEmitter(), `NTLM ${negotiate().toString('base64')}`, {
        httpVersionMajor: 2,
      }),
    );
    assert.equal(attempt.type === 'respond' && attempt.error.code, 'ERR_HTTPAUTH_HTTP11_REQUIRED');
    assert.equal(auth.pendingHandshakes, 0);
  });

  it('a handshake left pending past the timeout is gone', async () => {
    let clock = Date.now();
    const auth = createAuthenticator({
      packages: [ntlm(options)],
      connections: { handshakeTimeoutMs: 30_000 },
      now: () => clock,
    });
    const connection = new EventEmitter();
    const neg = negotiate();
    const second = await auth.authenticate(request(connection, `NTLM ${neg.toString('base64')}`));
    const challenge = Buffer.from(header(second, 'www-authenticate')[0]!.slice(5), 'base64');
    const type3 = authenticate(neg, challenge, { user: 'alice', password: 'Wonderland1' }).message;
    clock += 30_001;
    const late = await auth.authenticate(request(connection, `NTLM ${type3.toString('base64')}`));
    assert.equal(
      late.type === 'respond' && late.error.code,
      'ERR_HTTPAUTH_NTLM_UNEXPECTED_MESSAGE',
    );
  });

  it('honours the pending-handshake bound', async () => {
    const auth = createAuthenticator({
      packages: [ntlm(options)],
      connections: { maxPendingHandshakes: 2 },
    });
    const leg = (c: EventEmitter) =>
      auth.authenticate(request(c, `NTLM ${negotiate().toString('base64')}`));
    await leg(new EventEmitter());
    await leg(new EventEmitter());
    const third = await leg(new EventEmitter());
    assert.equal(third.type === 'respond' && third.status, 503);
  });

  it('random tokens never produce a 500, a crash or pending state', async () => {
    const auth = createAuthenticator({ packages: [ntlm(options)] });
    const connection = new EventEmitter();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.base64String({ maxLength: 400 }),
          fc
            .uint8Array({ maxLength: 300 })
            .map((b) =>
              Buffer.concat([Buffer.from('NTLMSSP\0\x03\0\0\0', 'latin1'), b]).toString('base64'),
            ),
        ),
        async (token) => {
          const decision = await auth.authenticate(request(connection, `NTLM ${token}`));
          assert.equal(decision.type, 'respond');
          if (decision.type !== 'respond') return;
          assert.ok(
            [400, 401].includes(decision.status),
            `${decision.status} ${decision.error.code}`,
          );
          assert.notEqual(decision.error.code, 'ERR_HTTPAUTH_INTERNAL');
        },
      ),
      { numRuns: 300 },
    );
    assert.equal(auth.pendingHandshakes, 0);
  });

  describe('channel binding through the challenge loop', () => {
    // A throwaway certificate (EC P-256, quick to make): its tls-server-end-point binding.
    const certificate = (): Buffer => selfSignedCertificate().der;
    const ours = certificate();
    const theirs = certificate();

    async function legs(
      auth: ReturnType<typeof createAuthenticator>,
      bindingFor: Buffer,
      extra: Partial<AuthRequest>,
    ) {
      const connection = new EventEmitter();
      const neg = negotiate();
      const second = await auth.authenticate(
        request(connection, `NTLM ${neg.toString('base64')}`, extra),
      );
      const challenge = Buffer.from(header(second, 'www-authenticate')[0]!.slice(5), 'base64');
      const type3 = authenticate(neg, challenge, {
        user: 'alice',
        password: 'Wonderland1',
        channelBinding: tlsServerEndPoint(bindingFor),
      }).message;
      return auth.authenticate(request(connection, `NTLM ${type3.toString('base64')}`, extra));
    }

    it('TLS terminated here: the certificate of the connection', async () => {
      const auth = createAuthenticator({
        packages: [ntlm({ ...options, channelBinding: { mode: 'require' } })],
      });
      const tls = { secure: true, localCertificate: ours };
      const good = await legs(auth, ours, tls);
      assert.equal(good.type === 'authenticated' && good.auth.principal.channelBound, true);
      const relayed = await legs(auth, theirs, tls);
      assert.equal(
        relayed.type === 'respond' && relayed.error.code,
        'ERR_HTTPAUTH_CHANNEL_BINDING_MISMATCH',
      );
      const plainHttp = await legs(auth, ours, {});
      assert.equal(
        plainHttp.type === 'respond' && plainHttp.error.code,
        'ERR_HTTPAUTH_CHANNEL_BINDING_MISSING',
      );
    });

    it('behind a TLS-terminating proxy: the configured certificate', async () => {
      const auth = createAuthenticator({
        packages: [ntlm({ ...options, channelBinding: { mode: 'require' } })],
        channelBindingCertificate: ours,
      });
      const good = await legs(auth, ours, { secure: true });
      assert.equal(good.type === 'authenticated' && good.auth.principal.channelBound, true);
      const relayed = await legs(auth, theirs, { secure: true });
      assert.equal(
        relayed.type === 'respond' && relayed.error.code,
        'ERR_HTTPAUTH_CHANNEL_BINDING_MISMATCH',
      );
    });
  });
});
