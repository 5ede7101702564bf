/**
 * The winbind verifier (src/ntlm/winbind*.ts) against a scripted fake ntlm_auth (crashes,
 * garbage, truncation, hangs, a full pool) and against the real ntlm_auth in its fixed-password
 * test mode, through the whole acceptor: the MIC only verifies when the helper's
 * User-Session-Key is the real session base key.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HttpAuthError, isHttpAuthError } from '../src/errors.js';
import { CHANNEL_WARNING } from '../src/events.js';
import type { WarningEvent } from '../src/events.js';
import { NtlmAcceptor } from '../src/ntlm/acceptor.js';
import { ntowfv1 } from '../src/ntlm/keys.js';
import type { NtlmLogonRequest } from '../src/ntlm/credentials.js';
import { ntlm } from '../src/ntlm/ntlm-package.js';
import { winbindVerifier } from '../src/ntlm/winbind.js';
import type { WinbindOptions, WinbindVerifier } from '../src/ntlm/winbind.js';
import { authenticate, negotiate } from './ntlm-client.js';

const FAKE_HELPER = fileURLToPath(
  new URL('./fixtures/winbind/fake-ntlm-auth.mjs', import.meta.url),
);
const FAKE_WBINFO = fileURLToPath(new URL('./fixtures/winbind/fake-wbinfo.mjs', import.meta.url));
const KEY = '00112233445566778899aabbccddeeff';

const request: NtlmLogonRequest = {
  user: 'alice',
  domain: 'SAMDOM',
  workstation: 'WS1',
  flags: 0,
  serverChallenge: Buffer.from('0123456789abcdef', 'hex'),
  lmChallengeResponse: Buffer.alloc(24),
  ntChallengeResponse: Buffer.alloc(64, 1),
  negotiateMessage: Buffer.alloc(0),
  challengeMessage: Buffer.alloc(0),
  authenticateMessage: Buffer.alloc(0),
};

const verifiers: WinbindVerifier[] = [];

function fake(mode: string, extra: Partial<WinbindOptions> = {}, env: NodeJS.ProcessEnv = {}) {
  const verifier = winbindVerifier({
    ntlmAuthPath: FAKE_HELPER,
    wbinfoPath: FAKE_WBINFO,
    timeoutMs: 2_000,
    env: { ...process.env, FAKE_MODE: mode, FAKE_KEY: KEY, ...env },
    ...extra,
  });
  verifiers.push(verifier);
  return verifier;
}

function isUnavailable(error: unknown): boolean {
  return isHttpAuthError(error) && error.code === 'ERR_HTTPAUTH_WINBIND_UNAVAILABLE';
}

after(() => {
  for (const verifier of verifiers) verifier.close();
});

describe('winbindVerifier with a fake ntlm_auth', () => {
  it('answers the session key and the account facts wbinfo gives', async () => {
    const result = await fake('yes').verify(request);
    assert.deepEqual(result, {
      sessionBaseKey: Buffer.from(KEY, 'hex'),
      user: 'Alice',
      domain: 'SAMDOM',
      userSid: 'S-1-5-21-1-2-3-1103',
      groupSids: ['S-1-5-21-1-2-3-513', 'S-1-5-21-1-2-3-1104', 'S-1-5-32-545'],
    });
  });

  it('sends the request the protocol defines, base64 names included', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'httpauth-winbind-'));
    try {
      const log = join(dir, 'requests');
      await fake('yes', { groups: false }, { FAKE_LOG: log }).verify({ ...request, domain: '' });
      assert.equal(
        await readFile(log, 'utf8'),
        `LANMAN-Challenge: 0123456789abcdef|NT-Response: ${'01'.repeat(64)}|Username:: YWxpY2U=|Request-User-Session-Key: Yes\n`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a wrong password is a plain refusal, and the extra "." after it does not desync the helper', async () => {
    const verifier = fake('by-user', { poolSize: 1, groups: false });
    // Refused with the helper's message as the operator-only reason: a logon failure, which
    // ntlm_auth reports alike for an unknown user and a bad password.
    const wrongPassword = (error: unknown) =>
      error instanceof HttpAuthError &&
      error.code === 'ERR_HTTPAUTH_BAD_CREDENTIALS' &&
      error.detail?.check === 'credentials' &&
      /attempted logon is invalid/.test(error.reason ?? '');
    await assert.rejects(verifier.verify({ ...request, user: 'mallory' }), wrongPassword);
    assert.equal((await verifier.verify(request))?.sessionBaseKey.toString('hex'), KEY);
    await assert.rejects(verifier.verify({ ...request, user: 'mallory' }), wrongPassword);
    assert.equal(verifier.processes, 1, 'the same helper answered all three');
  });

  it('winbindd down is 503 (ERR_HTTPAUTH_WINBIND_UNAVAILABLE), not a refusal', async () => {
    await assert.rejects(fake('winbind-down').verify(request), isUnavailable);
  });

  it('an answer nobody asked for: the stream is out of step, so the helper is replaced', async () => {
    const verifier = fake('two-answers', { poolSize: 1, groups: false });
    assert.equal((await verifier.verify(request))?.sessionBaseKey.toString('hex'), KEY);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(verifier.processes, 0, 'killed on the second, unsolicited answer');
    assert.equal((await verifier.verify(request))?.sessionBaseKey.toString('hex'), KEY);
  });

  for (const mode of ['garbage', 'no-key', 'error', 'truncated', 'oversized']) {
    it(`${mode} output: 503, and the helper is replaced`, async () => {
      const verifier = fake(mode, { poolSize: 1 });
      await assert.rejects(verifier.verify(request), isUnavailable);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(verifier.processes <= 1);
    });
  }

  it('a helper that crashes is restarted for the next request', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'httpauth-winbind-'));
    try {
      const state = join(dir, 'state');
      const verifier = fake('crash-once', { poolSize: 1, groups: false }, { FAKE_STATE: state });
      await assert.rejects(verifier.verify(request), isUnavailable);
      const result = await verifier.verify(request);
      assert.equal(result?.sessionBaseKey.toString('hex'), KEY);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a helper that hangs times out with 503 and is killed', async () => {
    const verifier = fake('hang', { poolSize: 1, timeoutMs: 200 });
    const started = Date.now();
    await assert.rejects(verifier.verify(request), isUnavailable);
    assert.ok(Date.now() - started < 2_000);
    assert.equal(verifier.processes, 0);
  });

  it('a missing ntlm_auth is 503', async () => {
    const verifier = fake('yes', { ntlmAuthPath: '/nonexistent/ntlm_auth' });
    await assert.rejects(verifier.verify(request), isUnavailable);
  });

  it('runs checks on at most poolSize helpers, queues the rest, and bounds the queue', async () => {
    const pooled = fake('slow', { poolSize: 2, groups: false }, { FAKE_DELAY_MS: '30' });
    const results = await Promise.all(Array.from({ length: 8 }, () => pooled.verify(request)));
    assert.ok(results.every((r) => r?.sessionBaseKey.toString('hex') === KEY));
    assert.equal(pooled.processes, 2);

    const tight = fake(
      'slow',
      { poolSize: 1, maxQueue: 1, groups: false },
      { FAKE_DELAY_MS: '100' },
    );
    const settled = await Promise.allSettled([1, 2, 3].map(() => tight.verify(request)));
    assert.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'fulfilled', 'rejected'],
    );
    assert.ok(isUnavailable((settled[2] as PromiseRejectedResult).reason));
  });

  it('live helpers do not keep the process from exiting', async () => {
    const module = new URL('../src/ntlm/winbind.ts', import.meta.url).href;
    const code = `
      const { winbindVerifier } = await import(${JSON.stringify(module)});
      const verifier = winbindVerifier({ ntlmAuthPath: ${JSON.stringify(FAKE_HELPER)}, groups: false });
      const result = await verifier.verify({
        user: 'alice', domain: 'SAMDOM', workstation: '', flags: 0,
        serverChallenge: Buffer.alloc(8), lmChallengeResponse: Buffer.alloc(0),
        ntChallengeResponse: Buffer.alloc(64, 1), negotiateMessage: Buffer.alloc(0),
        challengeMessage: Buffer.alloc(0), authenticateMessage: Buffer.alloc(0),
      });
      console.log(result.sessionBaseKey.toString('hex'), verifier.processes);
    `;
    const started = Date.now();
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', code],
        { env: { ...process.env, FAKE_MODE: 'yes', FAKE_KEY: KEY }, timeout: 20_000 },
        (error, stdout) => (error === null ? resolve(stdout) : reject(error)),
      );
    });
    assert.equal(output.trim(), `${KEY} 1`, 'it verified through a live helper');
    assert.ok(Date.now() - started < 15_000, 'and exited without close()');
  });

  it('wbinfo failing leaves the logon valid, without SIDs, and warns', async () => {
    const events: WarningEvent[] = [];
    const listener = (event: unknown) => events.push(event as WarningEvent);
    subscribe(CHANNEL_WARNING, listener);
    try {
      const result = await fake('yes', {}, { FAKE_WBINFO: 'fail' }).verify(request);
      assert.deepEqual(result, { sessionBaseKey: Buffer.from(KEY, 'hex'), domain: 'SAMDOM' });
      assert.deepEqual(events, [{ code: 'ERR_HTTPAUTH_WINBIND_UNAVAILABLE', source: 'winbind' }]);
    } finally {
      unsubscribe(CHANNEL_WARNING, listener);
    }
  });

  it('refuses invalid options, and credentials together with winbind', () => {
    for (const bad of [{ poolSize: 0 }, { timeoutMs: -1 }, { domain: '' }, { ntlmAuthArgs: [1] }]) {
      assert.throws(
        () => winbindVerifier(bad as never),
        (e: unknown) => isHttpAuthError(e) && e.code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
      );
    }
    assert.throws(
      () => ntlm({ domain: 'SAMDOM', winbind: true, credentials: () => undefined }),
      (e: unknown) => isHttpAuthError(e) && e.code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
    );
    assert.throws(
      () =>
        ntlm({
          domain: 'SAMDOM',
          winbind: true,
          domainController: { machineAccount: 'WEB1$', machinePassword: 'x', servers: ['dc'] },
        }),
      (e: unknown) => isHttpAuthError(e) && e.code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
    );
    // A domain controller alone is a source of its own: no winbind, no credentials needed.
    const viaDc = ntlm({
      domain: 'SAMDOM',
      domainController: { machineAccount: 'WEB1$', machinePassword: 'x', servers: ['127.0.0.1:1'] },
    });
    assert.equal(viaDc.scheme, 'NTLM'); // the channel opens on the first logon, not here
    assert.throws(
      () => ntlm({ domain: 'SAMDOM' }),
      (e: unknown) => isHttpAuthError(e) && e.code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
    );
  });
});

describe('winbindVerifier with the real ntlm_auth (fixed-password test mode)', () => {
  const PASSWORD = 'Wonderland1';
  let dir: string;
  let verifier: WinbindVerifier;
  let acceptor: NtlmAcceptor;
  /** The same handshake checked with the NT hash here: what the helper's key must reproduce. */
  let local: NtlmAcceptor;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'httpauth-ntlm-auth-'));
    const conf = join(dir, 'smb.conf');
    await writeFile(conf, '[global]\n\tworkgroup = SAMDOM\n');
    // --password makes ntlm_auth check every response against this one password itself,
    // with Samba's own NTLM code, instead of asking winbindd: the same protocol and answers.
    verifier = winbindVerifier({
      ntlmAuthArgs: [`--configfile=${conf}`, `--password=${PASSWORD}`],
      groups: false,
    });
    verifiers.push(verifier);
    acceptor = new NtlmAcceptor({ domain: 'SAMDOM', credentials: verifier, allowNtlmV1: true });
    local = new NtlmAcceptor({
      domain: 'SAMDOM',
      credentials: () => ntowfv1(PASSWORD),
      allowNtlmV1: true,
    });
  });

  after(async () => {
    verifier?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function logon(password: string, version: 'v2' | 'v1' = 'v2') {
    const negotiateMessage = negotiate();
    const first = await acceptor.step(negotiateMessage, undefined, { now: Date.now() });
    if (first.type !== 'continue') throw new Error('no CHALLENGE');
    const auth = authenticate(negotiateMessage, first.token, {
      user: 'alice',
      password,
      domain: 'SAMDOM',
      version,
    });
    const result = acceptor.step(auth.message, first.state, { now: Date.now() });
    const expected = async () => {
      const done = await local.step(auth.message, first.state, { now: Date.now() });
      return done.type === 'complete' ? done.sessionKey : undefined;
    };
    return { auth, result, expected };
  }

  it('NTLMv2: the helper key is the session base key, so the MIC and the exported key match', async () => {
    const { auth, result, expected } = await logon(PASSWORD);
    const done = await result;
    assert.equal(done.type, 'complete');
    if (done.type !== 'complete') return;
    assert.equal(done.context.micVerified, true);
    assert.deepEqual(done.sessionKey, auth.exportedSessionKey);
    assert.deepEqual(done.sessionKey, await expected());
    assert.equal(done.principal.name, 'SAMDOM\\alice');
  });

  it('NTLMv1 with extended session security: the ESS nonce goes to the helper as the challenge', async () => {
    const { result, expected } = await logon(PASSWORD, 'v1');
    const done = await result;
    assert.equal(done.type, 'complete');
    if (done.type !== 'complete') return;
    assert.equal(done.context.ntlmVersion, 1);
    assert.deepEqual(done.sessionKey, await expected());
  });

  it('a wrong password is ERR_HTTPAUTH_BAD_CREDENTIALS (401), and the helper stays in step', async () => {
    const { result } = await logon('not-the-password');
    await assert.rejects(
      result,
      (e: unknown) => isHttpAuthError(e) && e.code === 'ERR_HTTPAUTH_BAD_CREDENTIALS',
    );
    assert.equal((await (await logon(PASSWORD)).result).type, 'complete');
  });
});
