/**
 * The operator-only detail of a refused NTLM AUTHENTICATE (ntlm/failure-detail.ts): the domain,
 * user and workstation the message names (bounded) and which check failed, from the acceptor,
 * the local hash source, and Negotiate's NTLM. Never the password, a hash, the response or the
 * message itself.
 */
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpAuthError } from '../src/errors.js';
import type { NtlmAcceptor } from '../src/ntlm/acceptor.js';
import { ntowfv1 } from '../src/ntlm/keys.js';
import { negotiate as negotiatePackage } from '../src/negotiate/negotiate.js';
import type { AcceptContext, AuthRequest, HandshakeSlot } from '../src/security-package.js';
import { MemoryStore } from '../src/store/memory.js';
import { checkOfLogonStatus } from '../src/ntlm/failure-detail.js';
import { exampleAcceptor } from './fixtures/ntlm/example-acceptor.js';
import type { AuthenticateOptions } from './ntlm-client.js';
import { authenticate, negotiate, WINDOWS_NEGOTIATE_FLAGS } from './ntlm-client.js';

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const PASSWORD = 'Wonderland1';

/** One NTLM handshake against `server`; resolves the refusal of its AUTHENTICATE. */
async function refusal(
  server: NtlmAcceptor,
  client: Partial<AuthenticateOptions>,
  input: { channelBinding?: Buffer } = {},
): Promise<{ error: HttpAuthError; message: Buffer }> {
  const negotiateMessage = negotiate(WINDOWS_NEGOTIATE_FLAGS);
  const first = await server.step(negotiateMessage, undefined, { now: NOW });
  if (first.type !== 'continue') throw new Error('no challenge');
  const auth = authenticate(negotiateMessage, first.token, {
    user: 'alice',
    password: PASSWORD,
    domain: 'EXAMPLE',
    workstation: 'LAPTOP7',
    ...client,
  });
  try {
    await server.step(auth.message, first.state, {
      now: NOW,
      channelBinding: input.channelBinding,
    });
  } catch (error) {
    assert.ok(error instanceof HttpAuthError);
    return { error, message: auth.message };
  }
  throw new Error('accepted');
}

/** No secret in the detail: the message (base64 or hex), the password, its NT hash. */
function assertNoSecrets(detail: unknown, message: Buffer, password: string): void {
  const serialized = JSON.stringify(detail);
  for (const secret of [
    message.toString('base64'),
    message.toString('hex'),
    password,
    ntowfv1(password).toString('hex'),
  ]) {
    assert.ok(!serialized.includes(secret), 'a secret leaked');
  }
}

describe('NTLM failure detail', () => {
  it('a wrong password: who, from where, and that the proof failed', async () => {
    const { error, message } = await refusal(exampleAcceptor(), { password: 'nope-42' });
    assert.equal(error.code, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    assert.deepEqual(error.detail, {
      domain: 'EXAMPLE',
      user: 'alice',
      workstation: 'LAPTOP7',
      check: 'proof',
    });
    assertNoSecrets(error.detail, message, 'nope-42');
  });

  it('an unknown user is the account check', async () => {
    const { error } = await refusal(exampleAcceptor(), { user: 'mallory' });
    assert.equal(error.detail?.check, 'account');
    assert.equal(error.detail?.user, 'mallory');
  });

  it('a custom verifier that resolves undefined cannot say which: credentials', async () => {
    const server = exampleAcceptor({ credentials: { verify: async () => undefined } });
    const { error } = await refusal(server, {});
    assert.equal(error.detail?.check, 'credentials');
  });

  it('names are bounded', async () => {
    const { error } = await refusal(exampleAcceptor(), { user: 'u'.repeat(3000) });
    assert.equal((error.detail?.user as string).length, 257);
  });

  it('each later check names itself', async () => {
    const binding = Buffer.from('tls-server-end-point:0123456789abcdef0123456789abcdef');
    const cases: [
      NtlmAcceptor,
      Partial<AuthenticateOptions>,
      Buffer | undefined,
      string,
      string,
    ][] = [
      [exampleAcceptor(), { zeroMic: true }, undefined, 'ERR_HTTPAUTH_NTLM_MIC_MISSING', 'mic'],
      [
        exampleAcceptor({ targetNames: ['HTTP/web01.example.test'] }),
        { targetName: 'HTTP/evil.example.test' },
        undefined,
        'ERR_HTTPAUTH_NTLM_TARGET_NAME',
        'target-name',
      ],
      [
        exampleAcceptor({ channelBinding: { mode: 'require' } }),
        { channelBinding: Buffer.from('tls-server-end-point:another') },
        binding,
        'ERR_HTTPAUTH_CHANNEL_BINDING_MISMATCH',
        'channel-binding',
      ],
      [exampleAcceptor(), { version: 'v1' }, undefined, 'ERR_HTTPAUTH_NTLM_V1_REFUSED', 'version'],
      [
        exampleAcceptor(),
        { version: 'anonymous', user: '', password: '' },
        undefined,
        'ERR_HTTPAUTH_NTLM_ANONYMOUS_REFUSED',
        'anonymous',
      ],
    ];
    for (const [server, client, channelBinding, code, check] of cases) {
      const { error, message } = await refusal(server, client, { channelBinding });
      assert.equal(error.code, code);
      assert.equal(error.detail?.check, check, code);
      assert.equal(error.detail?.workstation, 'LAPTOP7');
      assertNoSecrets(error.detail, message, PASSWORD);
    }
  });

  it('a timestamp outside the window gives the clock difference in seconds', async () => {
    const server = exampleAcceptor({ timestampWindowMs: 60_000 });
    const { error } = await refusal(server, { timeMs: NOW - 90_000 });
    assert.equal(error.code, 'ERR_HTTPAUTH_NTLM_TIMESTAMP_SKEW');
    assert.equal(error.detail?.check, 'timestamp');
    assert.equal(error.detail?.clockDifferenceSeconds, -90);
  });

  it("through Negotiate's NTLM, the refusal carries the same detail", async () => {
    const pkg = negotiatePackage({
      mechanisms: ['ntlm'],
      ntlm: { domain: 'EXAMPLE', credentials: () => ntowfv1('Bob-pw1') },
    });
    let held: unknown;
    const slot: HandshakeSlot = {
      get: () => held,
      set: (value) => {
        held = value;
      },
      clear: () => {
        held = undefined;
      },
    };
    const request: AuthRequest = {
      method: 'GET',
      target: '/',
      headers: {},
      httpVersionMajor: 1,
      secure: false,
    };
    const context: AcceptContext = {
      request,
      handshake: slot,
      channelBinding: undefined,
      store: new MemoryStore(),
      now: Date.now(),
    };
    const send = (token: Buffer) =>
      pkg.accept({ scheme: 'Negotiate', token68: token.toString('base64') }, context);
    const negotiateMessage = negotiate(WINDOWS_NEGOTIATE_FLAGS);
    const first = await send(negotiateMessage);
    assert.equal(first.type, 'continue');
    if (first.type !== 'continue') return;
    const challenge = Buffer.from(first.token, 'base64');
    const auth = authenticate(negotiateMessage, challenge, {
      user: 'bob',
      password: 'wrong-pw9',
      domain: 'EXAMPLE',
      workstation: 'KIOSK',
    });
    const refused = await send(auth.message);
    assert.equal(refused.type, 'reject');
    if (refused.type !== 'reject') return;
    assert.equal(refused.error.code, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    assert.deepEqual(refused.error.detail, {
      domain: 'EXAMPLE',
      user: 'bob',
      workstation: 'KIOSK',
      check: 'proof',
    });
    assertNoSecrets(refused.error.detail, auth.message, 'wrong-pw9');
  });

  it("a domain controller's or winbind's status becomes the check (the status stays the reason)", () => {
    assert.equal(checkOfLogonStatus('STATUS_WRONG_PASSWORD'), 'proof');
    assert.equal(
      checkOfLogonStatus('NT_STATUS_WRONG_PASSWORD: The current password is not correct'),
      'proof',
    );
    assert.equal(checkOfLogonStatus('STATUS_LOGON_FAILURE'), 'credentials');
    for (const status of [
      'STATUS_NO_SUCH_USER',
      'STATUS_ACCOUNT_LOCKED_OUT',
      'STATUS_ACCOUNT_DISABLED',
      'STATUS_PASSWORD_EXPIRED',
    ]) {
      assert.equal(checkOfLogonStatus(status), 'account', status);
    }
  });
});
