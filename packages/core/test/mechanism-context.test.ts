/**
 * The MechanismContext interface (src/mechanism.ts) as Negotiate uses it, run against both
 * implementations through the same code: Kerberos (one AP-REQ) and NTLM (NEGOTIATE, then
 * AUTHENTICATE). Completion facts, RFC 4178 §5 mechListMICs both ways, and bad input: step()
 * never throws, and a bad, truncated or random token is a reject with a stable code.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isHttpAuthError } from '../src/errors.js';
import type { ErrorCode } from '../src/errors.js';
import type { MechanismContext, MechanismStep, MechanismStepFacts } from '../src/mechanism.js';
import { KerberosAcceptor } from '../src/kerberos/acceptor.js';
import { KeyUsage, encryptionProfile, makeKey } from '../src/kerberos/crypto/index.js';
import type { KerberosKey } from '../src/kerberos/crypto/index.js';
import { gssGetMic, gssVerifyMic } from '../src/kerberos/gss-mic.js';
import { TokenId, decodeGssToken } from '../src/kerberos/gss-token.js';
import { Keytab, encodeKeytab } from '../src/kerberos/keytab.js';
import { createKerberosContext } from '../src/kerberos/mechanism-context.js';
import { decodeApRep } from '../src/kerberos/messages/ap-rep.js';
import { decodeEncApRepPart } from '../src/kerberos/messages/enc-ap-rep-part.js';
import { NtlmAcceptor } from '../src/ntlm/acceptor.js';
import * as F from '../src/ntlm/flags.js';
import { ntowfv1 } from '../src/ntlm/keys.js';
import { createNtlmContext } from '../src/ntlm/mechanism-context.js';
import { NtlmSessionSecurity } from '../src/ntlm/session-security.js';
import { MemoryStore } from '../src/store/memory.js';
import { forgeApReq, randomKey } from './fixtures/kerberos/forge.js';
import { authenticate, negotiate as ntlmNegotiate } from './ntlm-client.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const HOUR = 3600_000;
const GSS_MUTUAL = 0x02;
const MECH_LIST = Buffer.from(
  '30 0c 06 0a 2b 06 01 04 01 82 37 02 02 0a'.replaceAll(' ', ''),
  'hex',
);

const serviceKey = randomKey(18);
const kerberosAcceptor = new KerberosAcceptor({
  keytab: Keytab.parse(
    encodeKeytab([
      { realm: 'EXAMPLE.TEST', components: ['HTTP', 'localhost'], kvno: 2, key: serviceKey },
    ]),
  ),
});
const ntlmAcceptor = new NtlmAcceptor({
  domain: 'EXAMPLE',
  credentials: (user: string) => (user.toLowerCase() === 'bob' ? ntowfv1('Bob-pw1') : undefined),
});

const store = new MemoryStore();

function facts(): MechanismStepFacts {
  return { store, now: NOW, channelBinding: undefined };
}

/** The initiator's side of one exchange: what it sends and how it signs and verifies MICs. */
interface Initiator {
  /** The client's next token given our last one (undefined first); undefined when done. */
  next(reply: Buffer | undefined): Buffer | undefined;
  /** Set once complete: the initiator's MIC over `data`, and a check of ours. */
  sign(data: Buffer): Buffer;
  verify(data: Buffer, mic: Buffer): boolean;
}

/** Distinct authenticators (no replay) of one encoded length (a 3-byte DER INTEGER cusec). */
let cusecCounter = 0;

function kerberosInitiator(): Initiator {
  const { token, sessionKey } = forgeApReq({
    serviceKey,
    kvno: 2,
    authtime: NOW - HOUR,
    endtime: NOW + HOUR,
    ctime: NOW,
    cusec: 100_000 + (cusecCounter++ % 800_000),
    gssFlags: GSS_MUTUAL,
    subkey: randomKey(18),
  });
  let subkey: KerberosKey | undefined;
  let sent = false;
  return {
    next(reply) {
      if (!sent) {
        sent = true;
        return token;
      }
      // The AP-REP: our acceptor subkey becomes the context key (RFC 4121 §2).
      const apRep = decodeApRep(decodeGssToken(reply as Buffer).message);
      const profile = encryptionProfile(sessionKey.enctype);
      assert.ok(profile !== undefined);
      const part = decodeEncApRepPart(
        profile.decrypt(sessionKey, KeyUsage.AP_REP_ENCPART, apRep.encPart.cipher),
      );
      assert.ok(part.subkey !== undefined);
      subkey = makeKey(part.subkey.keytype, part.subkey.keyvalue);
      return undefined;
    },
    sign: (data) =>
      gssGetMic(subkey as KerberosKey, data, { acceptor: false, acceptorSubkey: true, seq: 0n }),
    verify: (data, mic) => gssVerifyMic(subkey as KerberosKey, mic, data, { fromAcceptor: true }),
  };
}

function ntlmInitiator(negotiateFlags?: number): Initiator {
  const negotiateMessage = ntlmNegotiate(negotiateFlags);
  let security: NtlmSessionSecurity | undefined;
  let sentNegotiate = false;
  return {
    next(reply) {
      if (!sentNegotiate) {
        sentNegotiate = true;
        return negotiateMessage;
      }
      if (security !== undefined || reply === undefined) return undefined;
      const auth = authenticate(negotiateMessage, reply, { user: 'bob', password: 'Bob-pw1' });
      security = new NtlmSessionSecurity(
        { negotiatedFlags: auth.flags, exportedSessionKey: auth.exportedSessionKey },
        'client',
      );
      return auth.message;
    },
    sign: (data) => (security as NtlmSessionSecurity).sign(data),
    verify: (data, mic) => {
      try {
        (security as NtlmSessionSecurity).verify(data, mic);
        return true;
      } catch {
        return false;
      }
    },
  };
}

const MECHANISMS = [
  {
    name: 'kerberos',
    create: (): MechanismContext => createKerberosContext(kerberosAcceptor),
    initiator: kerberosInitiator,
    principal: 'alice@EXAMPLE.TEST',
    legs: 1,
    // Anything that is not a well-formed GSS token or bare AP-REQ is one of these two.
    malformedCodes: ['ERR_HTTPAUTH_GSS_MALFORMED', 'ERR_HTTPAUTH_ASN1_MALFORMED'],
  },
  {
    name: 'ntlm',
    create: (): MechanismContext => createNtlmContext(ntlmAcceptor),
    initiator: () => ntlmInitiator(),
    principal: 'EXAMPLE\\bob',
    legs: 2,
    malformedCodes: ['ERR_HTTPAUTH_NTLM_MALFORMED', 'ERR_HTTPAUTH_NTLM_UNEXPECTED_MESSAGE'],
  },
] as const;

/** Run the whole exchange; returns the last step. */
async function run(mech: MechanismContext, initiator: Initiator): Promise<MechanismStep> {
  let reply: Buffer | undefined;
  for (;;) {
    const token = initiator.next(reply);
    assert.ok(token !== undefined, 'the initiator has a token for every continue');
    const step = await mech.step(token, facts());
    if (step.type !== 'continue') {
      if (step.type === 'complete') initiator.next(step.token);
      return step;
    }
    reply = step.token;
  }
}

for (const m of MECHANISMS) {
  describe(`MechanismContext: ${m.name}`, () => {
    it('completes and reports who, the session key and the flags', async () => {
      const mech = m.create();
      assert.equal(mech.mechanism, m.name);
      const before = mech.completion;
      assert.equal(before, undefined, 'nothing before the first step');
      let legs = 0;
      const initiator = m.initiator();
      const counting: Initiator = {
        ...initiator,
        next: (reply) => {
          const token = initiator.next(reply);
          if (token !== undefined) legs++;
          return token;
        },
      };
      const last = await run(mech, counting);
      assert.equal(last.type, 'complete');
      assert.equal(legs, m.legs);
      const completion = mech.completion;
      assert.ok(completion !== undefined);
      if (last.type === 'complete') assert.equal(last.completion, completion);
      assert.equal(completion.principal.name, m.principal);
      assert.ok(completion.sessionKey.length >= 16);
      assert.ok(completion.flags !== 0);
      assert.equal(
        completion.contextData['mechanism'],
        m.name === 'kerberos' ? 'Kerberos' : 'NTLM',
      );
    });

    it('exchanges mechListMICs both ways, and refuses a MIC over another list', async () => {
      const mech = m.create();
      const initiator = m.initiator();
      assert.equal(mech.getMic(MECH_LIST), undefined, 'no MIC before completion');
      assert.equal(mech.verifyMic(MECH_LIST, Buffer.alloc(28)), false);
      assert.equal((await run(mech, initiator)).type, 'complete');
      const ours = mech.getMic(MECH_LIST);
      assert.ok(ours !== undefined);
      assert.ok(initiator.verify(MECH_LIST, ours), 'the client accepts our MIC');
      const edited = Buffer.from(MECH_LIST);
      edited[edited.length - 1]! ^= 1;
      assert.equal(mech.verifyMic(MECH_LIST, initiator.sign(edited)), false);
      // A fresh exchange for the good MIC: per-message state (sequence numbers) has moved on.
      const again = m.create();
      const client = m.initiator();
      assert.equal((await run(again, client)).type, 'complete');
      assert.equal(again.verifyMic(MECH_LIST, client.sign(MECH_LIST)), true);
    });

    it('rejects the completing token truncated at every length with a stable code', async () => {
      // Run up to the last leg, then send that leg's token cut short (a fresh exchange each time:
      // a failed leg ends the context).
      const lastLeg = async (): Promise<{ mech: MechanismContext; token: Buffer }> => {
        const mech = m.create();
        const initiator = m.initiator();
        let token = initiator.next(undefined) as Buffer;
        for (let leg = 1; leg < m.legs; leg++) {
          const step = await mech.step(token, facts());
          assert.equal(step.type, 'continue');
          token = initiator.next(step.type === 'continue' ? step.token : undefined) as Buffer;
        }
        return { mech, token };
      };
      const { token: whole } = await lastLeg();
      for (let length = 0; length < whole.length; length++) {
        const codes: string[] = [];
        for (let attempt = 0; attempt < 2; attempt++) {
          const { mech, token } = await lastLeg();
          assert.equal(token.length, whole.length, 'the same shape of token every time');
          const step = await mech.step(token.subarray(0, length), facts());
          assert.equal(step.type, 'reject', `length ${length}`);
          if (step.type !== 'reject') continue;
          assert.ok(isHttpAuthError(step.error));
          assert.ok(
            (m.malformedCodes as readonly ErrorCode[]).includes(step.error.code),
            `length ${length}: ${step.error.code}`,
          );
          const before = mech.completion;
          assert.equal(before, undefined, 'nothing before the first step');
          codes.push(step.error.code);
        }
        assert.equal(codes[1], codes[0], 'the same truncation, the same code');
      }
    });

    it('rejects random bytes with a stable code, never throwing', async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 300 }), async (bytes) => {
          const step = await m.create().step(Buffer.from(bytes), facts());
          assert.equal(step.type, 'reject');
          if (step.type === 'reject') {
            assert.ok((m.malformedCodes as readonly ErrorCode[]).includes(step.error.code));
          }
        }),
        { numRuns: 100 },
      );
    });
  });
}

describe('MechanismContext: mechanism specifics', () => {
  it('Kerberos: a failure the client can act on carries a KRB-ERROR token', async () => {
    const { token } = forgeApReq({
      serviceKey,
      kvno: 2,
      authtime: NOW - 3 * HOUR,
      endtime: NOW - 2 * HOUR,
      ctime: NOW,
      cusec: 0,
      gssFlags: GSS_MUTUAL,
    });
    const step = await createKerberosContext(kerberosAcceptor).step(token, facts());
    assert.equal(step.type, 'reject');
    if (step.type !== 'reject') return;
    assert.equal(step.error.code, 'ERR_HTTPAUTH_KRB_TICKET_EXPIRED');
    assert.ok(step.token !== undefined);
    assert.equal(decodeGssToken(step.token).tokenId, TokenId.KRB_ERROR);
  });

  it('NTLM: a CHALLENGE is answered once, even by the right AUTHENTICATE', async () => {
    const mech = createNtlmContext(ntlmAcceptor);
    const negotiateMessage = ntlmNegotiate();
    const challenge = await mech.step(negotiateMessage, facts());
    assert.equal(challenge.type, 'continue');
    if (challenge.type !== 'continue') return;
    const good = authenticate(negotiateMessage, challenge.token, {
      user: 'bob',
      password: 'Bob-pw1',
    });
    const wrong = authenticate(negotiateMessage, challenge.token, {
      user: 'bob',
      password: 'wrong',
    });
    const refused = await mech.step(wrong.message, facts());
    assert.equal(refused.type, 'reject');
    const retried = await mech.step(good.message, facts());
    assert.equal(retried.type, 'reject');
    if (retried.type === 'reject') {
      assert.equal(retried.error.code, 'ERR_HTTPAUTH_NTLM_UNEXPECTED_MESSAGE');
    }
  });

  it('NTLM: without extended session security there is no mechListMIC either way', async () => {
    // The v1 checksum is a CRC32 under RC4, which an attacker can fix up (session-security.ts).
    const flags = ntlmNegotiate().readUInt32LE(12) & ~F.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY;
    const mech = createNtlmContext(ntlmAcceptor);
    const initiator = ntlmInitiator(flags >>> 0);
    assert.equal((await run(mech, initiator)).type, 'complete');
    const completion = mech.completion;
    assert.ok(completion !== undefined);
    assert.equal(F.hasFlag(completion.flags, F.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY), false);
    assert.equal(mech.getMic(MECH_LIST), undefined);
    assert.equal(mech.verifyMic(MECH_LIST, initiator.sign(MECH_LIST)), false);
  });

  it('Kerberos: a store error from another copy of core keeps its code (not INTERNAL)', async () => {
    // A store built on a second install of @httpauth/core (here: the built package) throws that
    // copy's HttpAuthError; the acceptor must recognise it by its brand (isHttpAuthError).
    const other = await import('@httpauth/core');
    class ForeignFailingStore extends MemoryStore {
      override async add(): Promise<boolean> {
        throw new other.HttpAuthError('ERR_HTTPAUTH_STORE_UNAVAILABLE');
      }
    }
    const { token } = forgeApReq({
      serviceKey,
      kvno: 2,
      authtime: NOW - HOUR,
      endtime: NOW + HOUR,
      ctime: NOW,
      cusec: 0,
      gssFlags: GSS_MUTUAL,
    });
    const step = await createKerberosContext(kerberosAcceptor).step(token, {
      store: new ForeignFailingStore(),
      now: NOW,
      channelBinding: undefined,
    });
    assert.equal(step.type, 'reject');
    if (step.type === 'reject') assert.equal(step.error.code, 'ERR_HTTPAUTH_STORE_UNAVAILABLE');
  });
});
