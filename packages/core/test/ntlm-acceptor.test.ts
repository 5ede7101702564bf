import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { NtlmAcceptor } from '../src/ntlm/acceptor.js';
import type { NtlmAcceptorOptions, NtlmHandshakeState } from '../src/ntlm/acceptor.js';
import { decodeChallengeMessage } from '../src/ntlm/challenge-message.js';
import {
  MsvAvDnsComputerName,
  MsvAvDnsDomainName,
  MsvAvNbComputerName,
  MsvAvNbDomainName,
  MsvAvTimestamp,
  avPairString,
  fileTimeToMs,
  findAvPair,
} from '../src/ntlm/av-pairs.js';
import * as F from '../src/ntlm/flags.js';
import { ntowfv1, sealKey, signKey } from '../src/ntlm/keys.js';
import type { AuthenticateOptions } from './ntlm-client.js';
import {
  CHROMIUM_NEGOTIATE_FLAGS,
  CURL_NEGOTIATE_FLAGS,
  WINDOWS_NEGOTIATE_FLAGS,
  authenticate,
  negotiate,
} from './ntlm-client.js';
import { exampleAcceptor } from './fixtures/ntlm/example-acceptor.js';

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);

const acceptor = exampleAcceptor;

async function handshake(
  server: NtlmAcceptor,
  client: Omit<AuthenticateOptions, 'user' | 'password'> & { user?: string; password?: string },
  input: { now?: number; channelBinding?: Buffer; negotiateFlags?: number } = {},
) {
  const negotiateMessage = negotiate(input.negotiateFlags ?? WINDOWS_NEGOTIATE_FLAGS);
  const first = await server.step(negotiateMessage, undefined, { now: input.now ?? NOW });
  assert.equal(first.type, 'continue');
  if (first.type !== 'continue') throw new Error('unreachable');
  const auth = authenticate(negotiateMessage, first.token, {
    user: 'alice',
    password: 'Wonderland1',
    domain: 'EXAMPLE',
    ...client,
  });
  const step = () =>
    server.step(auth.message, first.state, {
      now: input.now ?? NOW,
      channelBinding: input.channelBinding,
    });
  return { first, auth, step };
}

async function completes(promise: ReturnType<NtlmAcceptor['step']>) {
  const result = await promise;
  assert.equal(result.type, 'complete');
  if (result.type !== 'complete') throw new Error('unreachable');
  return result;
}

describe('NtlmAcceptor CHALLENGE', () => {
  it('answers a Windows NEGOTIATE with target info, timestamp and the requested flags', async () => {
    const { first } = await handshake(acceptor(), {});
    if (first.type !== 'continue') return;
    const challenge = decodeChallengeMessage(first.token);
    for (const flag of [
      F.NTLMSSP_NEGOTIATE_UNICODE,
      F.NTLMSSP_NEGOTIATE_NTLM,
      F.NTLMSSP_NEGOTIATE_TARGET_INFO,
      F.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY,
      F.NTLMSSP_NEGOTIATE_KEY_EXCH,
      F.NTLMSSP_NEGOTIATE_128,
      F.NTLMSSP_NEGOTIATE_56,
      F.NTLMSSP_NEGOTIATE_SIGN,
      F.NTLMSSP_NEGOTIATE_SEAL,
      F.NTLMSSP_NEGOTIATE_VERSION,
      F.NTLMSSP_TARGET_TYPE_DOMAIN,
    ]) {
      assert.ok(F.hasFlag(challenge.flags, flag), F.flagNames(flag).join());
    }
    assert.equal(F.hasFlag(challenge.flags, F.NTLMSSP_NEGOTIATE_LM_KEY), false);
    assert.equal(challenge.targetName, 'EXAMPLE');
    const text = (id: number) => avPairString(findAvPair(challenge.targetInfoPairs, id)!);
    assert.equal(text(MsvAvNbDomainName), 'EXAMPLE');
    assert.equal(text(MsvAvNbComputerName), 'WEB01');
    assert.equal(text(MsvAvDnsDomainName), 'example.test');
    assert.equal(text(MsvAvDnsComputerName), 'web01.example.test');
    assert.equal(fileTimeToMs(findAvPair(challenge.targetInfoPairs, MsvAvTimestamp)!), NOW);
    assert.equal(challenge.version?.revision, 15);
  });

  it('uses a fresh random server challenge per handshake', async () => {
    const server = acceptor();
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const r = await server.step(negotiate(), undefined, { now: NOW });
      if (r.type === 'continue')
        seen.add(decodeChallengeMessage(r.token).serverChallenge.toString('hex'));
    }
    assert.equal(seen.size, 20);
  });

  it('answers the minimal Chromium and curl NEGOTIATEs (UNICODE / OEM)', async () => {
    const server = acceptor();
    for (const [flags, unicode] of [
      [CHROMIUM_NEGOTIATE_FLAGS, true],
      [CURL_NEGOTIATE_FLAGS, false],
    ] as const) {
      const { first, step } = await handshake(server, {}, { negotiateFlags: flags });
      if (first.type !== 'continue') return;
      const challenge = decodeChallengeMessage(first.token);
      assert.equal(F.hasFlag(challenge.flags, F.NTLMSSP_NEGOTIATE_UNICODE), unicode);
      assert.equal(F.hasFlag(challenge.flags, F.NTLM_NEGOTIATE_OEM), !unicode);
      assert.equal(F.hasFlag(challenge.flags, F.NTLMSSP_NEGOTIATE_KEY_EXCH), false);
      assert.equal(challenge.targetName, 'EXAMPLE');
      const result = await completes(step());
      assert.equal(result.principal.name, 'EXAMPLE\\alice');
    }
  });

  it('keeps the pending state small (< 2 KiB)', async () => {
    const r = await acceptor().step(negotiate(), undefined, { now: NOW });
    if (r.type !== 'continue') return;
    assert.ok(r.state.transcript.length < 512, String(r.state.transcript.length));
    // Not a view into a shared pool slab.
    assert.equal(r.state.transcript.buffer.byteLength, r.state.transcript.length);
  });
});

describe('NtlmAcceptor AUTHENTICATE', () => {
  it('verifies NTLMv2 with MIC and key exchange; derives the session keys', async () => {
    const { auth, step } = await handshake(acceptor(), { workstation: 'PC7' });
    const result = await completes(step());
    assert.deepEqual(
      { ...result.principal },
      {
        name: 'EXAMPLE\\alice',
        user: 'alice',
        realm: 'EXAMPLE',
        localRealm: true,
        mechanism: 'NTLM',
        workstation: 'PC7',
        channelBound: false,
      },
    );
    assert.ok(result.sessionKey.equals(auth.exportedSessionKey));
    const ctx = result.context;
    assert.equal(ctx.micVerified, true);
    assert.equal(ctx.ntlmVersion, 2);
    assert.ok(F.hasFlag(ctx.negotiatedFlags, F.NTLMSSP_NEGOTIATE_KEY_EXCH));
    assert.ok(
      ctx.clientSigningKey!.equals(
        signKey(ctx.negotiatedFlags, auth.exportedSessionKey, 'client')!,
      ),
    );
    assert.ok(
      ctx.serverSigningKey!.equals(
        signKey(ctx.negotiatedFlags, auth.exportedSessionKey, 'server')!,
      ),
    );
    assert.ok(
      ctx.clientSealingKey.equals(sealKey(ctx.negotiatedFlags, auth.exportedSessionKey, 'client')),
    );
    assert.ok(
      ctx.serverSealingKey.equals(sealKey(ctx.negotiatedFlags, auth.exportedSessionKey, 'server')),
    );
    assert.notDeepEqual(ctx.clientSigningKey, ctx.serverSigningKey);
  });

  it('accepts clients without MIC, and user names in any case', async () => {
    const result = await completes(
      (await handshake(acceptor(), { mic: false, user: 'ALICE', keyExchange: false })).step(),
    );
    assert.equal(result.principal.user, 'ALICE');
    assert.equal(result.context.micVerified, false);
  });

  it('wrong password and unknown user both fail with BAD_CREDENTIALS', async () => {
    await assert.rejects((await handshake(acceptor(), { password: 'nope' })).step(), {
      code: 'ERR_HTTPAUTH_BAD_CREDENTIALS',
    });
    await assert.rejects((await handshake(acceptor(), { user: 'mallory' })).step(), {
      code: 'ERR_HTTPAUTH_BAD_CREDENTIALS',
    });
  });

  it('uses the canonical name, domain and groups a verifier returns', async () => {
    const server = acceptor({
      credentials: {
        async verify(request) {
          // A pass-through verifier would send these to a domain controller.
          assert.equal(request.negotiateMessage.readUInt32LE(8), 1);
          assert.equal(request.challengeMessage.readUInt32LE(8), 2);
          assert.equal(request.authenticateMessage.readUInt32LE(8), 3);
          assert.equal(request.serverChallenge.length, 8);
          const { ntHashVerifier } = await import('../src/ntlm/credentials.js');
          const local = await ntHashVerifier(() => ntowfv1('Wonderland1')).verify(request);
          if (local === undefined) return undefined;
          return {
            ...local,
            user: 'Alice',
            domain: 'CORP',
            userSid: 'S-1-5-21-1-2-3-1104',
            groupSids: ['S-1-5-21-1-2-3-513'],
          };
        },
      },
    });
    const result = await completes((await handshake(server, {})).step());
    assert.equal(result.principal.name, 'CORP\\Alice');
    assert.equal(result.principal.userSid, 'S-1-5-21-1-2-3-1104');
    assert.deepEqual(result.principal.groupSids, ['S-1-5-21-1-2-3-513']);
  });

  it('a failing credential source is CREDENTIAL_SOURCE_FAILED', async () => {
    const server = acceptor({
      credentials: () => {
        throw new Error('database down');
      },
    });
    await assert.rejects((await handshake(server, {})).step(), {
      code: 'ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED',
    });
  });

  it('a new NEGOTIATE restarts the handshake; a CHALLENGE from the client is out of order', async () => {
    const server = acceptor();
    const { first } = await handshake(server, {});
    if (first.type !== 'continue') return;
    const again = await server.step(negotiate(), first.state, { now: NOW });
    assert.equal(again.type, 'continue');
    await assert.rejects(server.step(first.token, first.state, { now: NOW }), {
      code: 'ERR_HTTPAUTH_NTLM_UNEXPECTED_MESSAGE',
    });
  });

  it('verifies channel bindings over TLS under require', async () => {
    const binding = Buffer.from('tls-server-end-point:0123456789abcdef0123456789abcdef');
    const server = acceptor({ channelBinding: { mode: 'require' } });
    const result = await completes(
      (await handshake(server, { channelBinding: binding }, { channelBinding: binding })).step(),
    );
    assert.equal(result.principal.channelBound, true);
    await assert.rejects((await handshake(server, {}, { channelBinding: binding })).step(), {
      code: 'ERR_HTTPAUTH_CHANNEL_BINDING_MISSING',
    });
    await assert.rejects((await handshake(server, { channelBinding: binding })).step(), {
      code: 'ERR_HTTPAUTH_CHANNEL_BINDING_MISSING',
    });
  });

  it('allow accepts absent or zero bindings, refuses wrong ones; none ignores them', async () => {
    const binding = Buffer.from('tls-server-end-point:aaaa');
    const allow = acceptor({ channelBinding: { mode: 'allow' } });
    await completes(
      (await handshake(allow, { omitChannelBindings: true }, { channelBinding: binding })).step(),
    );
    await completes((await handshake(allow, {}, { channelBinding: binding })).step());
    await assert.rejects(
      (
        await handshake(
          allow,
          { channelBinding: Buffer.from('other') },
          { channelBinding: binding },
        )
      ).step(),
      { code: 'ERR_HTTPAUTH_CHANNEL_BINDING_MISMATCH' },
    );
    // A binding made for a TLS channel, presented over plain HTTP.
    await assert.rejects((await handshake(allow, { channelBinding: binding })).step(), {
      code: 'ERR_HTTPAUTH_CHANNEL_BINDING_MISMATCH',
    });
    const none = acceptor({ channelBinding: { mode: 'none' } });
    const r = await completes((await handshake(none, { channelBinding: Buffer.from('x') })).step());
    assert.equal(r.principal.channelBound, false);
  });

  it('checks MsvAvTargetName against targetNames', async () => {
    const server = acceptor({ targetNames: ['HTTP/web01.example.test'] });
    await completes((await handshake(server, { targetName: 'http/WEB01.example.test' })).step());
    await assert.rejects(
      (await handshake(server, { targetName: 'HTTP/evil.example.test' })).step(),
      {
        code: 'ERR_HTTPAUTH_NTLM_TARGET_NAME',
      },
    );
    await assert.rejects((await handshake(server, {})).step(), {
      code: 'ERR_HTTPAUTH_NTLM_TARGET_NAME',
    });
  });

  it('accepts NTLMv1 and LM only when enabled', async () => {
    const v1 = acceptor({ allowNtlmV1: true, allowLm: true });
    const ess = await completes((await handshake(v1, { version: 'v1' })).step());
    assert.equal(ess.context.ntlmVersion, 1);
    await completes((await handshake(v1, { version: 'v1', flags: 0x00000201 })).step());
    await assert.rejects((await handshake(v1, { version: 'v1', password: 'bad' })).step(), {
      code: 'ERR_HTTPAUTH_BAD_CREDENTIALS',
    });
    // The callback source has no LM hash, so LM cannot succeed even when allowed.
    await assert.rejects((await handshake(v1, { version: 'lm' })).step(), {
      code: 'ERR_HTTPAUTH_BAD_CREDENTIALS',
    });
  });

  it('accepts anonymous only when enabled', async () => {
    const result = await completes(
      (await handshake(acceptor({ allowAnonymous: true }), { version: 'anonymous' })).step(),
    );
    assert.equal(result.principal.name, 'NT AUTHORITY\\ANONYMOUS LOGON');
    assert.equal(result.context.ntlmVersion, 0);
  });
});

describe('NTLM attacks, each refused', () => {
  it('MIC stripped with its MsvAvFlags bit cleared: the NTProofStr no longer matches', async () => {
    await assert.rejects((await handshake(acceptor(), { stripMicAndFlag: true })).step(), {
      code: 'ERR_HTTPAUTH_BAD_CREDENTIALS',
    });
  });

  it('MIC stripped with the flag kept (CVE-2019-1040)', async () => {
    await assert.rejects((await handshake(acceptor(), { zeroMic: true })).step(), {
      code: 'ERR_HTTPAUTH_NTLM_MIC_MISSING',
    });
  });

  it('MIC that does not match the transcript', async () => {
    const server = acceptor();
    const { auth, first } = await handshake(server, {});
    if (first.type !== 'continue') return;
    // Same AUTHENTICATE against a different NEGOTIATE (flags tampered in transit).
    const tampered: NtlmHandshakeState = {
      transcript: Buffer.from(first.state.transcript),
      negotiateLength: first.state.negotiateLength,
    };
    tampered.transcript.writeUInt32LE(
      (WINDOWS_NEGOTIATE_FLAGS & ~F.NTLMSSP_NEGOTIATE_SEAL) >>> 0,
      12,
    );
    await assert.rejects(server.step(auth.message, tampered, { now: NOW }), {
      code: 'ERR_HTTPAUTH_NTLM_MIC_INVALID',
    });
  });

  it('NTLMv1 response', async () => {
    await assert.rejects((await handshake(acceptor(), { version: 'v1' })).step(), {
      code: 'ERR_HTTPAUTH_NTLM_V1_REFUSED',
    });
  });

  it('LM-only response', async () => {
    await assert.rejects((await handshake(acceptor(), { version: 'lm' })).step(), {
      code: 'ERR_HTTPAUTH_NTLM_V1_REFUSED',
    });
  });

  it('anonymous', async () => {
    await assert.rejects((await handshake(acceptor(), { version: 'anonymous' })).step(), {
      code: 'ERR_HTTPAUTH_NTLM_ANONYMOUS_REFUSED',
    });
  });

  it('AUTHENTICATE replayed on a connection that never got our CHALLENGE', async () => {
    const server = acceptor();
    const { auth, step } = await handshake(server, {});
    await completes(step());
    await assert.rejects(server.step(auth.message, undefined, { now: NOW }), {
      code: 'ERR_HTTPAUTH_NTLM_UNEXPECTED_MESSAGE',
    });
    // ...or on one that got a different CHALLENGE.
    const other = await server.step(negotiate(), undefined, { now: NOW });
    if (other.type !== 'continue') return;
    await assert.rejects(server.step(auth.message, other.state, { now: NOW }), {
      code: 'ERR_HTTPAUTH_BAD_CREDENTIALS',
    });
  });

  it('tampered NTProofStr', async () => {
    await assert.rejects((await handshake(acceptor(), { tamperProof: true })).step(), {
      code: 'ERR_HTTPAUTH_BAD_CREDENTIALS',
    });
  });

  it('wrong channel binding under require', async () => {
    const server = acceptor({ channelBinding: { mode: 'require' } });
    const ours = Buffer.from('tls-server-end-point:ours');
    await assert.rejects(
      (
        await handshake(
          server,
          { channelBinding: Buffer.from('tls-server-end-point:relay') },
          { channelBinding: ours },
        )
      ).step(),
      { code: 'ERR_HTTPAUTH_CHANNEL_BINDING_MISMATCH' },
    );
  });

  it('NTLMv2 without a timestamp under require', async () => {
    const server = acceptor({ channelBinding: { mode: 'require' } });
    const ours = Buffer.from('tls-server-end-point:ours');
    await assert.rejects(
      (
        await handshake(
          server,
          { omitTimestampPair: true, channelBinding: ours },
          { channelBinding: ours },
        )
      ).step(),
      { code: 'ERR_HTTPAUTH_NTLM_TIMESTAMP_MISSING' },
    );
  });

  it('client timestamp outside the window', async () => {
    const server = acceptor({ timestampWindowMs: 60_000 });
    await assert.rejects((await handshake(server, { timeMs: NOW - 61_000 })).step(), {
      code: 'ERR_HTTPAUTH_NTLM_TIMESTAMP_SKEW',
    });
    await assert.rejects((await handshake(server, { timeMs: NOW + 61_000 })).step(), {
      code: 'ERR_HTTPAUTH_NTLM_TIMESTAMP_SKEW',
    });
    await completes((await handshake(server, { timeMs: NOW - 59_000 })).step());
  });
});

describe('NtlmAcceptor options', () => {
  it('refuses invalid options at construction', () => {
    for (const bad of [
      { domain: 'THIS-NAME-IS-TOO-LONG' },
      { channelBinding: { mode: 'sometimes' as 'allow' } },
      { targetNames: [] },
      { timestampWindowMs: -1 },
      { credentials: 42 as unknown as NtlmAcceptorOptions['credentials'] },
    ]) {
      assert.throws(() => acceptor(bad), { code: 'ERR_HTTPAUTH_INVALID_OPTIONS' });
    }
  });
});
