import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HttpAuthError } from '../src/errors.js';
import { CONTEXT_FLAGS } from '../src/negotiate/context-flags.js';
import {
  decodeInitialContextToken,
  encodeInitialContextToken,
} from '../src/negotiate/initial-context-token.js';
import { classifyNegotiateToken } from '../src/negotiate/negotiate-token.js';
import {
  decodeNegTokenInit,
  encodeMechTypeList,
  encodeNegTokenInit,
} from '../src/negotiate/neg-token-init.js';
import {
  NEG_STATE,
  decodeNegTokenResp,
  encodeNegTokenResp,
  type NegTokenResp,
} from '../src/negotiate/neg-token-resp.js';
import {
  contextTag,
  encodeContextSequence,
  encodeOctetString,
  encodeOid,
  encodeTlv,
  Tag,
} from '../src/asn1/der.js';
import { KRB5_OID, MS_KRB5_OID, NTLMSSP_OID, SPNEGO_OID } from '../src/negotiate/oids.js';

const fixtures = JSON.parse(
  readFileSync(new URL('./fixtures/spnego/captured-tokens.json', import.meta.url), 'utf8'),
) as Record<string, string>;
const token = (name: string): Buffer => Buffer.from(fixtures[name] as string, 'base64');

function onlyHttpAuthErrors(decode: (input: Buffer) => unknown, input: Buffer): void {
  try {
    decode(input);
  } catch (error) {
    assert.ok(error instanceof HttpAuthError, `unexpected ${String(error)}`);
  }
}

describe('SPNEGO NegTokenInit', () => {
  it('decodes curl’s optimistic Kerberos token', () => {
    const init = decodeNegTokenInit(token('curl'));
    assert.deepEqual(init.mechTypes, [KRB5_OID]);
    assert.ok(init.mechToken !== undefined);
    // The mechToken is itself a Kerberos initial context token (RFC 2743 framing, krb5 OID).
    const inner = decodeInitialContextToken(init.mechToken);
    assert.equal(inner.mechOid, KRB5_OID);
    assert.deepEqual([...inner.innerToken.subarray(0, 2)], [0x01, 0x00]); // AP-REQ token id
    assert.equal(init.mechListMIC, undefined);
    assert.deepEqual(init.mechTypesDer, encodeMechTypeList([KRB5_OID]));
  });

  it('decodes gss-ntlmssp’s NTLM-only token', () => {
    const init = decodeNegTokenInit(token('curlGssNtlmssp'));
    assert.deepEqual(init.mechTypes, [NTLMSSP_OID]);
    assert.equal(init.mechToken?.subarray(0, 8).toString('latin1'), 'NTLMSSP\0');
  });

  it('re-encodes real tokens byte for byte', () => {
    for (const name of ['curl', 'curlGssNtlmssp']) {
      const original = token(name);
      const init = decodeNegTokenInit(original);
      assert.deepEqual(encodeNegTokenInit(init), original, name);
    }
  });

  it('round-trips every field', () => {
    const fields = {
      mechTypes: [MS_KRB5_OID, KRB5_OID, NTLMSSP_OID],
      reqFlags: CONTEXT_FLAGS.mutual | CONTEXT_FLAGS.integ | CONTEXT_FLAGS.deleg,
      mechToken: Buffer.from('optimistic'),
      mechListMIC: Buffer.from('mic bytes'),
    };
    const decoded = decodeNegTokenInit(encodeNegTokenInit(fields));
    assert.deepEqual(decoded.mechTypes, fields.mechTypes);
    assert.equal(decoded.reqFlags, fields.reqFlags);
    assert.deepEqual(decoded.mechToken, fields.mechToken);
    assert.deepEqual(decoded.mechListMIC, fields.mechListMIC);
    assert.deepEqual(decoded.mechTypesDer, encodeMechTypeList(fields.mechTypes));
  });

  it('keeps the MechTypeList DER exactly as received', () => {
    const encoded = encodeNegTokenInit({ mechTypes: [KRB5_OID, NTLMSSP_OID] });
    const init = decodeNegTokenInit(encoded);
    assert.ok(encoded.includes(init.mechTypesDer));
    assert.equal(init.mechTypesDer[0], 0x30);
  });

  it('refuses an empty mechanism list, a wrong OID, trailing bytes and BER lengths', () => {
    const empty = encodeInitialContextToken(
      SPNEGO_OID,
      Buffer.from([0xa0, 0x04, 0x30, 0x02, 0xa0, 0x00]),
    );
    assert.throws(() => decodeNegTokenInit(empty), { code: 'ERR_HTTPAUTH_SPNEGO_MALFORMED' });
    const wrongOid = encodeInitialContextToken(
      KRB5_OID,
      decodeInitialContextToken(token('curl')).innerToken,
    );
    assert.throws(() => decodeNegTokenInit(wrongOid), { code: 'ERR_HTTPAUTH_SPNEGO_MALFORMED' });
    const trailing = Buffer.concat([token('curlGssNtlmssp'), Buffer.from([0])]);
    assert.throws(() => decodeNegTokenInit(trailing), { code: 'ERR_HTTPAUTH_SPNEGO_MALFORMED' });
    const indefinite = Buffer.from(token('curlGssNtlmssp'));
    indefinite[1] = 0x80;
    assert.throws(() => decodeNegTokenInit(indefinite), {
      code: 'ERR_HTTPAUTH_SPNEGO_MALFORMED',
    });
  });

  it('bounds the mechanism list', () => {
    const many = Array.from({ length: 33 }, (_, i) => `1.2.3.${i}`);
    assert.throws(() => decodeNegTokenInit(encodeNegTokenInit({ mechTypes: many })), {
      code: 'ERR_HTTPAUTH_SPNEGO_MALFORMED',
    });
    assert.equal(
      decodeNegTokenInit(encodeNegTokenInit({ mechTypes: many.slice(0, 32) })).mechTypes.length,
      32,
    );
  });
});

describe('SPNEGO NegTokenResp', () => {
  it('round-trips each negState with and without optional fields', () => {
    for (const negState of Object.values(NEG_STATE)) {
      const fields = {
        negState,
        supportedMech: MS_KRB5_OID,
        responseToken: Buffer.from([1, 2, 3]),
        mechListMIC: Buffer.alloc(28, 7),
      };
      assert.deepEqual(decodeNegTokenResp(encodeNegTokenResp(fields)), fields);
      assert.deepEqual(decodeNegTokenResp(encodeNegTokenResp({ negState })), { negState });
    }
    assert.deepEqual(decodeNegTokenResp(encodeNegTokenResp({})), {});
  });

  it('matches the DER that MIT and Windows put on the wire', () => {
    // accept-completed, supportedMech krb5: a1 14 30 12 a0 03 0a 01 00 a1 0b 06 09 2a 86 48 86 f7 12 01 02 02
    const expected = Buffer.from('a1143012a0030a0100a10b06092a864886f712010202', 'hex');
    assert.deepEqual(
      encodeNegTokenResp({ negState: NEG_STATE.acceptCompleted, supportedMech: KRB5_OID }),
      expected,
    );
  });

  it('writes the same DER as nesting the generic encoders, whatever the fields', () => {
    // The pre-sized writer against the encoder it replaced (one TLV per field, then the
    // SEQUENCE, then the [1] choice), on random fields, long DER lengths included.
    const reference = (fields: NegTokenResp): Buffer =>
      encodeTlv(
        contextTag(1),
        encodeContextSequence([
          fields.negState === undefined
            ? undefined
            : encodeTlv(Tag.ENUMERATED, Buffer.from([fields.negState])),
          fields.supportedMech === undefined ? undefined : encodeOid(fields.supportedMech),
          fields.responseToken === undefined ? undefined : encodeOctetString(fields.responseToken),
          fields.mechListMIC === undefined ? undefined : encodeOctetString(fields.mechListMIC),
        ]),
      );
    const bytes = (maxLength: number) =>
      fc.option(
        fc.uint8Array({ maxLength }).map((b) => Buffer.from(b)),
        { nil: undefined },
      );
    fc.assert(
      fc.property(
        fc.record({
          negState: fc.option(fc.constantFrom(...Object.values(NEG_STATE)), { nil: undefined }),
          supportedMech: fc.option(fc.constantFrom(KRB5_OID, MS_KRB5_OID, NTLMSSP_OID), {
            nil: undefined,
          }),
          responseToken: bytes(70_000),
          mechListMIC: bytes(300),
        }),
        (fields) => {
          const clean = Object.fromEntries(
            Object.entries(fields).filter(([, v]) => v !== undefined),
          ) as NegTokenResp;
          assert.deepEqual(encodeNegTokenResp(clean), reference(clean));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses out-of-range negState, fields out of order, and unknown fields', () => {
    const badState = Buffer.from('a1073005a0030a0104', 'hex');
    assert.throws(() => decodeNegTokenResp(badState), { code: 'ERR_HTTPAUTH_SPNEGO_MALFORMED' });
    const outOfOrder = Buffer.from('a10e300ca2030401aaa0030a0100', 'hex');
    assert.throws(() => decodeNegTokenResp(outOfOrder), { code: 'ERR_HTTPAUTH_SPNEGO_MALFORMED' });
    const unknownField = Buffer.from('a1073005a5030401aa', 'hex');
    assert.throws(() => decodeNegTokenResp(unknownField), {
      code: 'ERR_HTTPAUTH_SPNEGO_MALFORMED',
    });
  });
});

describe('Negotiate token classification', () => {
  it('tells the four forms apart', () => {
    assert.equal(classifyNegotiateToken(token('curl')), 'spnego-init');
    assert.equal(classifyNegotiateToken(token('requestsKerberos')), 'kerberos');
    assert.equal(classifyNegotiateToken(token('curlGssNtlmssp')), 'spnego-init');
    const ntlm = decodeNegTokenInit(token('curlGssNtlmssp')).mechToken as Buffer;
    assert.equal(classifyNegotiateToken(ntlm), 'ntlm');
    assert.equal(
      classifyNegotiateToken(encodeNegTokenResp({ negState: NEG_STATE.acceptIncomplete })),
      'spnego-resp',
    );
  });

  it('refuses other mechanisms and garbage', () => {
    assert.throws(
      () => classifyNegotiateToken(encodeInitialContextToken('1.2.3.4', Buffer.from([1]))),
      { code: 'ERR_HTTPAUTH_SPNEGO_NO_MECH' },
    );
    assert.throws(() => classifyNegotiateToken(Buffer.from('hello')), {
      code: 'ERR_HTTPAUTH_SPNEGO_MALFORMED',
    });
    assert.throws(() => classifyNegotiateToken(Buffer.alloc(0)), {
      code: 'ERR_HTTPAUTH_SPNEGO_MALFORMED',
    });
  });
});

describe('SPNEGO round trips (property)', () => {
  const oid = fc
    .tuple(
      fc.integer({ min: 0, max: 2 }),
      fc.integer({ min: 0, max: 39 }),
      fc.array(fc.integer({ min: 0, max: 2 ** 32 }), { maxLength: 8 }),
    )
    .map(([a, b, rest]) => [a, b, ...rest].join('.'));
  const bytes = fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u));

  it('decode(encode(init)) gives the fields back, and re-encodes byte for byte', () => {
    fc.assert(
      fc.property(
        fc.array(oid, { minLength: 1, maxLength: 8 }),
        fc.option(fc.integer({ min: 0, max: 0x7f }), { nil: undefined }),
        fc.option(bytes, { nil: undefined }),
        fc.option(bytes, { nil: undefined }),
        (mechTypes, reqFlags, mechToken, mechListMIC) => {
          const fields = {
            mechTypes,
            ...(reqFlags === undefined ? {} : { reqFlags }),
            ...(mechToken === undefined ? {} : { mechToken }),
            ...(mechListMIC === undefined ? {} : { mechListMIC }),
          };
          const encoded = encodeNegTokenInit(fields);
          const decoded = decodeNegTokenInit(encoded);
          assert.deepEqual(decoded.mechTypes, mechTypes);
          assert.equal(decoded.reqFlags, reqFlags);
          assert.deepEqual(decoded.mechToken, mechToken);
          assert.deepEqual(decoded.mechListMIC, mechListMIC);
          assert.deepEqual(encodeNegTokenInit(decoded), encoded);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('decode(encode(resp)) gives the fields back', () => {
    fc.assert(
      fc.property(
        fc.option(fc.constantFrom(0, 1, 2, 3) as fc.Arbitrary<0 | 1 | 2 | 3>, { nil: undefined }),
        fc.option(oid, { nil: undefined }),
        fc.option(bytes, { nil: undefined }),
        fc.option(bytes, { nil: undefined }),
        (negState, supportedMech, responseToken, mechListMIC) => {
          const fields = {
            ...(negState === undefined ? {} : { negState }),
            ...(supportedMech === undefined ? {} : { supportedMech }),
            ...(responseToken === undefined ? {} : { responseToken }),
            ...(mechListMIC === undefined ? {} : { mechListMIC }),
          };
          assert.deepEqual(decodeNegTokenResp(encodeNegTokenResp(fields)), fields);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('SPNEGO decoders on hostile input', () => {
  const decoders: [string, (input: Buffer) => unknown][] = [
    ['decodeNegTokenInit', decodeNegTokenInit],
    ['decodeNegTokenResp', decodeNegTokenResp],
    ['decodeInitialContextToken', decodeInitialContextToken],
    ['classifyNegotiateToken', classifyNegotiateToken],
  ];
  const samples = [
    token('curl'),
    token('requestsKerberos'),
    token('curlGssNtlmssp'),
    encodeNegTokenResp({
      negState: NEG_STATE.acceptIncomplete,
      supportedMech: KRB5_OID,
      responseToken: Buffer.alloc(40, 1),
      mechListMIC: Buffer.alloc(28, 2),
    }),
  ];

  it('throws only HttpAuthError on every truncation of real tokens', () => {
    for (const [, decode] of decoders) {
      for (const sample of samples) {
        for (let length = 0; length < sample.length; length++) {
          onlyHttpAuthErrors(decode, sample.subarray(0, length));
        }
      }
    }
  });

  it('throws only HttpAuthError on random bytes, bit flips and oversized input', () => {
    for (const [name, decode] of decoders) {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
          onlyHttpAuthErrors(decode, Buffer.from(bytes));
        }),
        { numRuns: 500 },
      );
      fc.assert(
        fc.property(
          fc.constantFrom(...samples),
          fc.nat(),
          fc.integer({ min: 0, max: 255 }),
          (sample, position, value) => {
            const copy = Buffer.from(sample);
            copy[position % copy.length] = value;
            onlyHttpAuthErrors(decode, copy);
          },
        ),
        { numRuns: 1000 },
      );
      const oversized = Buffer.concat([Buffer.from([0x60, 0x84, 0x7f, 0xff, 0xff, 0xff])]);
      assert.throws(() => decode(oversized), HttpAuthError, name);
      const huge = Buffer.alloc(300 * 1024, 0x30);
      assert.throws(() => decode(huge), HttpAuthError, name);
    }
  });
});
