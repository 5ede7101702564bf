/**
 * The Negotiate package over forged Kerberos AP-REQs (fixtures/kerberos/forge.ts) and the
 * test-side NTLM client: mechanism selection, the optimistic token, raw tokens, KRB-ERROR in the
 * 401, mechListMIC verification and generation (RFC 4178 §5), name mapping, hostile input.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HttpAuthError } from '../src/errors.js';
import { KerberosAcceptor } from '../src/kerberos/acceptor.js';
import { KeyUsage, encryptionProfile, makeKey } from '../src/kerberos/crypto/index.js';
import type { KerberosKey } from '../src/kerberos/crypto/index.js';
import { gssGetMic, gssVerifyMic } from '../src/kerberos/gss-mic.js';
import { TokenId, decodeGssToken } from '../src/kerberos/gss-token.js';
import { Keytab, encodeKeytab } from '../src/kerberos/keytab.js';
import { decodeApRep } from '../src/kerberos/messages/ap-rep.js';
import { decodeEncApRepPart } from '../src/kerberos/messages/enc-ap-rep-part.js';
import { decodeKrbError } from '../src/kerberos/messages/krb-error.js';
import { NameMapper } from '../src/negotiate/name-mapping.js';
import {
  encodeMechTypeList as encodeMechTypeListFor,
  encodeNegTokenInit,
} from '../src/negotiate/neg-token-init.js';
import {
  NEG_STATE,
  decodeNegTokenResp,
  encodeNegTokenResp,
} from '../src/negotiate/neg-token-resp.js';
import type { NegTokenResp } from '../src/negotiate/neg-token-resp.js';
import { KRB5_OID, MS_KRB5_OID, NEGOEX_OID, NTLMSSP_OID } from '../src/negotiate/oids.js';
import { negotiate } from '../src/negotiate/negotiate.js';
import type { NegotiateOptions } from '../src/negotiate/negotiate.js';
import { ntowfv1 } from '../src/ntlm/keys.js';
import { NtlmSessionSecurity } from '../src/ntlm/session-security.js';
import type {
  AcceptContext,
  AcceptResult,
  AuthRequest,
  HandshakeSlot,
} from '../src/security-package.js';
import { MemoryStore } from '../src/store/memory.js';
import { forgeApReq, randomKey } from './fixtures/kerberos/forge.js';
import { authenticate, negotiate as ntlmNegotiate } from './ntlm-client.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const HOUR = 3600_000;
const MUTUAL = 0x02;
const INTEG = 0x20;

const serviceKey = randomKey(18);
const keytab = Keytab.parse(
  encodeKeytab([
    { realm: 'EXAMPLE.TEST', components: ['HTTP', 'localhost'], kvno: 2, key: serviceKey },
  ]),
);

const request: AuthRequest = {
  method: 'GET',
  target: '/',
  headers: {},
  httpVersionMajor: 1,
  secure: false,
};

class Slot implements HandshakeSlot {
  value: unknown;
  get(): unknown {
    return this.value;
  }
  set(value: unknown): void {
    this.value = value;
  }
  clear(): void {
    this.value = undefined;
  }
}

function contextFor(slot: Slot | undefined, store = new MemoryStore()): AcceptContext {
  return { request, handshake: slot, channelBinding: undefined, store, now: NOW };
}

function pkg(options: NegotiateOptions = {}): ReturnType<typeof negotiate> {
  return negotiate({ kerberos: { keytab }, ...options });
}

const ntlmOptions = {
  domain: 'EXAMPLE',
  credentials: (user: string) => (user.toLowerCase() === 'bob' ? ntowfv1('Bob-pw1') : undefined),
};

function forge(
  gssFlags = MUTUAL,
  subkey?: KerberosKey,
): { token: Buffer; sessionKey: KerberosKey } {
  return forgeApReq({
    serviceKey,
    kvno: 2,
    authtime: NOW - HOUR,
    endtime: NOW + HOUR,
    ctime: NOW,
    cusec: Math.floor(Math.random() * 999_999),
    gssFlags,
    ...(subkey === undefined ? {} : { subkey }),
  });
}

async function accept(
  p: ReturnType<typeof negotiate>,
  token: Buffer,
  context: AcceptContext,
): Promise<AcceptResult> {
  return p.accept({ scheme: 'Negotiate', token68: token.toString('base64') }, context);
}

function respOf(result: AcceptResult): NegTokenResp {
  const token = result.type === 'reject' ? undefined : result.token;
  assert.ok(token !== undefined, 'a response token');
  return decodeNegTokenResp(Buffer.from(token, 'base64'));
}

/** The acceptor subkey from our AP-REP, as the client would read it. */
function acceptorSubkey(apRepToken: Buffer, sessionKey: KerberosKey): KerberosKey {
  const gss = decodeGssToken(apRepToken);
  assert.equal(gss.tokenId, TokenId.AP_REP);
  const apRep = decodeApRep(gss.message);
  const profile = encryptionProfile(sessionKey.enctype);
  assert.ok(profile !== undefined);
  const part = decodeEncApRepPart(
    profile.decrypt(sessionKey, KeyUsage.AP_REP_ENCPART, apRep.encPart.cipher),
  );
  assert.ok(part.subkey !== undefined);
  return makeKey(part.subkey.keytype, part.subkey.keyvalue);
}

describe('Negotiate: Kerberos', () => {
  it('accepts a raw Kerberos token and answers with a raw AP-REP', async () => {
    const { token, sessionKey } = forge();
    const result = await accept(pkg(), token, contextFor(new Slot()));
    assert.equal(result.type, 'complete');
    if (result.type !== 'complete') return;
    assert.equal(result.principal.name, 'alice@EXAMPLE.TEST');
    assert.equal(result.principal.user, 'alice');
    assert.equal(result.principal.realm, 'EXAMPLE.TEST');
    assert.equal(result.principal.mechanism, 'Kerberos');
    assert.ok(result.token !== undefined);
    const apRep = Buffer.from(result.token, 'base64');
    assert.equal(apRep[0], 0x60);
    acceptorSubkey(apRep, sessionKey);
    assert.ok(Buffer.isBuffer(result.context?.sessionKey));
    assert.equal(result.context?.['gssFlags'], MUTUAL);
  });

  it('accepts an optimistic SPNEGO token and answers accept-completed with the AP-REP', async () => {
    const { token, sessionKey } = forge();
    const init = encodeNegTokenInit({ mechTypes: [KRB5_OID, NTLMSSP_OID], mechToken: token });
    const result = await accept(pkg(), init, contextFor(new Slot()));
    assert.equal(result.type, 'complete');
    const reply = respOf(result);
    assert.equal(reply.negState, NEG_STATE.acceptCompleted);
    assert.equal(reply.supportedMech, KRB5_OID);
    assert.equal(reply.mechListMIC, undefined);
    assert.ok(reply.responseToken !== undefined);
    acceptorSubkey(reply.responseToken, sessionKey);
  });

  it('echoes Microsoft’s Kerberos OID when the client listed it first', async () => {
    const { token } = forge();
    const init = encodeNegTokenInit({ mechTypes: [MS_KRB5_OID, KRB5_OID], mechToken: token });
    const result = await accept(pkg(), init, contextFor(undefined));
    assert.equal(result.type, 'complete');
    assert.equal(respOf(result).supportedMech, MS_KRB5_OID);
  });

  it('needs no connection for Kerberos (HTTP/2)', async () => {
    const { token } = forge();
    const init = encodeNegTokenInit({ mechTypes: [KRB5_OID], mechToken: token });
    assert.equal((await accept(pkg(), init, contextFor(undefined))).type, 'complete');
  });

  it('puts a KRB-ERROR token into the 401 challenge when the client can act on it', async () => {
    const skewed = forgeApReq({
      serviceKey,
      kvno: 2,
      authtime: NOW - HOUR,
      endtime: NOW + HOUR,
      ctime: NOW - 20 * 60_000,
    });
    const init = encodeNegTokenInit({ mechTypes: [KRB5_OID], mechToken: skewed.token });
    const result = await accept(pkg(), init, contextFor(new Slot()));
    assert.equal(result.type, 'reject');
    if (result.type !== 'reject') return;
    assert.equal(result.error.code, 'ERR_HTTPAUTH_KRB_SKEW');
    assert.equal(result.challenges?.length, 1);
    const challenge = result.challenges?.[0] as string;
    assert.match(challenge, /^Negotiate [A-Za-z0-9+/]+=*$/);
    const reply = decodeNegTokenResp(Buffer.from(challenge.slice(10), 'base64'));
    assert.equal(reply.negState, NEG_STATE.reject);
    const krbError = decodeGssToken(reply.responseToken as Buffer);
    assert.equal(krbError.tokenId, TokenId.KRB_ERROR);
    assert.equal(decodeKrbError(krbError.message).errorCode, 37); // KRB_AP_ERR_SKEW

    // The raw form answers raw.
    const raw = await accept(pkg(), skewed.token, contextFor(new Slot()));
    assert.equal(raw.type, 'reject');
    if (raw.type !== 'reject') return;
    const rawToken = Buffer.from((raw.challenges?.[0] as string).slice(10), 'base64');
    assert.equal(decodeGssToken(rawToken).tokenId, TokenId.KRB_ERROR);
  });

  it('persists a Kerberos logon on the connection only when kerberos.persistOnConnection is set', async () => {
    const first = await accept(pkg(), forge().token, contextFor(new Slot()));
    assert.equal(first.type === 'complete' ? first.persist : 'x', undefined);
    const second = await accept(
      pkg({ kerberos: { keytab, persistOnConnection: true } }),
      forge().token,
      contextFor(new Slot()),
    );
    assert.equal(second.type === 'complete' ? second.persist : 'x', true);
  });

  it('rejects a replayed SPNEGO token', async () => {
    const { token } = forge();
    const init = encodeNegTokenInit({ mechTypes: [KRB5_OID], mechToken: token });
    const store = new MemoryStore();
    const p = pkg();
    assert.equal((await accept(p, init, contextFor(new Slot(), store))).type, 'complete');
    const again = await accept(p, init, contextFor(new Slot(), store));
    assert.equal(again.type, 'reject');
    if (again.type === 'reject') assert.equal(again.error.code, 'ERR_HTTPAUTH_KRB_REPLAY');
  });
});

describe('Negotiate: mechListMIC (RFC 4178 §5)', () => {
  it('asks for the chosen mechanism when it is not the client’s first, and requires both MICs', async () => {
    const p = pkg();
    const slot = new Slot();
    // The client prefers NegoEx (which we never select) and sends an optimistic token for it.
    const init = encodeNegTokenInit({
      mechTypes: [NEGOEX_OID, KRB5_OID],
      mechToken: Buffer.from('negoex'),
    });
    const first = await accept(p, init, contextFor(slot));
    assert.equal(first.type, 'continue');
    const firstReply = respOf(first);
    assert.equal(firstReply.negState, NEG_STATE.requestMic);
    assert.equal(firstReply.supportedMech, KRB5_OID);
    assert.equal(firstReply.responseToken, undefined);

    // Leg 2: the AP-REQ (mutual): we answer with the AP-REP and our MIC, still incomplete.
    const store = new MemoryStore();
    const { token, sessionKey } = forge(MUTUAL | INTEG, randomKey(18));
    const second = await accept(p, encodeNegTokenResp({ responseToken: token }), {
      ...contextFor(slot, store),
    });
    assert.equal(second.type, 'continue');
    const secondReply = respOf(second);
    assert.equal(secondReply.negState, NEG_STATE.acceptIncomplete);
    assert.ok(secondReply.responseToken !== undefined && secondReply.mechListMIC !== undefined);
    const subkey = acceptorSubkey(secondReply.responseToken, sessionKey);
    const listDer = encodeMechTypeListFor([NEGOEX_OID, KRB5_OID]);
    assert.ok(gssVerifyMic(subkey, secondReply.mechListMIC, listDer, { fromAcceptor: true }));

    // Leg 3: a wrong MIC is refused...
    const wrongMic = gssGetMic(subkey, Buffer.from('other list'), {
      acceptor: false,
      acceptorSubkey: true,
      seq: 0n,
    });
    const slotCopy = new Slot();
    slotCopy.value = slot.value;
    const refused = await accept(p, encodeNegTokenResp({ mechListMIC: wrongMic }), {
      ...contextFor(slotCopy),
    });
    assert.equal(refused.type, 'reject');
    if (refused.type === 'reject') {
      assert.equal(refused.error.code, 'ERR_HTTPAUTH_SPNEGO_MIC_INVALID');
    }
    assert.equal(slotCopy.value, undefined, 'a failed handshake leaves no state');

    // ...the right one completes.
    const clientMic = gssGetMic(subkey, listDer, {
      acceptor: false,
      acceptorSubkey: true,
      seq: 0n,
    });
    const done = await accept(p, encodeNegTokenResp({ mechListMIC: clientMic }), contextFor(slot));
    assert.equal(done.type, 'complete');
    assert.equal(respOf(done).negState, NEG_STATE.acceptCompleted);
    if (done.type === 'complete') {
      assert.equal(done.principal.name, 'alice@EXAMPLE.TEST');
      assert.equal(done.context?.['mechListMicVerified'], true);
    }
  });

  it('refuses a missing client MIC when one is required', async () => {
    const p = pkg();
    const slot = new Slot();
    await accept(
      p,
      encodeNegTokenInit({ mechTypes: [NEGOEX_OID, KRB5_OID], mechToken: Buffer.from('x') }),
      contextFor(slot),
    );
    const { token } = forge(MUTUAL, randomKey(18));
    await accept(p, encodeNegTokenResp({ responseToken: token }), contextFor(slot));
    const result = await accept(
      p,
      encodeNegTokenResp({ negState: NEG_STATE.acceptIncomplete }),
      contextFor(slot),
    );
    assert.equal(result.type, 'reject');
    if (result.type === 'reject')
      assert.equal(result.error.code, 'ERR_HTTPAUTH_SPNEGO_MIC_INVALID');
  });

  it('verifies a MIC sent with a non-mutual AP-REQ and answers with its own at once', async () => {
    const p = pkg();
    const slot = new Slot();
    await accept(p, encodeNegTokenInit({ mechTypes: [NTLMSSP_OID, KRB5_OID] }), contextFor(slot));
    // kerberosOnly by default: NTLM is not configured, so krb5 (index 1) is chosen.
    const subkey = randomKey(17);
    // No mutual authentication (no MUTUAL flag, no mutual-required AP option): the client's
    // context is complete after its AP-REQ, so it sends its MIC along.
    const { token } = forgeApReq({
      serviceKey,
      kvno: 2,
      authtime: NOW - HOUR,
      endtime: NOW + HOUR,
      ctime: NOW,
      gssFlags: INTEG,
      apOptions: 0,
      subkey,
    });
    const listDer = encodeMechTypeListFor([NTLMSSP_OID, KRB5_OID]);
    const mic = gssGetMic(subkey, listDer, { acceptor: false, acceptorSubkey: false, seq: 0n });
    const result = await accept(
      p,
      encodeNegTokenResp({ responseToken: token, mechListMIC: mic }),
      contextFor(slot),
    );
    assert.equal(result.type, 'complete', result.type === 'reject' ? result.error.code : '');
    const reply = respOf(result);
    assert.equal(reply.negState, NEG_STATE.acceptCompleted);
    assert.ok(reply.mechListMIC !== undefined);
    assert.ok(gssVerifyMic(subkey, reply.mechListMIC, listDer, { fromAcceptor: true }));
  });

  it('refuses a multi-leg exchange without a connection', async () => {
    const result = await accept(
      pkg(),
      encodeNegTokenInit({ mechTypes: [NEGOEX_OID, KRB5_OID], mechToken: Buffer.from('x') }),
      contextFor(undefined),
    );
    assert.equal(result.type, 'reject');
    if (result.type === 'reject') {
      assert.equal(result.error.code, 'ERR_HTTPAUTH_CONNECTION_REQUIRED');
    }
  });

  it('ends the negotiation when the client answers with reject', async () => {
    const result = await accept(
      pkg(),
      encodeNegTokenResp({ negState: NEG_STATE.reject }),
      contextFor(new Slot()),
    );
    assert.equal(result.type, 'reject');
    if (result.type === 'reject') assert.equal(result.error.code, 'ERR_HTTPAUTH_SPNEGO_REJECTED');
  });

  it('refuses a NegTokenResp with no exchange in progress', async () => {
    const result = await accept(
      pkg(),
      encodeNegTokenResp({ responseToken: Buffer.from([1]) }),
      contextFor(new Slot()),
    );
    assert.equal(result.type, 'reject');
    if (result.type === 'reject') assert.equal(result.error.code, 'ERR_HTTPAUTH_HANDSHAKE_EXPIRED');
  });
});

describe('Negotiate: NTLM fallback', () => {
  it('runs SPNEGO-wrapped NTLM with mechListMICs on both sides', async () => {
    const p = pkg({ ntlm: ntlmOptions });
    assert.deepEqual(p.mechanisms, ['kerberos', 'ntlm']);
    const slot = new Slot();
    const negotiateMessage = ntlmNegotiate();
    const init = encodeNegTokenInit({ mechTypes: [NTLMSSP_OID], mechToken: negotiateMessage });
    const first = await accept(p, init, contextFor(slot));
    assert.equal(first.type, 'continue');
    const firstReply = respOf(first);
    assert.equal(firstReply.negState, NEG_STATE.acceptIncomplete);
    assert.equal(firstReply.supportedMech, NTLMSSP_OID);
    const challenge = firstReply.responseToken as Buffer;
    assert.equal(challenge.subarray(0, 8).toString('latin1'), 'NTLMSSP\0');

    const auth = authenticate(negotiateMessage, challenge, {
      user: 'bob',
      password: 'Bob-pw1',
      domain: 'EXAMPLE',
    });
    const listDer = encodeMechTypeListFor([NTLMSSP_OID]);
    // The client's side of the NTLM context signs the list it sent (MS-NLMP §3.4.4.2).
    const client = new NtlmSessionSecurity(
      { negotiatedFlags: auth.flags, exportedSessionKey: auth.exportedSessionKey },
      'client',
    );
    const mic = client.sign(listDer);
    const done = await accept(
      p,
      encodeNegTokenResp({ responseToken: auth.message, mechListMIC: mic }),
      contextFor(slot),
    );
    assert.equal(done.type, 'complete');
    if (done.type !== 'complete') return;
    assert.equal(done.principal.mechanism, 'NTLM');
    assert.equal(done.principal.user.toLowerCase(), 'bob');
    assert.equal(done.persist, true);
    const reply = respOf(done);
    assert.equal(reply.negState, NEG_STATE.acceptCompleted);
    assert.doesNotThrow(() => client.verify(listDer, reply.mechListMIC as Buffer));
  });

  it('refuses SPNEGO-wrapped NTLM whose AUTHENTICATE had a MIC but no mechListMIC came', async () => {
    const p = pkg({ ntlm: ntlmOptions });
    const slot = new Slot();
    const negotiateMessage = ntlmNegotiate();
    const first = await accept(
      p,
      encodeNegTokenInit({ mechTypes: [NTLMSSP_OID], mechToken: negotiateMessage }),
      contextFor(slot),
    );
    const auth = authenticate(negotiateMessage, respOf(first).responseToken as Buffer, {
      user: 'bob',
      password: 'Bob-pw1',
    });
    const result = await accept(
      p,
      encodeNegTokenResp({ responseToken: auth.message }),
      contextFor(slot),
    );
    assert.equal(result.type, 'reject');
    if (result.type === 'reject')
      assert.equal(result.error.code, 'ERR_HTTPAUTH_SPNEGO_MIC_INVALID');
  });

  it('accepts raw NTLMSSP under Negotiate and answers raw', async () => {
    const p = pkg({ ntlm: ntlmOptions });
    const slot = new Slot();
    const negotiateMessage = ntlmNegotiate();
    const first = await accept(p, negotiateMessage, contextFor(slot));
    assert.equal(first.type, 'continue');
    if (first.type !== 'continue') return;
    const challenge = Buffer.from(first.token, 'base64');
    assert.equal(challenge.subarray(0, 8).toString('latin1'), 'NTLMSSP\0');
    const auth = authenticate(negotiateMessage, challenge, { user: 'bob', password: 'Bob-pw1' });
    const done = await accept(p, auth.message, contextFor(slot));
    assert.equal(done.type, 'complete');
    if (done.type === 'complete') assert.equal(done.principal.mechanism, 'NTLM');
  });

  it('the NTLM fallback keeps the relay defaults: bindings over TLS, HTTP target names', async () => {
    const tls = Buffer.from('tls-server-end-point:0123456789abcdef0123456789abcdef');
    const logon = async (
      p: ReturnType<typeof negotiate>,
      client: { targetName?: string; channelBinding?: Buffer },
      binding: Buffer | undefined,
    ) => {
      const slot = new Slot();
      const context = { ...contextFor(slot), channelBinding: binding };
      const negotiateMessage = ntlmNegotiate();
      const first = await accept(p, negotiateMessage, context);
      if (first.type !== 'continue') throw new Error('expected a CHALLENGE');
      const challenge = Buffer.from(first.token, 'base64');
      const auth = authenticate(negotiateMessage, challenge, {
        user: 'bob',
        password: 'Bob-pw1',
        ...client,
      });
      const done = await accept(p, auth.message, context);
      return done.type === 'reject' ? done.error.code : done.type;
    };
    const fallback = pkg({ ntlm: ntlmOptions });
    // A Type 3 the victim made for an SMB server, relayed: over TLS, and over plain HTTP.
    assert.equal(
      await logon(fallback, { targetName: 'cifs/evil.example' }, tls),
      'ERR_HTTPAUTH_CHANNEL_BINDING_MISSING',
    );
    assert.equal(
      await logon(fallback, { targetName: 'cifs/evil.example' }, undefined),
      'ERR_HTTPAUTH_NTLM_TARGET_NAME',
    );
    assert.equal(await logon(fallback, { channelBinding: tls }, tls), 'complete');
    const pinned = pkg({ ntlm: { ...ntlmOptions, hostNames: ['web01.example.test'] } });
    assert.equal(
      await logon(pinned, { targetName: 'HTTP/evil.example' }, undefined),
      'ERR_HTTPAUTH_NTLM_TARGET_NAME',
    );
    assert.equal(
      await logon(pinned, { targetName: 'HTTP/web01.example.test' }, undefined),
      'complete',
    );
  });

  it('does not select NTLM without a connection, nor when kerberosOnly', async () => {
    const init = encodeNegTokenInit({ mechTypes: [NTLMSSP_OID], mechToken: ntlmNegotiate() });
    // Without a connection (HTTP/2) the NTLM offer needs one: the loop answers HTTP_1_1_REQUIRED.
    const noConnection = await accept(pkg({ ntlm: ntlmOptions }), init, contextFor(undefined));
    assert.equal(noConnection.type, 'reject');
    if (noConnection.type === 'reject') {
      assert.equal(noConnection.error.code, 'ERR_HTTPAUTH_CONNECTION_REQUIRED');
    }
    const rawNoConnection = await accept(
      pkg({ ntlm: ntlmOptions }),
      ntlmNegotiate(),
      contextFor(undefined),
    );
    assert.equal(
      rawNoConnection.type === 'reject' && rawNoConnection.error.code,
      'ERR_HTTPAUTH_CONNECTION_REQUIRED',
    );
    // NTLM not configured: no connection would help, so it stays "no mechanism".
    const noNtlm = await accept(pkg(), init, contextFor(undefined));
    assert.equal(noNtlm.type === 'reject' && noNtlm.error.code, 'ERR_HTTPAUTH_SPNEGO_NO_MECH');
    const only = pkg({ ntlm: ntlmOptions, kerberosOnly: true });
    assert.deepEqual(only.mechanisms, ['kerberos']);
    const refused = await accept(only, init, contextFor(new Slot()));
    assert.equal(refused.type, 'reject');
    if (refused.type === 'reject') assert.equal(refused.error.code, 'ERR_HTTPAUTH_SPNEGO_NO_MECH');
    const raw = await accept(only, ntlmNegotiate(), contextFor(new Slot()));
    assert.equal(raw.type, 'reject');
  });

  it('selects NTLM listed after Kerberos when Kerberos is not allowed, with mechListMICs', async () => {
    // As Windows offers: MS krb5, krb5, NegoEx, NTLM; this server speaks NTLM only.
    const p = negotiate({ mechanisms: ['ntlm'], ntlm: ntlmOptions });
    assert.equal(p.kerberos, undefined);
    const mechTypes = [MS_KRB5_OID, KRB5_OID, NEGOEX_OID, NTLMSSP_OID];
    const slot = new Slot();
    const first = await accept(
      p,
      encodeNegTokenInit({ mechTypes, mechToken: forge().token }),
      contextFor(slot),
    );
    assert.equal(first.type, 'continue');
    assert.deepEqual(respOf(first), { negState: NEG_STATE.requestMic, supportedMech: NTLMSSP_OID });

    // Each attempt below runs its own NTLM handshake on its own connection: a CHALLENGE is
    // answered at most once, and any failure ends the exchange.
    const handshake = async (): Promise<{
      slot: Slot;
      message: Buffer;
      client: NtlmSessionSecurity;
    }> => {
      const own = new Slot();
      own.value = slot.value;
      const negotiateMessage = ntlmNegotiate();
      const second = await accept(
        p,
        encodeNegTokenResp({ responseToken: negotiateMessage }),
        contextFor(own),
      );
      assert.equal(second.type, 'continue');
      const challenge = respOf(second).responseToken as Buffer;
      const auth = authenticate(negotiateMessage, challenge, {
        user: 'bob',
        password: 'Bob-pw1',
        mic: false,
      });
      const client = new NtlmSessionSecurity(
        { negotiatedFlags: auth.flags, exportedSessionKey: auth.exportedSessionKey },
        'client',
      );
      return { slot: own, message: auth.message, client };
    };
    const listDer = encodeMechTypeListFor(mechTypes);
    // Without the client's mechListMIC the non-first choice is refused (downgrade protection)...
    const first1 = await handshake();
    const missing = await accept(
      p,
      encodeNegTokenResp({ responseToken: first1.message }),
      contextFor(first1.slot),
    );
    assert.equal(missing.type, 'reject');
    if (missing.type === 'reject') {
      assert.equal(missing.error.code, 'ERR_HTTPAUTH_SPNEGO_MIC_INVALID');
    }
    assert.equal(first1.slot.value, undefined, 'a failed handshake leaves no state');
    // ...and a MIC over another list (the attacker's edited one) too.
    const second2 = await handshake();
    const edited = await accept(
      p,
      encodeNegTokenResp({
        responseToken: second2.message,
        mechListMIC: second2.client.sign(encodeMechTypeListFor([NTLMSSP_OID])),
      }),
      contextFor(second2.slot),
    );
    assert.equal(edited.type, 'reject');
    if (edited.type === 'reject') {
      assert.equal(edited.error.code, 'ERR_HTTPAUTH_SPNEGO_MIC_INVALID');
    }

    const third = await handshake();
    const done = await accept(
      p,
      encodeNegTokenResp({ responseToken: third.message, mechListMIC: third.client.sign(listDer) }),
      contextFor(third.slot),
    );
    assert.equal(done.type, 'complete');
    if (done.type === 'complete') assert.equal(done.context?.['mechListMicVerified'], true);
  });

  it('refuses NTLM as a mechanism without a credential source', () => {
    assert.throws(() => negotiate({ kerberos: { keytab }, mechanisms: ['ntlm'] }), {
      code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
    });
    assert.throws(() => negotiate({ kerberos: { keytab }, mechanisms: [] }), {
      code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
    });
  });
});

describe('Negotiate: name mapping', () => {
  it('applies the explicit map, auth_to_local rules, DEFAULT and realm stripping', () => {
    const mapper = new NameMapper({
      nameMap: { 'root@EXAMPLE.TEST': 'nobody' },
      nameRules: [
        'RULE:[2:$1/$2@$0](HTTP/.*@EXAMPLE\\.TEST)s/\\/.*$//',
        'RULE:[1:$1@$0](.*@OTHER\\.TEST)s/@.*$/-other/',
        'RULE:[1:$1@$0](.*@EXAMPLE\\.TEST)s/@.*$//',
      ],
      stripRealm: false,
    });
    assert.equal(mapper.mapKerberos(['root'], 'EXAMPLE.TEST', 'root@EXAMPLE.TEST', true), 'nobody');
    assert.equal(
      mapper.mapKerberos(['alice'], 'EXAMPLE.TEST', 'alice@EXAMPLE.TEST', true),
      'alice',
    );
    assert.equal(mapper.mapKerberos(['bob'], 'OTHER.TEST', 'bob@OTHER.TEST', false), 'bob-other');
    assert.equal(
      mapper.mapKerberos(['HTTP', 'web'], 'EXAMPLE.TEST', 'HTTP/web@EXAMPLE.TEST', true),
      'HTTP',
    );
    // No rule matches: stripRealm false keeps the whole name.
    assert.equal(
      mapper.mapKerberos(['carol'], 'THIRD.TEST', 'carol@THIRD.TEST', false),
      'carol@THIRD.TEST',
    );
    const defaults = new NameMapper({ nameRules: ['DEFAULT'] });
    assert.equal(defaults.mapKerberos(['dave'], 'X.TEST', 'dave@X.TEST', true), 'dave');
    // Neither DEFAULT nor realm stripping applies to a realm that is not ours.
    assert.equal(defaults.mapKerberos(['dave'], 'Y.TEST', 'dave@Y.TEST', false), 'dave@Y.TEST');
    assert.equal(
      new NameMapper().mapKerberos(['dave'], 'Y.TEST', 'dave@Y.TEST', false),
      'dave@Y.TEST',
    );
    assert.equal(defaults.mapKerberos(['a', 'b'], 'X.TEST', 'a/b@X.TEST', true), 'a/b');
    assert.equal(
      new NameMapper({ nameMap: { 'EX\\bob': 'robert' } }).mapNtlm('bob', 'EX\\bob'),
      'robert',
    );
  });

  it('maps as docs/negotiate.md says', () => {
    const mapper = new NameMapper({
      nameRules: [
        'RULE:[1:$1@$0](.*@EXAMPLE\\.COM)s/@.*$//',
        'RULE:[1:$1@$0](.*@PARTNER\\.COM)s/@.*$/-partner/',
        'RULE:[2:$2@$0](.*@EXAMPLE\\.COM)s/@.*$//',
        'DEFAULT',
      ],
      stripRealm: false,
    });
    assert.equal(mapper.mapKerberos(['alice'], 'EXAMPLE.COM', 'alice@EXAMPLE.COM', true), 'alice');
    assert.equal(
      mapper.mapKerberos(['bob'], 'PARTNER.COM', 'bob@PARTNER.COM', false),
      'bob-partner',
    );
    assert.equal(
      mapper.mapKerberos(['host', 'web1'], 'EXAMPLE.COM', 'host/web1@EXAMPLE.COM', true),
      'web1',
    );
    // DEFAULT maps only a local realm's principals: carol@ELSE.COM is not the local carol.
    assert.equal(
      mapper.mapKerberos(['carol'], 'ELSE.COM', 'carol@ELSE.COM', false),
      'carol@ELSE.COM',
    );
    assert.equal(mapper.mapKerberos(['carol'], 'ELSE.COM', 'carol@ELSE.COM', true), 'carol');
    assert.equal(mapper.mapKerberos(['a', 'b'], 'ELSE.COM', 'a/b@ELSE.COM', false), 'a/b@ELSE.COM');
    // sed has no $-escapes: a '$' in the replacement is literal.
    const literal = new NameMapper({ nameRules: ['RULE:[1:$1](x)s/x/$1/'] });
    assert.equal(literal.mapKerberos(['x'], 'R', 'x@R', true), '$1');
  });

  it('refuses malformed rules at construction', () => {
    for (const rule of [
      'RULE:[x:$1]',
      'RULE:[1:$1](unclosed',
      'RULE:[1:$1]s/a/b',
      'RULE:[1:$1]x/a/b/',
      'NOPE',
    ]) {
      assert.throws(
        () => new NameMapper({ nameRules: [rule] }),
        {
          code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
        },
        rule,
      );
    }
  });

  it('maps the user of an authenticated principal and keeps its name', async () => {
    const { token } = forge();
    const result = await accept(
      pkg({ nameRules: ['RULE:[1:$1@$0](alice@EXAMPLE\\.TEST)s/^alice@.*$/alice.local/'] }),
      token,
      contextFor(new Slot()),
    );
    assert.equal(result.type, 'complete');
    if (result.type !== 'complete') return;
    assert.equal(result.principal.user, 'alice.local');
    assert.equal(result.principal.name, 'alice@EXAMPLE.TEST');
  });
});

describe('Negotiate: hostile input', () => {
  it('answers reject, never throws, on random tokens and bit-flipped real ones', async () => {
    const p = pkg({ ntlm: ntlmOptions });
    const { token } = forge();
    const sample = encodeNegTokenInit({ mechTypes: [KRB5_OID, NTLMSSP_OID], mechToken: token });
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), async (bytes) => {
        const result = await accept(p, Buffer.from(bytes), contextFor(new Slot()));
        assert.notEqual(result.type, 'complete');
        if (result.type === 'reject') assert.ok(result.error instanceof HttpAuthError);
      }),
      { numRuns: 300 },
    );
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.integer({ min: 0, max: 255 }), async (position, value) => {
        const copy = Buffer.from(sample);
        const at = position % copy.length;
        fc.pre(copy[at] !== value);
        copy[at] = value;
        const result = await accept(p, copy, contextFor(new Slot()));
        if (result.type === 'reject') {
          assert.ok(result.error instanceof HttpAuthError);
          assert.notEqual(result.error.code, 'ERR_HTTPAUTH_INTERNAL');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('refuses bad base64, an empty token and oversized tokens', async () => {
    const p = pkg();
    for (const token68 of [undefined, '', 'a', 'ab=c', '!!!!', 'A'.repeat(400_000)]) {
      const result = await p.accept(
        { scheme: 'Negotiate', ...(token68 === undefined ? {} : { token68 }) },
        contextFor(new Slot()),
      );
      assert.equal(result.type, 'reject');
      if (result.type === 'reject')
        assert.equal(result.error.code, 'ERR_HTTPAUTH_SPNEGO_MALFORMED');
    }
  });
});

describe('Negotiate: package shape', () => {
  it('is the Negotiate scheme, not connection-bound, offering a bare challenge', () => {
    const p = pkg();
    assert.equal(p.name, 'Negotiate');
    assert.equal(p.scheme, 'Negotiate');
    assert.equal(p.connectionBound, false);
    assert.deepEqual(p.challenges(request, NOW), ['Negotiate']);
    assert.ok(p.kerberos instanceof KerberosAcceptor);
    assert.equal(p.ntlm, undefined);
  });
});
