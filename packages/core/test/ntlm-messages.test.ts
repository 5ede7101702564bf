import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import { HttpAuthError } from '../src/errors.js';
import { NtlmAcceptor } from '../src/ntlm/acceptor.js';
import { decodeAvPairs, encodeAvPairs } from '../src/ntlm/av-pairs.js';
import {
  decodeAuthenticateMessage,
  encodeAuthenticateMessage,
} from '../src/ntlm/authenticate-message.js';
import { decodeChallengeMessage, encodeChallengeMessage } from '../src/ntlm/challenge-message.js';
import {
  NTLMSSP_NEGOTIATE_UNICODE,
  NTLMSSP_NEGOTIATE_VERSION,
  flagNames,
} from '../src/ntlm/flags.js';
import * as F from '../src/ntlm/flags.js';
import { ntowfv1 } from '../src/ntlm/keys.js';
import { decodeNegotiateMessage, encodeNegotiateMessage } from '../src/ntlm/negotiate-message.js';
import { decodeNtlmv2Response } from '../src/ntlm/ntlmv2-response.js';
import { decodeNtlmToken } from '../src/ntlm/ntlm-package.js';
import { MAX_MESSAGE_BYTES } from '../src/ntlm/wire.js';
import { authenticate, negotiate } from './ntlm-client.js';

const vectors = JSON.parse(
  readFileSync(new URL('./fixtures/vectors/ntlm.json', import.meta.url), 'utf8'),
) as {
  ntlmv2: { challengeMessage: { hex: string }; authenticateMessage: { hex: string } };
  channelBindingsAndMic: {
    authenticateMessage: { hex: string };
    negotiateMessage: { hex: string };
  };
};
const SAMPLES: Buffer[] = [
  Buffer.from(vectors.ntlmv2.challengeMessage.hex, 'hex'),
  Buffer.from(vectors.ntlmv2.authenticateMessage.hex, 'hex'),
  Buffer.from(vectors.channelBindingsAndMic.authenticateMessage.hex, 'hex'),
  Buffer.from(vectors.channelBindingsAndMic.negotiateMessage.hex, 'hex'),
  negotiate(),
];

/** Runs `fn`; anything it throws must be our HttpAuthError. */
function onlyOurError(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof HttpAuthError, `unexpected ${String(error)}`);
  }
}

async function onlyOurErrorAsync(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof HttpAuthError, `unexpected ${String(error)}`);
  }
}

const decoders: [string, (bytes: Buffer) => unknown][] = [
  ['NEGOTIATE', decodeNegotiateMessage],
  ['CHALLENGE', decodeChallengeMessage],
  ['AUTHENTICATE', decodeAuthenticateMessage],
  ['NTLMv2 response', decodeNtlmv2Response],
  ['AV pairs', decodeAvPairs],
];

/** A message with a chosen type and random body, so decoders get past the signature check. */
const framed = fc
  .tuple(fc.integer({ min: 1, max: 3 }), fc.uint8Array({ maxLength: 300 }))
  .map(([type, body]) => {
    const head = Buffer.alloc(12);
    head.write('NTLMSSP\0', 'latin1');
    head.writeUInt32LE(type, 8);
    return Buffer.concat([head, Buffer.from(body)]);
  });

/** A real message with a few bytes overwritten (offsets, lengths, flags...). */
const mutated = fc
  .tuple(
    fc.constantFrom(...SAMPLES),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
  )
  .map(([sample, edits]) => {
    const copy = Buffer.from(sample);
    for (const [at, value] of edits) copy[12 + (at % Math.max(1, copy.length - 12))] = value;
    return copy;
  });

describe('NTLM decoders only ever throw HttpAuthError', () => {
  for (const [name, decode] of decoders) {
    it(`${name}: random, framed and mutated input`, () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
            framed,
            mutated,
          ),
          (bytes) => {
            onlyOurError(() => decode(bytes));
          },
        ),
        { numRuns: 500 },
      );
    });
    it(`${name}: every truncation of real messages`, () => {
      for (const sample of SAMPLES) {
        for (let length = 0; length < sample.length; length++) {
          onlyOurError(() => decode(sample.subarray(0, length)));
        }
      }
    });
  }

  it('every truncation of a non-final AUTHENTICATE is rejected, not misread', () => {
    const sample = SAMPLES[1]!;
    for (let length = 0; length < sample.length; length++) {
      assert.throws(() => decodeAuthenticateMessage(sample.subarray(0, length)), HttpAuthError);
    }
  });

  it('oversized messages are refused', () => {
    const big = Buffer.concat([SAMPLES[1]!, Buffer.alloc(MAX_MESSAGE_BYTES)]);
    assert.throws(() => decodeAuthenticateMessage(big), { code: 'ERR_HTTPAUTH_NTLM_MALFORMED' });
    assert.throws(() => decodeNtlmToken('A'.repeat(MAX_MESSAGE_BYTES * 2)), {
      code: 'ERR_HTTPAUTH_NTLM_MALFORMED',
    });
  });

  it('a field pointing into the fixed header is refused', () => {
    const bytes = Buffer.from(SAMPLES[1]!);
    bytes.writeUInt32LE(8, 36 + 4); // UserNameFields.BufferOffset -> inside the header
    assert.throws(() => decodeAuthenticateMessage(bytes), { code: 'ERR_HTTPAUTH_NTLM_MALFORMED' });
    const past = Buffer.from(SAMPLES[1]!);
    past.writeUInt32LE(past.length - 2, 36 + 4); // runs past the end
    assert.throws(() => decodeAuthenticateMessage(past), { code: 'ERR_HTTPAUTH_NTLM_MALFORMED' });
  });

  it('odd-length UTF-16 names are refused', () => {
    const bytes = Buffer.from(SAMPLES[1]!);
    bytes.writeUInt16LE(9, 36); // UserNameFields.Len
    assert.throws(() => decodeAuthenticateMessage(bytes), { code: 'ERR_HTTPAUTH_NTLM_MALFORMED' });
  });

  it('token decoding is strict base64', () => {
    for (const bad of ['', 'a-b_', 'TlRMTVNTUAAB=AAA', 'TlRM~']) {
      assert.throws(() => decodeNtlmToken(bad), { code: 'ERR_HTTPAUTH_NTLM_MALFORMED' });
    }
    assert.equal(decodeNtlmToken(negotiate().toString('base64')).readUInt32LE(8), 1);
  });
});

describe('the acceptor only ever throws HttpAuthError', () => {
  const server = new NtlmAcceptor({
    domain: 'EXAMPLE',
    credentials: () => ntowfv1('pw'),
    allowNtlmV1: true,
    allowLm: true,
    allowAnonymous: true,
  });
  it('random NEGOTIATEs and mutated AUTHENTICATEs', async () => {
    const first = await server.step(negotiate(), undefined, { now: Date.now() });
    if (first.type !== 'continue') throw new Error('expected a CHALLENGE');
    const good = authenticate(negotiate(), first.token, { user: 'u', password: 'pw' }).message;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(framed, mutated, fc.constant(good)),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        async (bytes, edits) => {
          const copy = Buffer.from(bytes);
          for (const [at, value] of edits)
            if (copy.length > 12) copy[12 + (at % (copy.length - 12))] = value;
          await onlyOurErrorAsync(() => server.step(copy, first.state, { now: Date.now() }));
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('NTLM message round trips', () => {
  const name = fc.string({ maxLength: 20 });
  it('NEGOTIATE', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.string({ maxLength: 15 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
        (flags, domain) => {
          const message = { flags, domain, workstation: 'WS' };
          const decoded = decodeNegotiateMessage(encodeNegotiateMessage(message));
          assert.equal(decoded.flags >>> 0, flags >>> 0);
          assert.equal(decoded.domain, domain);
          assert.equal(decoded.workstation, 'WS');
        },
      ),
    );
    const versioned = {
      flags: NTLMSSP_NEGOTIATE_VERSION,
      domain: '',
      workstation: '',
      version: { major: 10, minor: 0, build: 1, revision: 15 },
    };
    assert.deepEqual(decodeNegotiateMessage(encodeNegotiateMessage(versioned)), versioned);
  });
  it('CHALLENGE', () => {
    fc.assert(
      fc.property(
        name,
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 10 }), fc.uint8Array({ maxLength: 30 })), {
          maxLength: 6,
        }),
        (targetName, challenge, pairs) => {
          const targetInfo = encodeAvPairs(
            pairs.map(([id, value]) => ({ id, value: Buffer.from(value) })),
          );
          const message = {
            flags: NTLMSSP_NEGOTIATE_UNICODE | F.NTLMSSP_NEGOTIATE_TARGET_INFO,
            targetName,
            serverChallenge: Buffer.from(challenge),
            targetInfo,
          };
          const decoded = decodeChallengeMessage(encodeChallengeMessage(message));
          assert.equal(decoded.targetName, targetName);
          assert.ok(decoded.serverChallenge.equals(message.serverChallenge));
          assert.ok(decoded.targetInfo.equals(targetInfo));
          assert.equal(decoded.targetInfoPairs.length, pairs.length);
        },
      ),
    );
  });
  it('AUTHENTICATE, Unicode and OEM, with and without MIC', () => {
    fc.assert(
      fc.property(
        name,
        name,
        fc.boolean(),
        fc.option(fc.uint8Array({ minLength: 16, maxLength: 16 })),
        (user, domain, unicode, mic) => {
          const oemSafe = (s: string) => (unicode ? s : s.replace(/[^\x20-\xff]/g, '?'));
          const message = {
            flags: unicode ? NTLMSSP_NEGOTIATE_UNICODE : F.NTLM_NEGOTIATE_OEM,
            lmChallengeResponse: Buffer.alloc(24, 1),
            ntChallengeResponse: Buffer.alloc(60, 2),
            domain: oemSafe(domain),
            user: oemSafe(user),
            workstation: 'WS',
            encryptedRandomSessionKey: Buffer.alloc(16, 3),
            ...(mic === null ? {} : { mic: Buffer.from(mic) }),
          };
          const decoded = decodeAuthenticateMessage(encodeAuthenticateMessage(message));
          assert.equal(decoded.user, message.user);
          assert.equal(decoded.domain, message.domain);
          assert.ok(decoded.ntChallengeResponse.equals(message.ntChallengeResponse));
          assert.ok(decoded.encryptedRandomSessionKey.equals(message.encryptedRandomSessionKey));
          if (mic === null) assert.equal(decoded.mic, undefined);
          else assert.ok(decoded.mic?.equals(Buffer.from(mic)));
        },
      ),
    );
  });
  it('flag names follow MS-NLMP 2.2.2.5', () => {
    assert.deepEqual(flagNames(0x00088207), [
      'NTLMSSP_NEGOTIATE_UNICODE',
      'NTLM_NEGOTIATE_OEM',
      'NTLMSSP_REQUEST_TARGET',
      'NTLMSSP_NEGOTIATE_NTLM',
      'NTLMSSP_NEGOTIATE_ALWAYS_SIGN',
      'NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY',
    ]);
    assert.equal(F.NTLMSSP_NEGOTIATE_56, 0x80000000);
    assert.ok(F.hasFlag(0x80000000 | 0, F.NTLMSSP_NEGOTIATE_56));
  });
});
