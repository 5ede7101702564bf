import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HttpAuthError } from '../src/errors.js';
import { CHANNEL_CHALLENGE, CHANNEL_FAILURE, CHANNEL_SUCCESS } from '../src/events.js';
import { createAuthenticator } from '../src/loop/authenticator.js';
import type { AuthDecision } from '../src/loop/authenticator.js';
import type { AcceptResult, Credentials, SecurityPackage } from '../src/security-package.js';
import { authRequest } from '../../../test/support/auth-request.js';

/**
 * A two-leg, connection-bound test package: "Two start" -> continue "challenge-N";
 * "Two finish-N" with the N this connection was given -> complete.
 */
function twoLeg(options: { persist?: boolean } = {}): SecurityPackage & { accepted: number } {
  let counter = 0;
  const pkg = {
    name: 'Two',
    scheme: 'Two',
    connectionBound: true,
    accepted: 0,
    challenges: () => ['Two'],
    async accept(
      credentials: Credentials,
      context: Parameters<SecurityPackage['accept']>[1],
    ): Promise<AcceptResult> {
      const token = credentials.token68 ?? '';
      if (token === 'start') {
        const n = String(++counter);
        context.handshake!.set(n);
        return { type: 'continue', token: `challenge-${n}` };
      }
      if (token.startsWith('finish-')) {
        const expected = context.handshake!.get();
        if (expected === undefined)
          return { type: 'reject', error: new HttpAuthError('ERR_HTTPAUTH_HANDSHAKE_EXPIRED') };
        if (token !== `finish-${String(expected)}`) {
          return { type: 'reject', error: new HttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS') };
        }
        pkg.accepted++;
        return {
          type: 'complete',
          principal: {
            name: `user${String(expected)}`,
            user: `user${String(expected)}`,
            mechanism: 'NTLM',
          },
          persist: options.persist ?? true,
        };
      }
      if (token === 'boom') throw new Error('a bug');
      if (token === 'bad') throw new HttpAuthError('ERR_HTTPAUTH_NTLM_MALFORMED');
      return { type: 'reject', error: new HttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS') };
    },
  };
  return pkg;
}

/** A one-leg package with mutual-auth output and a "stale" challenge replacement. */
const oneLeg: SecurityPackage = {
  name: 'One',
  scheme: 'One',
  connectionBound: false,
  challenges: () => ['One realm="a"', 'One realm="b"'],
  async accept(credentials) {
    if (credentials.params?.get('user') === 'ok') {
      return {
        type: 'complete',
        principal: { name: 'ok', user: 'ok', mechanism: 'Digest' },
        token: 'mutual',
        authenticationInfo: 'rspauth="x"',
      };
    }
    if (credentials.params?.get('user') === 'stale') {
      return {
        type: 'reject',
        error: new HttpAuthError('ERR_HTTPAUTH_DIGEST_NONCE_STALE'),
        challenges: ['One stale=true'],
      };
    }
    return { type: 'reject', error: new HttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS') };
  },
};

class FakeSocket extends EventEmitter {}

const request = authRequest;

function headerValues(decision: AuthDecision, name: string): string[] {
  return decision.headers.filter(([n]) => n === name).map(([, v]) => v);
}

function assertRespond(decision: AuthDecision, status: number, code: string) {
  assert.equal(decision.type, 'respond');
  if (decision.type !== 'respond') return;
  assert.equal(decision.status, status);
  assert.equal(decision.error.code, code);
}

/** An event without the per-request facts (address, method, path, duration), tested on their own. */
function withoutRequestFacts(message: unknown): unknown {
  const { clientAddress, method, path, durationMs, ...rest } = message as Record<string, unknown>;
  void clientAddress;
  void method;
  void path;
  void durationMs;
  return rest;
}

describe('authenticator', () => {
  it('challenges with every package in order, one header per challenge', async () => {
    const auth = createAuthenticator({ packages: [oneLeg, twoLeg()] });
    const decision = await auth.authenticate(request(undefined, { connection: new FakeSocket() }));
    assertRespond(decision, 401, 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
    assert.deepEqual(headerValues(decision, 'www-authenticate'), [
      'One realm="a"',
      'One realm="b"',
      'Two',
    ]);
  });

  it('offers connection-bound packages over HTTP/2 and sends their credentials to HTTP/1.1', async () => {
    const auth = createAuthenticator({ packages: [oneLeg, twoLeg()] });
    const h2 = await auth.authenticate(
      request(undefined, { connection: new FakeSocket(), httpVersionMajor: 2 }),
    );
    // As IIS does: a browser that tries the scheme there is reset with HTTP_1_1_REQUIRED.
    assert.deepEqual(headerValues(h2, 'www-authenticate'), [
      'One realm="a"',
      'One realm="b"',
      'Two',
    ]);
    const used = await auth.authenticate(
      request('Two start', { connection: new FakeSocket(), httpVersionMajor: 2 }),
    );
    assertRespond(used, 400, 'ERR_HTTPAUTH_HTTP11_REQUIRED');
  });

  it('does not offer connection-bound packages on HTTP/1.x without a connection', async () => {
    const auth = createAuthenticator({ packages: [oneLeg, twoLeg()] });
    const bare = await auth.authenticate(request(undefined, {}));
    assert.deepEqual(headerValues(bare, 'www-authenticate'), ['One realm="a"', 'One realm="b"']);
    const used = await auth.authenticate(request('Two start', {}));
    assertRespond(used, 400, 'ERR_HTTPAUTH_CONNECTION_REQUIRED');
  });

  it('runs a two-leg handshake on one connection and persists it', async () => {
    const pkg = twoLeg();
    const auth = createAuthenticator({ packages: [pkg] });
    const socket = new FakeSocket();
    const first = await auth.authenticate(request('Two start', { connection: socket }));
    assertRespond(first, 401, 'ERR_HTTPAUTH_HANDSHAKE_CONTINUE');
    assert.deepEqual(headerValues(first, 'www-authenticate'), ['Two challenge-1']);
    assert.equal(auth.pendingHandshakes, 1);
    const second = await auth.authenticate(request('Two finish-1', { connection: socket }));
    assert.equal(second.type, 'authenticated');
    assert.equal(auth.pendingHandshakes, 0);
    if (second.type === 'authenticated') {
      assert.equal(second.auth.principal.name, 'user1');
      assert.equal(second.auth.impersonation.level, 'identify');
    }
    // Later requests on the same connection need no credentials...
    const third = await auth.authenticate(request(undefined, { connection: socket }));
    assert.equal(third.type, 'authenticated');
    // ...but another connection does.
    const other = await auth.authenticate(request(undefined, { connection: new FakeSocket() }));
    assertRespond(other, 401, 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
    // Failed new credentials drop the persisted authentication.
    const failed = await auth.authenticate(request('Two wrong', { connection: socket }));
    assertRespond(failed, 401, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    const after = await auth.authenticate(request(undefined, { connection: socket }));
    assertRespond(after, 401, 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
  });

  it('does not persist when the package says so', async () => {
    const auth = createAuthenticator({ packages: [twoLeg({ persist: false })] });
    const socket = new FakeSocket();
    await auth.authenticate(request('Two start', { connection: socket }));
    assert.equal(
      (await auth.authenticate(request('Two finish-1', { connection: socket }))).type,
      'authenticated',
    );
    assertRespond(
      await auth.authenticate(request(undefined, { connection: socket })),
      401,
      'ERR_HTTPAUTH_CREDENTIALS_REQUIRED',
    );
  });

  it('keeps handshake state per connection: a leg on another connection fails', async () => {
    const auth = createAuthenticator({ packages: [twoLeg()] });
    await auth.authenticate(request('Two start', { connection: new FakeSocket() }));
    const elsewhere = await auth.authenticate(
      request('Two finish-1', { connection: new FakeSocket() }),
    );
    assertRespond(elsewhere, 401, 'ERR_HTTPAUTH_HANDSHAKE_EXPIRED');
  });

  it('drops state when the socket closes', async () => {
    const auth = createAuthenticator({ packages: [twoLeg()] });
    const socket = new FakeSocket();
    await auth.authenticate(request('Two start', { connection: socket }));
    assert.equal(auth.pendingHandshakes, 1);
    socket.emit('close');
    assert.equal(auth.pendingHandshakes, 0);
    assertRespond(
      await auth.authenticate(request('Two finish-1', { connection: socket })),
      401,
      'ERR_HTTPAUTH_HANDSHAKE_EXPIRED',
    );
  });

  it('expires handshakes after the timeout', async () => {
    let now = 0;
    const auth = createAuthenticator({
      packages: [twoLeg()],
      connections: { handshakeTimeoutMs: 1000 },
      now: () => now,
    });
    const socket = new FakeSocket();
    await auth.authenticate(request('Two start', { connection: socket }));
    now = 1000;
    assertRespond(
      await auth.authenticate(request('Two finish-1', { connection: socket })),
      401,
      'ERR_HTTPAUTH_HANDSHAKE_EXPIRED',
    );
  });

  it('bounds pending handshakes per process', async () => {
    let now = 0;
    const auth = createAuthenticator({
      packages: [twoLeg()],
      connections: { maxPendingHandshakes: 2, handshakeTimeoutMs: 1000 },
      now: () => now,
    });
    await auth.authenticate(request('Two start', { connection: new FakeSocket() }));
    await auth.authenticate(request('Two start', { connection: new FakeSocket() }));
    const third = await auth.authenticate(request('Two start', { connection: new FakeSocket() }));
    assertRespond(third, 503, 'ERR_HTTPAUTH_TOO_MANY_HANDSHAKES');
    assert.deepEqual(headerValues(third, 'retry-after'), ['5']);
    now = 1000; // the first two expired: room again
    assert.equal(
      (await auth.authenticate(request('Two start', { connection: new FakeSocket() }))).type,
      'respond',
    );
    assert.equal(auth.pendingHandshakes, 1);
  });

  it('sends mutual-auth tokens and Authentication-Info on success', async () => {
    const auth = createAuthenticator({ packages: [oneLeg] });
    const decision = await auth.authenticate(request('One user=ok'));
    assert.equal(decision.type, 'authenticated');
    assert.deepEqual(headerValues(decision, 'www-authenticate'), ['One mutual']);
    assert.deepEqual(headerValues(decision, 'authentication-info'), ['rspauth="x"']);
  });

  it('lets a package replace its own challenges on rejection (stale=true)', async () => {
    const auth = createAuthenticator({ packages: [oneLeg, twoLeg()] });
    const decision = await auth.authenticate(
      request('One user=stale', { connection: new FakeSocket() }),
    );
    assertRespond(decision, 401, 'ERR_HTTPAUTH_DIGEST_NONCE_STALE');
    assert.deepEqual(headerValues(decision, 'www-authenticate'), ['One stale=true', 'Two']);
  });

  it('answers 407 and Proxy-* headers in proxy mode', async () => {
    const auth = createAuthenticator({ packages: [oneLeg], proxy: true });
    const none = await auth.authenticate(request('One user=ok')); // Authorization is ignored
    assertRespond(none, 407, 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
    assert.equal(headerValues(none, 'proxy-authenticate').length, 2);
    const ok = await auth.authenticate({
      ...request(undefined),
      headers: { 'proxy-authorization': 'One user=ok' },
    });
    assert.equal(ok.type, 'authenticated');
    assert.deepEqual(headerValues(ok, 'proxy-authenticate'), ['One mutual']);
    assert.deepEqual(headerValues(ok, 'proxy-authentication-info'), ['rspauth="x"']);
  });

  it('maps malformed input to 400, unknown schemes to 401, bugs to 503', async () => {
    const auth = createAuthenticator({ packages: [oneLeg, twoLeg()] });
    const socket = new FakeSocket();
    assertRespond(
      await auth.authenticate(request('One a="unterminated')),
      400,
      'ERR_HTTPAUTH_HEADER_MALFORMED',
    );
    assertRespond(
      await auth.authenticate(request(['One user=ok', 'One user=ok'])),
      400,
      'ERR_HTTPAUTH_MULTIPLE_CREDENTIALS',
    );
    const unknown = await auth.authenticate(request('Bearer abc'));
    assertRespond(unknown, 401, 'ERR_HTTPAUTH_SCHEME_UNSUPPORTED');
    assert.ok(headerValues(unknown, 'www-authenticate').length > 0);
    assertRespond(
      await auth.authenticate(request('Two bad', { connection: socket })),
      400,
      'ERR_HTTPAUTH_NTLM_MALFORMED',
    );
    assertRespond(
      await auth.authenticate(request('Two boom', { connection: socket })),
      503,
      'ERR_HTTPAUTH_INTERNAL',
    );
    assert.equal(auth.pendingHandshakes, 0);
  });

  it('matches schemes case-insensitively', async () => {
    const auth = createAuthenticator({ packages: [oneLeg] });
    assert.equal((await auth.authenticate(request('oNe user=ok'))).type, 'authenticated');
  });

  it('publishes audit events without secrets', async () => {
    const auth = createAuthenticator({ packages: [oneLeg] });
    const events: unknown[] = [];
    const listener = (message: unknown) => events.push(withoutRequestFacts(message));
    subscribe(CHANNEL_SUCCESS, listener);
    subscribe(CHANNEL_FAILURE, listener);
    try {
      await auth.authenticate(request('One user=ok'));
      await auth.authenticate(request('One user=nope, secret="hunter2"'));
    } finally {
      unsubscribe(CHANNEL_SUCCESS, listener);
      unsubscribe(CHANNEL_FAILURE, listener);
    }
    assert.deepEqual(events, [
      { mechanism: 'Digest', scheme: 'One', name: 'ok', reused: false },
      { scheme: 'One', code: 'ERR_HTTPAUTH_BAD_CREDENTIALS', status: 401 },
    ]);
    assert.ok(!JSON.stringify(events).includes('hunter2'));
  });

  it('names the scheme on every decision and on the failure events of a package that throws', async () => {
    const throwing: SecurityPackage = {
      ...oneLeg,
      async accept() {
        throw new HttpAuthError('ERR_HTTPAUTH_HEADER_MALFORMED');
      },
    };
    const auth = createAuthenticator({ packages: [throwing, twoLeg()] });
    const events: unknown[] = [];
    const listener = (message: unknown) => events.push(withoutRequestFacts(message));
    subscribe(CHANNEL_FAILURE, listener);
    let thrown, continued, none, unknown;
    try {
      thrown = await auth.authenticate(request('One user=ok'));
      continued = await auth.authenticate(request('Two start', { connection: new FakeSocket() }));
      none = await auth.authenticate(request(undefined));
      unknown = await auth.authenticate(request('bEaReR abc'));
    } finally {
      unsubscribe(CHANNEL_FAILURE, listener);
    }
    assertRespond(thrown, 400, 'ERR_HTTPAUTH_HEADER_MALFORMED');
    assert.equal(thrown.scheme, 'One');
    assert.equal(continued.scheme, 'Two');
    assert.equal(none.scheme, undefined);
    assert.equal(unknown.scheme, 'bEaReR');
    assert.deepEqual(events[0], {
      scheme: 'One',
      code: 'ERR_HTTPAUTH_HEADER_MALFORMED',
      status: 400,
    });
    const ok = await createAuthenticator({ packages: [oneLeg] }).authenticate(
      request('one user=ok'),
    );
    assert.equal(ok.type, 'authenticated');
    assert.equal(ok.scheme, 'One');
  });

  it('events carry the client address, method, path without the query, duration and detail', async () => {
    const refusing: SecurityPackage = {
      ...oneLeg,
      async accept() {
        return {
          type: 'reject',
          error: new HttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS', {
            detail: { user: 'mallory', algorithm: 'SHA-256' },
          }),
        };
      },
    };
    const auth = createAuthenticator({ packages: [refusing] });
    const events: Record<string, unknown>[] = [];
    const listener = (message: unknown) => events.push(message as Record<string, unknown>);
    subscribe(CHANNEL_FAILURE, listener);
    subscribe(CHANNEL_CHALLENGE, listener);
    try {
      await auth.authenticate({
        ...request('One user=mallory'),
        method: 'POST',
        target: '/orders/7?token=secret-in-query',
        clientAddress: '192.0.2.7',
      });
      await auth.authenticate({ ...request(undefined), target: `/${'a'.repeat(5000)}` });
    } finally {
      unsubscribe(CHANNEL_FAILURE, listener);
      unsubscribe(CHANNEL_CHALLENGE, listener);
    }
    const [failure, challenge] = events;
    assert.equal(failure!.clientAddress, '192.0.2.7');
    assert.equal(failure!.method, 'POST');
    assert.equal(failure!.path, '/orders/7');
    assert.deepEqual(failure!.detail, { user: 'mallory', algorithm: 'SHA-256' });
    assert.ok(typeof failure!.durationMs === 'number' && failure!.durationMs >= 0);
    assert.ok(!JSON.stringify(events).includes('secret-in-query'));
    assert.equal(challenge!.step, 'initial');
    assert.equal((challenge!.path as string).length, 1024);
  });

  it("an event's duration covers a decision that waits, and is 0 for a subscriber that came during it", async () => {
    let release = (): void => {};
    const slow: SecurityPackage = {
      ...oneLeg,
      async accept() {
        await new Promise<void>((resolve) => (release = resolve));
        return {
          type: 'reject',
          error: new HttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS'),
        };
      },
    };
    const auth = createAuthenticator({ packages: [slow] });
    const events: Record<string, unknown>[] = [];
    const listener = (message: unknown) => events.push(message as Record<string, unknown>);
    // Listening before the request: the loop reads the clock when the decision starts.
    subscribe(CHANNEL_FAILURE, listener);
    try {
      const pending = auth.authenticate(request('One user=slow'));
      await new Promise((resolve) => setTimeout(resolve, 30));
      release();
      await pending;
    } finally {
      unsubscribe(CHANNEL_FAILURE, listener);
    }
    assert.equal(events.length, 1);
    assert.ok((events[0]!.durationMs as number) >= 25, `durationMs ${events[0]!.durationMs}`);
    // Nobody listening when the decision started, somebody by the time it ends: no start was
    // read, so the event says 0 rather than NaN or a time since the epoch.
    const late = auth.authenticate(request('One user=late'));
    subscribe(CHANNEL_FAILURE, listener);
    try {
      release();
      await late;
    } finally {
      unsubscribe(CHANNEL_FAILURE, listener);
    }
    assert.equal(events.length, 2);
    assert.equal(events[1]!.durationMs, 0);
  });

  it('an operator-only reason reaches the failure event, not the response', async () => {
    const locked: SecurityPackage = {
      ...oneLeg,
      async accept() {
        return {
          type: 'reject',
          error: new HttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS', {
            reason: 'STATUS_ACCOUNT_LOCKED_OUT',
          }),
        };
      },
    };
    const auth = createAuthenticator({ packages: [locked] });
    const events: unknown[] = [];
    const listener = (message: unknown) => events.push(withoutRequestFacts(message));
    subscribe(CHANNEL_FAILURE, listener);
    let decision;
    try {
      decision = await auth.authenticate(request('One user=frank'));
    } finally {
      unsubscribe(CHANNEL_FAILURE, listener);
    }
    assert.deepEqual(events, [
      {
        scheme: 'One',
        code: 'ERR_HTTPAUTH_BAD_CREDENTIALS',
        status: 401,
        reason: 'STATUS_ACCOUNT_LOCKED_OUT',
      },
    ]);
    assertRespond(decision, 401, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    assert.ok(!JSON.stringify(decision.headers).includes('LOCKED'));
  });

  it('never answers 500 or throws on random Authorization headers', async () => {
    const auth = createAuthenticator({ packages: [oneLeg, twoLeg()] });
    const socket = new FakeSocket();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 120 }),
          fc
            .tuple(fc.constantFrom('One ', 'Two ', 'one ', 'Basic '), fc.string({ maxLength: 80 }))
            .map(([a, b]) => a + b),
          fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
        ),
        async (header) => {
          const decision = await auth.authenticate(request(header, { connection: socket }));
          if (decision.type === 'respond') {
            assert.ok([400, 401, 503].includes(decision.status), `status ${decision.status}`);
            assert.ok(decision.error instanceof HttpAuthError);
            if (decision.status === 503) assert.equal(decision.error.code, 'ERR_HTTPAUTH_INTERNAL');
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('refuses invalid options', () => {
    assert.throws(() => createAuthenticator({ packages: [] }), HttpAuthError);
    assert.throws(() => createAuthenticator({ packages: [oneLeg, oneLeg] }), HttpAuthError);
  });
});
