/**
 * The pre-sized AP-REP writers (kerberos/ap-rep-token.ts) against the generic encoders they
 * replace on the accept path: byte for byte the same DER on random values, including long DER
 * lengths, negative and out-of-Int32 integers and years the KerberosTime text cannot hold, and a
 * round trip through the decoders. A real client verifying the AP-REP is in kerberos-mit.test.ts
 * and test/negotiate-e2e.test.ts (MIT's GSS-API and curl with mutual authentication).
 */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { encodeApRepGssToken, encodeEncApRepPartPresized } from '../src/kerberos/ap-rep-token.js';
import {
  decodeGssToken,
  encodeGssToken,
  KRB5_OID,
  MS_KRB5_OID,
  TokenId,
} from '../src/kerberos/gss-token.js';
import { decodeApRep, encodeApRep } from '../src/kerberos/messages/ap-rep.js';
import {
  decodeEncApRepPart,
  encodeEncApRepPart,
  type EncApRepPart,
} from '../src/kerberos/messages/enc-ap-rep-part.js';

const int32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
// KerberosTime as the decoder yields it: whole seconds from 1970 to the end of year 9999, plus
// a few values past it (the generic encoder's 5-digit years) and with milliseconds.
const time = fc.oneof(
  fc.integer({ min: 0, max: 253402300799 }).map((s) => s * 1000),
  fc.integer({ min: 0, max: 253402300799999 }),
  fc.integer({ min: 253402300800000, max: 8.64e15 }),
);
const encApRepPart: fc.Arbitrary<EncApRepPart> = fc.record({
  ctime: time,
  cusec: fc.oneof(
    fc.integer({ min: 0, max: 999999 }),
    int32,
    fc.integer({ min: 2 ** 31, max: 2 ** 40 }),
  ),
  subkey: fc.option(
    fc.record({
      keytype: fc.oneof(fc.constantFrom(17, 18, 19, 20, 23), int32),
      keyvalue: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
    }),
    { nil: undefined },
  ),
  seqNumber: fc.option(fc.oneof(fc.nat({ max: 0x3fffffff }), int32, fc.nat()), { nil: undefined }),
});

describe('pre-sized AP-REP writers', () => {
  test('EncAPRepPart: the same DER as encodeEncApRepPart, and it decodes back', () => {
    fc.assert(
      fc.property(encApRepPart, (value) => {
        const fast = encodeEncApRepPartPresized(value);
        assert.deepEqual(fast, encodeEncApRepPart(value));
        if (value.ctime < 253402300800000 && value.cusec >= 0 && value.cusec <= 999999) {
          const decoded = decodeEncApRepPart(fast);
          assert.equal(decoded.ctime, value.ctime - (value.ctime % 1000));
          assert.equal(decoded.cusec, value.cusec);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('the last ctime text is not reused for another time', () => {
    const base = { cusec: 1, subkey: undefined, seqNumber: undefined };
    for (const ctime of [1_700_000_000_000, 1_700_000_001_000, 1_700_000_000_000, 0]) {
      assert.deepEqual(
        encodeEncApRepPartPresized({ ...base, ctime }),
        encodeEncApRepPart({ ...base, ctime }),
      );
    }
  });

  test('GSS-framed AP-REP: the same bytes as encodeGssToken(encodeApRep(...))', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constantFrom(17, 18, 19, 20, 23),
          int32,
          fc.integer({ min: 2 ** 31, max: 2 ** 40 }),
        ),
        fc.uint8Array({ minLength: 0, maxLength: 70000 }).map((bytes) => Buffer.from(bytes)),
        fc.constantFrom(KRB5_OID, MS_KRB5_OID, '1.3.6.1.5.5.2', '1.2.840.113554.1.2.2.3'),
        (etype, cipher, mechOid) => {
          const fast = encodeApRepGssToken(etype, cipher, mechOid);
          const generic = encodeGssToken(
            TokenId.AP_REP,
            encodeApRep({ encPart: { etype, kvno: undefined, cipher } }),
            mechOid,
          );
          assert.deepEqual(fast, generic);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('the AP-REP token decodes back to its enc-part', () => {
    const cipher = Buffer.alloc(200, 7);
    const token = encodeApRepGssToken(18, cipher, KRB5_OID);
    const gss = decodeGssToken(token);
    assert.equal(gss.tokenId, TokenId.AP_REP);
    assert.equal(gss.mechOid, KRB5_OID);
    const apRep = decodeApRep(gss.message);
    assert.equal(apRep.encPart.etype, 18);
    assert.equal(apRep.encPart.kvno, undefined);
    assert.deepEqual(apRep.encPart.cipher, cipher);
  });
});
