import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import { HttpAuthError } from '../src/errors.js';
import { NtlmSessionSecurity } from '../src/ntlm/session-security.js';
import { NtlmAcceptor } from '../src/ntlm/acceptor.js';
import { ntowfv1 } from '../src/ntlm/keys.js';
import { authenticate, negotiate } from './ntlm-client.js';
import { h, ntlmVectors, type Json } from './fixtures/vectors/ntlm-vectors.js';

const vectors = ntlmVectors;

describe('NTLM session security (MS-NLMP 4.2.x.4 GSS_WrapEx examples)', () => {
  it('NTLMv2 with key exchange (4.2.4.4): the client seals, the server unseals', () => {
    const wrap = vectors.ntlmv2.gssWrapEx as Json;
    const plaintext = h(vectors.ntlmv1.gssWrapEx.plaintext);
    const keys = { exportedSessionKey: h(wrap.exportedSessionKey), negotiatedFlags: 0xe2888235 };
    const client = new NtlmSessionSecurity(keys, 'client');
    const { sealed, signature } = client.seal(plaintext);
    assert.equal(sealed.toString('hex'), wrap.sealedData.hex);
    assert.equal(signature.toString('hex'), wrap.signature.hex);
    const server = new NtlmSessionSecurity(keys, 'server');
    assert.ok(server.unseal(sealed, signature).equals(plaintext));
    // The next message must carry sequence number 1: a replayed one fails.
    assert.throws(() => server.unseal(sealed, signature), {
      code: 'ERR_HTTPAUTH_NTLM_SIGNATURE_INVALID',
    });
  });

  it('NTLMv2 without key exchange: the checksum is not encrypted', () => {
    const wrap = vectors.ntlmv2.gssWrapEx as Json;
    const plaintext = h(vectors.ntlmv1.gssWrapEx.plaintext);
    const keys = {
      exportedSessionKey: h(wrap.exportedSessionKey),
      negotiatedFlags: 0xe2888235 & ~0x40000000,
    };
    const client = new NtlmSessionSecurity(keys, 'client');
    assert.equal(
      client.seal(plaintext).signature.toString('hex'),
      wrap.signatureWithoutKeyExch.hex,
    );
  });

  it('NTLMv1 with client challenge (4.2.3.4)', () => {
    const ess = vectors.ntlmv1ClientChallenge as Json;
    const plaintext = h(vectors.ntlmv1.gssWrapEx.plaintext);
    const keys = { exportedSessionKey: h(ess.keyExchangeKey), negotiatedFlags: 0x820a8233 };
    const { sealed, signature } = new NtlmSessionSecurity(keys, 'client').seal(plaintext);
    assert.equal(sealed.toString('hex'), ess.gssWrapEx.sealedData.hex);
    assert.equal(signature.toString('hex'), ess.gssWrapEx.signature.hex);
  });

  it('NTLMv1 (4.2.2.4): CRC32 checksum, RandomPad zero on the wire', () => {
    const wrap = vectors.ntlmv1.gssWrapEx as Json;
    const keys = { exportedSessionKey: h(wrap.sealKey), negotiatedFlags: 0xe2028233 };
    const client = new NtlmSessionSecurity(keys, 'client');
    const { sealed, signature } = client.seal(h(wrap.plaintext));
    assert.equal(sealed.toString('hex'), wrap.sealedData.hex);
    assert.equal(signature.toString('hex'), wrap.signatureOnTheWire.hex);
  });

  it('sign / verify in both directions on an accepted context', async () => {
    const acceptor = new NtlmAcceptor({ domain: 'EXAMPLE', credentials: () => ntowfv1('pw') });
    const neg = negotiate();
    const first = await acceptor.step(neg, undefined, { now: Date.now() });
    if (first.type !== 'continue') throw new Error('expected a CHALLENGE');
    const auth = authenticate(neg, first.token, { user: 'u', password: 'pw' });
    const done = await acceptor.step(auth.message, first.state, { now: Date.now() });
    if (done.type !== 'complete') throw new Error('expected completion');
    const server = new NtlmSessionSecurity(done.context, 'server');
    const client = new NtlmSessionSecurity(
      {
        exportedSessionKey: auth.exportedSessionKey,
        negotiatedFlags: done.context.negotiatedFlags,
      },
      'client',
    );
    const mechList = Buffer.from('300c060a2b06010401823702020a', 'hex');
    server.verify(mechList, client.sign(mechList));
    client.verify(mechList, server.sign(mechList));
    const tampered = client.sign(mechList);
    tampered[5] = tampered[5]! ^ 1;
    assert.throws(() => server.verify(mechList, tampered), {
      code: 'ERR_HTTPAUTH_NTLM_SIGNATURE_INVALID',
    });
  });

  it('random signatures and messages only ever produce HttpAuthError', () => {
    const keys = { exportedSessionKey: Buffer.alloc(16, 7), negotiatedFlags: 0xe2888235 };
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ maxLength: 20 }),
        (message, signature) => {
          const server = new NtlmSessionSecurity(keys, 'server');
          assert.throws(() => server.verify(message, signature), HttpAuthError);
        },
      ),
    );
  });
});
