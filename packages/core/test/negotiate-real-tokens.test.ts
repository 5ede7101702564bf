/**
 * Tokens captured from real initiators (MIT krb5 1.20 via python3-gssapi, against a throwaway
 * MIT realm and a throwaway Samba AD DC: test/fixtures/kerberos/*.json, captured by the Kerberos
 * acceptor's tests) carried through the Negotiate package both raw and wrapped in SPNEGO, at the
 * time they were captured.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Keytab } from '../src/kerberos/keytab.js';
import { decodeGssToken, TokenId } from '../src/kerberos/gss-token.js';
import { encodeNegTokenInit } from '../src/negotiate/neg-token-init.js';
import { NEG_STATE, decodeNegTokenResp } from '../src/negotiate/neg-token-resp.js';
import { KRB5_OID, NTLMSSP_OID } from '../src/negotiate/oids.js';
import { negotiate } from '../src/negotiate/negotiate.js';
import type { AcceptContext, AcceptResult } from '../src/security-package.js';
import { MemoryStore } from '../src/store/memory.js';
import { mitTokens, sambaTokens } from './fixtures/kerberos/captured-tokens.js';

const mit = mitTokens;
const samba = sambaTokens;

function context(now: number, channelBinding?: Buffer): AcceptContext {
  return {
    request: { method: 'GET', target: '/', headers: {}, httpVersionMajor: 1, secure: false },
    handshake: undefined,
    channelBinding,
    store: new MemoryStore(),
    now,
  };
}

function spnego(rawToken: string): string {
  return encodeNegTokenInit({
    mechTypes: [KRB5_OID, NTLMSSP_OID],
    mechToken: Buffer.from(rawToken, 'base64'),
  }).toString('base64');
}

function completed(result: AcceptResult): Extract<AcceptResult, { type: 'complete' }> {
  assert.equal(result.type, 'complete', result.type === 'reject' ? result.error.code : '');
  return result as Extract<AcceptResult, { type: 'complete' }>;
}

describe('Negotiate with real MIT tokens', () => {
  const pkg = negotiate({ kerberos: { keytab: Keytab.parse(Buffer.from(mit.keytab, 'base64')) } });

  it('raw and SPNEGO-wrapped: alice@EXAMPLE.TEST, AP-REP in the matching form', async () => {
    const raw = completed(
      await pkg.accept(
        { scheme: 'Negotiate', token68: mit.tokens.mutual },
        context(mit.capturedAt),
      ),
    );
    assert.equal(raw.principal.name, 'alice@EXAMPLE.TEST');
    assert.equal(
      decodeGssToken(Buffer.from(raw.token as string, 'base64')).tokenId,
      TokenId.AP_REP,
    );

    // A fresh store: the raw run recorded this authenticator in its own replay cache.
    const wrapped = completed(
      await pkg.accept(
        { scheme: 'Negotiate', token68: spnego(mit.tokens.mutual) },
        context(mit.capturedAt),
      ),
    );
    const reply = decodeNegTokenResp(Buffer.from(wrapped.token as string, 'base64'));
    assert.equal(reply.negState, NEG_STATE.acceptCompleted);
    assert.equal(reply.supportedMech, KRB5_OID);
    assert.equal(decodeGssToken(reply.responseToken as Buffer).tokenId, TokenId.AP_REP);
  });

  it('delegation: the forwarded TGT is in the context', async () => {
    const result = completed(
      await pkg.accept(
        { scheme: 'Negotiate', token68: spnego(mit.tokens.delegate) },
        context(mit.capturedAt),
      ),
    );
    assert.equal(result.principal.delegated, true);
    assert.ok(result.context?.delegatedCredential !== undefined);
  });

  it('channel bindings: bound with the right binding, refused under require with another', async () => {
    const binding = Buffer.from(mit.channelBinding, 'hex');
    const bound = completed(
      await pkg.accept(
        { scheme: 'Negotiate', token68: spnego(mit.tokens.channelBound) },
        context(mit.capturedAt, binding),
      ),
    );
    assert.equal(bound.principal.channelBound, true);
    const strict = negotiate({
      kerberos: { keytab: Keytab.parse(Buffer.from(mit.keytab, 'base64')) },
      channelBinding: { mode: 'require' },
    });
    const other = Buffer.from(binding);
    other[other.length - 1] = (other[other.length - 1] as number) ^ 1;
    const refused = await strict.accept(
      { scheme: 'Negotiate', token68: spnego(mit.tokens.channelBound) },
      context(mit.capturedAt, other),
    );
    assert.equal(refused.type, 'reject');
    if (refused.type === 'reject') {
      assert.equal(refused.error.code, 'ERR_HTTPAUTH_CHANNEL_BINDING_MISMATCH');
    }
  });

  it('an hour later the same token is refused with a KRB-ERROR challenge', async () => {
    const result = await pkg.accept(
      { scheme: 'Negotiate', token68: spnego(mit.tokens.mutual) },
      context(mit.capturedAt + 3600_000),
    );
    assert.equal(result.type, 'reject');
    if (result.type !== 'reject') return;
    assert.equal(result.error.code, 'ERR_HTTPAUTH_KRB_SKEW');
    assert.match(result.challenges?.[0] ?? '', /^Negotiate /);
  });
});

describe('Negotiate with a real Samba AD token (full PAC)', () => {
  it('maps the PAC onto the principal: SID, Domain Users, the created group', async () => {
    const pkg = negotiate({
      kerberos: { keytab: Keytab.parse(Buffer.from(samba.keytab, 'base64')) },
      nameRules: ['RULE:[1:$1@$0](.*@SAMDOM\\.TEST)s/@.*$/.ad/'],
    });
    const result = completed(
      await pkg.accept(
        { scheme: 'Negotiate', token68: spnego(samba.token) },
        context(samba.capturedAt),
      ),
    );
    const principal = result.principal;
    assert.equal(principal.name, `alice@${samba.realm}`);
    assert.equal(principal.user, 'alice.ad');
    assert.equal(principal.userSid, samba.sids.alice);
    assert.ok(principal.groupSids?.includes(`${samba.domainSid}-513`));
    assert.ok(principal.groupSids?.includes(samba.sids.webusers as string));
  });
});
