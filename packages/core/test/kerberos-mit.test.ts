/**
 * The acceptor against MIT krb5's initiator: a throwaway realm (test/harness/mit-kdc.ts), tokens
 * from python3-gssapi, accepted in-process; the AP-REP goes back to MIT, which must complete the
 * context (mutual authentication) and verify our MIC, and we verify its MIC.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startMitKdc, type MitEnctype, type MitKdc } from '../../../test/harness/mit-kdc.js';
import { KerberosAcceptor } from '../src/kerberos/acceptor.js';
import { decodeTicket } from '../src/kerberos/messages/ticket.js';
import { decodeKrbError } from '../src/kerberos/messages/krb-error.js';
import { decodeGssToken, TokenId } from '../src/kerberos/gss-token.js';
import { gssGetMic, gssVerifyMic } from '../src/kerberos/gss-mic.js';
import { GssFlags } from '../src/kerberos/gss-checksum.js';
import { MemoryStore } from '../src/store/memory.js';
import { encodeCcache } from '../src/kerberos/ccache.js';
import { delegatedCcache } from '../src/impersonation/delegated.js';
import { startInitiator } from './fixtures/kerberos/python-initiator.js';

const ENCTYPE_CASES: readonly { name: MitEnctype; host: string; number: number }[] = [
  { name: 'aes256-cts-hmac-sha1-96', host: 'aes256-sha1.test', number: 18 },
  { name: 'aes128-cts-hmac-sha1-96', host: 'aes128-sha1.test', number: 17 },
  { name: 'aes256-cts-hmac-sha384-192', host: 'aes256-sha384.test', number: 20 },
  { name: 'aes128-cts-hmac-sha256-128', host: 'aes128-sha256.test', number: 19 },
  { name: 'arcfour-hmac', host: 'rc4.test', number: 23 },
];

let kdc: MitKdc;
let aliceEnv: NodeJS.ProcessEnv;

before(async () => {
  kdc = await startMitKdc({
    principals: [
      { name: 'alice', password: 'alice-password-1' },
      { name: 'HTTP/localhost' },
      { name: 'HTTP/other.test', keytab: false },
      ...ENCTYPE_CASES.map((c) => ({ name: `HTTP/${c.host}`, enctypes: [c.name] })),
    ],
  });
  aliceEnv = kdc.kinit('alice', 'alice-password-1').env;
});

after(async () => {
  await kdc?.stop();
});

function acceptor(
  options: ConstructorParameters<typeof KerberosAcceptor>[0] = {},
): KerberosAcceptor {
  return new KerberosAcceptor({ keytab: kdc.keytabPath, ...options });
}

/** One fresh store, the current time and no channel binding unless a test says otherwise. */
function accept(
  token: Buffer,
  options: ConstructorParameters<typeof KerberosAcceptor>[0] = {},
  context: { store?: MemoryStore; now?: number; channelBinding?: Buffer } = {},
) {
  return acceptor(options).accept(token, {
    store: context.store ?? new MemoryStore(),
    now: context.now ?? Date.now(),
    channelBinding: context.channelBinding,
  });
}

/** The KRB-ERROR code in a refusal's response token (RFC 4120 §7.5.9). */
function krbErrorCode(token: Buffer | undefined): number {
  assert.ok(token !== undefined);
  return decodeKrbError(decodeGssToken(token).message).errorCode;
}

/** The initiator's MIC over 'initiator-mic' verifies with the session key, and only that way. */
function assertInitiatorMic(sessionKey: Parameters<typeof gssVerifyMic>[0], mic: Buffer): void {
  const data = Buffer.from('initiator-mic');
  assert.equal(gssVerifyMic(sessionKey, mic, data), true);
  assert.equal(gssVerifyMic(sessionKey, mic, data, { fromAcceptor: true }), false);
  assert.equal(gssVerifyMic(sessionKey, mic, Buffer.from('other data')), false);
}

describe('MIT initiator, mutual authentication', () => {
  test('accepts alice, returns an AP-REP that MIT completes, MICs verify both ways', async () => {
    const initiator = await startInitiator(
      { service: 'HTTP@localhost', flags: ['mutual'] },
      aliceEnv,
    );
    const result = await accept(initiator.token);
    assert.equal(result.ok, true, result.ok ? '' : result.error.code);
    if (!result.ok) return;
    assert.equal(result.principal.name, 'alice@EXAMPLE.TEST');
    assert.equal(result.principal.user, 'alice');
    assert.equal(result.principal.realm, 'EXAMPLE.TEST');
    assert.equal(result.principal.mechanism, 'Kerberos');
    assert.equal(result.principal.delegated, false);
    assert.ok(result.principal.expiresAt instanceof Date);
    assert.ok((result.principal.expiresAt as Date).getTime() > Date.now());
    assert.equal(result.servicePrincipal, 'HTTP/localhost@EXAMPLE.TEST');
    assert.ok((result.gssFlags & GssFlags.MUTUAL) !== 0);
    assert.ok(result.responseToken !== undefined);
    assert.equal(decodeGssToken(result.responseToken).tokenId, TokenId.AP_REP);
    assert.equal(result.acceptorSubkey, true);

    const data = Buffer.from('acceptor-mic');
    const mic = gssGetMic(result.sessionKey, data, {
      acceptor: true,
      acceptorSubkey: true,
      seq: 0n,
    });
    const outcome = await initiator.finish({ token: result.responseToken, mic, data });
    assert.equal(outcome.error, null);
    assert.equal(outcome.complete, true);
    assert.equal(outcome.micOk, true);
    assert.ok(outcome.mic !== null);
    assertInitiatorMic(result.sessionKey, Buffer.from(outcome.mic, 'base64'));
  });

  test('without mutual authentication there is no response token', async () => {
    const initiator = await startInitiator(
      { service: 'HTTP@localhost', flags: ['integrity'] },
      aliceEnv,
    );
    const result = await accept(initiator.token);
    await initiator.finish({});
    assert.equal(result.ok, true);
    if (!result.ok) return;
    assert.equal(result.responseToken, undefined);
    assert.equal(result.acceptorSubkey, false);
    assert.equal(result.gssFlags & GssFlags.MUTUAL, 0);
  });
});

describe('each enctype, with the session key of the same enctype', () => {
  for (const c of ENCTYPE_CASES) {
    test(`${c.name} (${c.number})`, async () => {
      const { env } = kdc.kinit('alice', 'alice-password-1', undefined, { tgsEnctypes: [c.name] });
      const initiator = await startInitiator({ service: `HTTP@${c.host}`, flags: ['mutual'] }, env);
      const rc4 = c.number === 23;
      const result = await accept(initiator.token, { allowRc4: rc4 });
      assert.equal(result.ok, true, result.ok ? '' : result.error.code);
      if (!result.ok) return;
      assert.equal(result.principal.name, 'alice@EXAMPLE.TEST');
      assert.equal(result.servicePrincipal, `HTTP/${c.host}@EXAMPLE.TEST`);
      assert.equal(result.sessionKey.enctype, c.number);
      // MICs both ways: RFC 4121 tokens for AES, RFC 1964/4757 tokens for RC4.
      const data = Buffer.from(`acceptor-mic-${c.number}`);
      const acceptorMic = gssGetMic(result.sessionKey, data, {
        acceptor: true,
        acceptorSubkey: result.acceptorSubkey,
        seq: 5n,
      });
      const outcome = await initiator.finish({
        token: result.responseToken,
        mic: acceptorMic,
        data,
      });
      assert.equal(outcome.error, null);
      assert.equal(outcome.complete, true);
      assert.equal(outcome.micOk, true);
      const mic = Buffer.from(outcome.mic as string, 'base64');
      assert.equal(
        rc4 ? mic.readUInt16BE(mic.length - 24) : mic.readUInt16BE(0),
        rc4 ? 0x0101 : 0x0404,
      );
      assertInitiatorMic(result.sessionKey, mic);
    });
  }

  test('an RC4 ticket is refused unless allowRc4, with a KDC_ERR_ETYPE_NOSUPP token', async () => {
    const initiator = await startInitiator(
      { service: 'HTTP@rc4.test', flags: ['mutual'] },
      aliceEnv,
    );
    const result = await accept(initiator.token);
    await initiator.finish({});
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.error.code, 'ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED');
    assert.ok(result.responseToken !== undefined);
    const framed = decodeGssToken(result.responseToken);
    assert.equal(framed.tokenId, TokenId.KRB_ERROR);
    assert.equal(decodeKrbError(framed.message).errorCode, 14);
  });
});

describe('delegation', () => {
  test('a forwarded TGT is decrypted and kept', async () => {
    const initiator = await startInitiator(
      { service: 'HTTP@localhost', flags: ['mutual', 'delegate'] },
      aliceEnv,
    );
    const result = await accept(initiator.token);
    assert.equal(result.ok, true, result.ok ? '' : result.error.code);
    if (!result.ok) return;
    const outcome = await initiator.finish({ token: result.responseToken });
    assert.equal(outcome.complete, true);
    assert.ok((result.gssFlags & GssFlags.DELEG) !== 0);
    assert.equal(result.principal.delegated, true);
    const cred = result.delegatedCredential;
    assert.ok(cred !== undefined);
    assert.equal(cred.client, 'alice@EXAMPLE.TEST');
    assert.equal(cred.tickets.length, 1);
    const [tgt] = cred.tickets;
    assert.ok(tgt !== undefined);
    assert.deepEqual(tgt.server.components, ['krbtgt', 'EXAMPLE.TEST']);
    assert.equal(tgt.server.realm, 'EXAMPLE.TEST');
    assert.deepEqual(tgt.client.components, ['alice']);
    assert.ok(tgt.key.bytes.length >= 16);
    assert.ok((tgt.endtime ?? 0) > Date.now());
    assert.equal(tgt.ticket[0], 0x61); // [APPLICATION 1] Ticket
    const forwarded = decodeTicket(tgt.ticket);
    assert.equal(forwarded.realm, 'EXAMPLE.TEST');
    assert.deepEqual(forwarded.sname.components, ['krbtgt', 'EXAMPLE.TEST']);

    // The forwarded TGT really works: written to a ccache, MIT's kvno gets a service ticket with it.
    const cache = delegatedCcache(cred);
    assert.ok(cache !== undefined);
    const ccachePath = join(kdc.dir, 'delegated.ccache');
    writeFileSync(ccachePath, encodeCcache(cache), { mode: 0o600 });
    const kvno = spawnSync('kvno', ['HTTP/localhost'], {
      env: { ...kdc.env, KRB5CCNAME: `FILE:${ccachePath}` },
      encoding: 'utf8',
    });
    assert.equal(kvno.status, 0, kvno.stderr);
    assert.match(kvno.stdout, /HTTP\/localhost@EXAMPLE.TEST: kvno = 1/);
  });
});

describe('channel bindings', () => {
  const binding = Buffer.concat([Buffer.from('tls-server-end-point:'), Buffer.alloc(32, 7)]);
  const other = Buffer.concat([Buffer.from('tls-server-end-point:'), Buffer.alloc(32, 8)]);

  test('a matching binding is accepted under require and marks the principal bound', async () => {
    const initiator = await startInitiator({ service: 'HTTP@localhost', cb: binding }, aliceEnv);
    const result = await accept(
      initiator.token,
      { channelBinding: { mode: 'require' } },
      { channelBinding: binding },
    );
    await initiator.finish({});
    assert.equal(result.ok, true, result.ok ? '' : result.error.code);
    if (result.ok) assert.equal(result.principal.channelBound, true);
  });

  test('a wrong binding is refused under require', async () => {
    const initiator = await startInitiator({ service: 'HTTP@localhost', cb: binding }, aliceEnv);
    const result = await accept(
      initiator.token,
      { channelBinding: { mode: 'require' } },
      { channelBinding: other },
    );
    await initiator.finish({});
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.error.code, 'ERR_HTTPAUTH_CHANNEL_BINDING_MISMATCH');
  });

  test('a missing binding is refused under require, accepted under allow', async () => {
    const first = await startInitiator({ service: 'HTTP@localhost' }, aliceEnv);
    const refused = await accept(
      first.token,
      { channelBinding: { mode: 'require' } },
      { channelBinding: binding },
    );
    await first.finish({});
    assert.equal(refused.ok, false);
    if (!refused.ok) assert.equal(refused.error.code, 'ERR_HTTPAUTH_CHANNEL_BINDING_MISSING');

    const second = await startInitiator({ service: 'HTTP@localhost' }, aliceEnv);
    const allowed = await accept(
      second.token,
      { channelBinding: { mode: 'allow' } },
      { channelBinding: binding },
    );
    await second.finish({});
    assert.equal(allowed.ok, true);
    if (allowed.ok) assert.equal(allowed.principal.channelBound, false);
  });
});

describe('attacks with real tokens', () => {
  test('a replayed AP-REQ is refused with KRB_AP_ERR_REPEAT', async () => {
    const initiator = await startInitiator(
      { service: 'HTTP@localhost', flags: ['mutual'] },
      aliceEnv,
    );
    await initiator.finish({});
    const store = new MemoryStore();
    const a = acceptor();
    const now = Date.now();
    const first = await a.accept(initiator.token, { store, now, channelBinding: undefined });
    assert.equal(first.ok, true);
    // A second acceptor instance sharing the store stands for another node.
    const second = await accept(initiator.token, {}, { store, now: now + 1000 });
    assert.equal(second.ok, false);
    if (second.ok) return;
    assert.equal(second.error.code, 'ERR_HTTPAUTH_KRB_REPLAY');
    assert.equal(krbErrorCode(second.responseToken), 34);
  });

  test('an authenticator outside the skew yields a KRB_AP_ERR_SKEW token', async () => {
    const initiator = await startInitiator(
      { service: 'HTTP@localhost', flags: ['mutual'] },
      aliceEnv,
    );
    await initiator.finish({});
    const now = Date.now() + 301_000;
    const result = await accept(initiator.token, {}, { now });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.error.code, 'ERR_HTTPAUTH_KRB_SKEW');
    assert.ok(result.responseToken !== undefined);
    const error = decodeKrbError(decodeGssToken(result.responseToken).message);
    assert.equal(error.errorCode, 37);
    assert.equal(error.stime, Math.floor(now / 1000) * 1000);
    assert.equal(error.realm, 'EXAMPLE.TEST');
    assert.deepEqual(error.sname.components, ['HTTP', 'localhost']);
  });

  test('a ticket for a service outside the allowlist is refused (KRB_AP_ERR_NOT_US)', async () => {
    const initiator = await startInitiator({ service: 'HTTP@localhost' }, aliceEnv);
    await initiator.finish({});
    const result = await accept(initiator.token, { principals: ['HTTP/aes256-sha1.test'] });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.error.code, 'ERR_HTTPAUTH_KRB_WRONG_SERVICE');
    assert.equal(krbErrorCode(result.responseToken), 35);
  });

  test('a ticket for a service not in the keytab is refused', async () => {
    const initiator = await startInitiator({ service: 'HTTP@other.test' }, aliceEnv);
    await initiator.finish({});
    const result = await accept(initiator.token);
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.error.code, 'ERR_HTTPAUTH_KRB_WRONG_SERVICE');
  });

  test('a flipped bit in the ticket ciphertext is KRB_AP_ERR_MODIFIED', async () => {
    const initiator = await startInitiator({ service: 'HTTP@localhost' }, aliceEnv);
    await initiator.finish({});
    const token = Buffer.from(initiator.token);
    // The ticket cipher sits in the middle of the token; flip a bit well inside it.
    const at = Math.floor(token.length / 3);
    token[at] = (token[at] as number) ^ 0x01;
    const result = await accept(token);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.error.code, 'ERR_HTTPAUTH_KRB_MODIFIED');
    assert.equal(krbErrorCode(result.responseToken), 41);
  });
});

describe('sequence numbers', () => {
  for (const right of [true, false]) {
    test(`MIT with sequencing verifies our MIC only at acceptorSeqNumber (${right ? 'right' : 'wrong'} seq)`, async () => {
      const initiator = await startInitiator(
        { service: 'HTTP@localhost', flags: ['mutual', 'sequence', 'replay'] },
        aliceEnv,
      );
      const result = await accept(initiator.token);
      assert.equal(result.ok, true);
      if (!result.ok) return;
      const data = Buffer.from('mech-list');
      const seq = BigInt(result.acceptorSeqNumber) + (right ? 0n : 7n);
      const mic = gssGetMic(result.sessionKey, data, {
        acceptor: true,
        acceptorSubkey: result.acceptorSubkey,
        seq,
      });
      const outcome = await initiator.finish({ token: result.responseToken, mic, data });
      assert.equal(outcome.complete, true);
      assert.equal(outcome.micOk, right);
      assert.ok(result.initiatorSeqNumber !== undefined);
    });
  }
});

describe('ticket reuse', () => {
  test('two contexts from one ccache share a ticket; the cached ticket still completes mutual auth', async () => {
    const a = acceptor();
    const store = new MemoryStore();
    for (let i = 0; i < 2; i++) {
      const initiator = await startInitiator(
        { service: 'HTTP@localhost', flags: ['mutual'] },
        aliceEnv,
      );
      const result = await a.accept(initiator.token, {
        store,
        now: Date.now(),
        channelBinding: undefined,
      });
      assert.equal(result.ok, true, result.ok ? '' : result.error.code);
      if (!result.ok) return;
      const outcome = await initiator.finish({ token: result.responseToken });
      assert.equal(outcome.error, null);
      assert.equal(outcome.complete, true);
      assert.ok(
        gssVerifyMic(
          result.sessionKey,
          Buffer.from(outcome.mic as string, 'base64'),
          Buffer.from('initiator-mic'),
        ),
      );
    }
  });
});
