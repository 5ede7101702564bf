/**
 * The strict DER reader: minimal lengths and integers, tag checks, ordered context fields,
 * KerberosTime, flags, OIDs; and fast-check over random and mutated input (only
 * ERR_HTTPAUTH_ASN1_MALFORMED ever escapes).
 */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import * as asn1js from 'asn1js';
import {
  children,
  contextFields,
  decodeDer,
  decodeOidContent,
  encodeContextSequence,
  encodeInteger,
  encodeKerberosFlags,
  encodeKerberosString,
  encodeKerberosTime,
  encodeOid,
  encodeOidContent,
  encodeTlv,
  readBigInteger,
  readInt32,
  readKerberosFlags,
  readKerberosString,
  readKerberosTime,
  readMicroseconds,
  readOid,
  readUInt32,
  Tag,
} from '../src/asn1/der.js';
import { HttpAuthError } from '../src/errors.js';

const malformed = { code: 'ERR_HTTPAUTH_ASN1_MALFORMED' };

describe('DER lengths and tags', () => {
  test('short and long form lengths round-trip', () => {
    for (const size of [0, 1, 127, 128, 255, 256, 65535, 65536]) {
      const der = encodeTlv(Tag.OCTET_STRING, Buffer.alloc(size, 1));
      const node = decodeDer(der, Tag.OCTET_STRING);
      assert.equal(node.end - node.contentStart, size);
    }
  });

  test('non-minimal and indefinite lengths are refused', () => {
    assert.throws(
      () => decodeDer(Buffer.from([0x04, 0x81, 0x05, 1, 2, 3, 4, 5]), Tag.OCTET_STRING),
      malformed,
    );
    assert.throws(
      () =>
        decodeDer(Buffer.from([0x04, 0x82, 0x00, 0x90, ...Buffer.alloc(0x90)]), Tag.OCTET_STRING),
      malformed,
    );
    assert.throws(() => decodeDer(Buffer.from([0x30, 0x80, 0x00, 0x00]), Tag.SEQUENCE), malformed);
  });

  test('lengths beyond the input, trailing bytes, wrong tags and high tag numbers are refused', () => {
    assert.throws(() => decodeDer(Buffer.from([0x04, 0x05, 1, 2]), Tag.OCTET_STRING), malformed);
    assert.throws(() => decodeDer(Buffer.from([0x04, 0x01, 1, 2]), Tag.OCTET_STRING), malformed);
    assert.throws(() => decodeDer(Buffer.from([0x04, 0x01, 1]), Tag.SEQUENCE), malformed);
    assert.throws(() => decodeDer(Buffer.from([0x1f, 0x81, 0x01, 0x00]), 0x1f), malformed);
  });

  test('the size cap applies', () => {
    const big = encodeTlv(Tag.OCTET_STRING, Buffer.alloc(300 * 1024));
    assert.throws(() => decodeDer(big, Tag.OCTET_STRING), malformed);
    assert.doesNotThrow(() => decodeDer(big, Tag.OCTET_STRING, 400 * 1024));
  });
});

describe('context-tagged SEQUENCE fields', () => {
  const seq = (fields: (Buffer | undefined)[]) =>
    decodeDer(encodeContextSequence(fields), Tag.SEQUENCE);

  test('fields by tag number, optional ones absent', () => {
    const f = contextFields(
      seq([encodeInteger(5), undefined, encodeKerberosString('x')]),
      2,
      [0, 2],
    );
    assert.equal(readInt32(f[0] as never), 5);
    assert.equal(f[1], undefined);
    assert.equal(readKerberosString(f[2] as never), 'x');
  });

  test('missing required, out-of-order, duplicate and unknown tags are refused', () => {
    assert.throws(() => contextFields(seq([encodeInteger(5)]), 2, [0, 2]), malformed);
    const reversed = encodeTlv(
      Tag.SEQUENCE,
      encodeTlv(0xa1, encodeInteger(1)),
      encodeTlv(0xa0, encodeInteger(0)),
    );
    assert.throws(() => contextFields(decodeDer(reversed, Tag.SEQUENCE), 2, []), malformed);
    const duplicate = encodeTlv(
      Tag.SEQUENCE,
      encodeTlv(0xa0, encodeInteger(0)),
      encodeTlv(0xa0, encodeInteger(0)),
    );
    assert.throws(() => contextFields(decodeDer(duplicate, Tag.SEQUENCE), 2, []), malformed);
    assert.throws(
      () => contextFields(seq([undefined, undefined, undefined, encodeInteger(1)]), 2, []),
      malformed,
    );
    const twoInside = encodeTlv(Tag.SEQUENCE, encodeTlv(0xa0, encodeInteger(0), encodeInteger(1)));
    assert.throws(() => contextFields(decodeDer(twoInside, Tag.SEQUENCE), 2, []), malformed);
  });

  test('children of a primitive node are refused', () => {
    assert.throws(() => children(decodeDer(encodeInteger(1), Tag.INTEGER)), malformed);
  });
});

describe('primitive types', () => {
  test('INTEGER: Int32, UInt32 (negative encodings wrap), minimal encoding enforced', () => {
    for (const v of [0, 1, -1, 127, 128, -128, -129, 0x7fffffff, -0x80000000]) {
      assert.equal(readInt32(decodeDer(encodeInteger(v), Tag.INTEGER)), v);
    }
    assert.equal(readUInt32(decodeDer(encodeInteger(0xffffffff), Tag.INTEGER)), 0xffffffff);
    assert.equal(readUInt32(decodeDer(encodeInteger(-1), Tag.INTEGER)), 0xffffffff);
    assert.throws(() => readInt32(decodeDer(encodeInteger(0x80000000), Tag.INTEGER)), malformed);
    assert.throws(
      () => readInt32(decodeDer(Buffer.from([0x02, 0x02, 0x00, 0x01]), Tag.INTEGER)),
      malformed,
    );
    assert.throws(
      () => readInt32(decodeDer(Buffer.from([0x02, 0x02, 0xff, 0x80]), Tag.INTEGER)),
      malformed,
    );
    assert.throws(() => readInt32(decodeDer(Buffer.from([0x02, 0x00]), Tag.INTEGER)), malformed);
    assert.equal(readBigInteger(decodeDer(encodeInteger(-(2n ** 70n)), Tag.INTEGER)), -(2n ** 70n));
    assert.throws(
      () => readMicroseconds(decodeDer(encodeInteger(1_000_000), Tag.INTEGER)),
      malformed,
    );
  });

  test('fast-check: INTEGER round trip over the Int32 range', () => {
    fc.assert(
      fc.property(fc.integer({ min: -0x80000000, max: 0x7fffffff }), (v) => {
        assert.equal(readInt32(decodeDer(encodeInteger(v), Tag.INTEGER)), v);
      }),
    );
  });

  test('fast-check: a 32-bit number encodes exactly as the same value as a BigInt', () => {
    // encodeInteger has a number fast path for the per-request fields; it must agree byte for
    // byte with the general (BigInt) path, boundaries included.
    const same = (v: number) => assert.deepEqual(encodeInteger(v), encodeInteger(BigInt(v)));
    for (const v of [0, -1, 127, 128, -128, -129, 255, 256, 32767, 32768, -32769, 0x7fffff])
      same(v);
    for (const v of [0x800000, -0x800001, 0x7fffffff, -0x80000000]) same(v);
    fc.assert(fc.property(fc.integer({ min: -0x80000000, max: 0x7fffffff }), same));
  });

  test('KerberosTime: exactly YYYYMMDDHHMMSSZ', () => {
    const t = Date.UTC(2026, 10, 26, 14, 3, 59);
    const der = encodeKerberosTime(t + 789);
    assert.equal(der.subarray(2).toString(), '20261126140359Z');
    assert.equal(readKerberosTime(decodeDer(der, Tag.GENERALIZED_TIME)), t);
    for (const text of [
      '20261126140359',
      '20261126140359.5Z',
      '20261326140359Z',
      '2026112614035aZ',
    ]) {
      const bad = encodeTlv(Tag.GENERALIZED_TIME, Buffer.from(text));
      assert.throws(() => readKerberosTime(decodeDer(bad, Tag.GENERALIZED_TIME)), malformed);
    }
  });

  test('KerberosTime: accepts exactly the calendar dates a Date-based reference accepts', () => {
    // The reference: the digits as numbers, then Date.UTC must give back the same day.
    const reference = (digits: string): number | undefined => {
      const n = (from: number, count: number) => Number(digits.slice(from, from + count));
      const [year, month, day] = [n(0, 4), n(4, 2), n(6, 2)];
      const [hour, minute, second] = [n(8, 2), n(10, 2), n(12, 2)];
      if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59) return;
      if (second > 60 || year < 1970) return;
      if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return;
      return Date.UTC(year, month - 1, day, hour, minute, second);
    };
    const digit = fc.constantFrom(...'0123456789');
    const field = (count: number) => fc.array(digit, { minLength: count, maxLength: count });
    fc.assert(
      fc.property(
        fc.constantFrom('1900', '1970', '2000', '2024', '2100', '2400', '2026', '9999'),
        fc.oneof(fc.constantFrom('0229', '0230', '0431', '0228', '1231', '0001', '1301')),
        field(6),
        (year, monthDay, time) => {
          const digits = year + monthDay + time.join('');
          const der = encodeTlv(Tag.GENERALIZED_TIME, Buffer.from(digits + 'Z'));
          const expected = reference(digits);
          if (expected === undefined) {
            assert.throws(() => readKerberosTime(decodeDer(der, Tag.GENERALIZED_TIME)), malformed);
          } else {
            assert.equal(readKerberosTime(decodeDer(der, Tag.GENERALIZED_TIME)), expected);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  test('KerberosFlags: bit 0 is the top bit; short and long bit strings', () => {
    assert.equal(
      readKerberosFlags(decodeDer(encodeKerberosFlags(0x40810000), Tag.BIT_STRING)),
      0x40810000,
    );
    assert.equal(
      readKerberosFlags(decodeDer(Buffer.from([0x03, 0x02, 0x07, 0x80]), Tag.BIT_STRING)),
      0x80000000,
    );
    assert.equal(
      readKerberosFlags(
        decodeDer(Buffer.from([0x03, 0x06, 0x00, 0x01, 0x02, 0x03, 0x04, 0xff]), Tag.BIT_STRING),
      ),
      0x01020304,
    );
    assert.throws(
      () => readKerberosFlags(decodeDer(Buffer.from([0x03, 0x01, 0x01]), Tag.BIT_STRING)),
      malformed,
    );
  });

  test('KerberosString refuses NUL and other tags', () => {
    assert.throws(
      () =>
        readKerberosString(
          decodeDer(encodeTlv(Tag.GENERAL_STRING, Buffer.from('a\0b')), Tag.GENERAL_STRING),
        ),
      malformed,
    );
    assert.throws(
      () =>
        readKerberosString(
          decodeDer(encodeTlv(Tag.UTF8_STRING, Buffer.from('ab')), Tag.UTF8_STRING),
        ),
      malformed,
    );
  });

  test('OIDs round-trip, the Kerberos OIDs have their known DER', () => {
    assert.equal(encodeOid('1.2.840.113554.1.2.2').toString('hex'), '06092a864886f712010202');
    assert.equal(encodeOid('1.2.840.48018.1.2.2').toString('hex'), '06092a864882f712010202');
    for (const oid of ['1.3.6.1.5.5.2', '1.3.6.1.4.1.311.2.2.10', '2.999.1', '0.9.2342']) {
      assert.equal(readOid(decodeDer(encodeOid(oid), Tag.OID)), oid);
      assert.equal(decodeOidContent(encodeOidContent(oid)), oid);
    }
    assert.throws(() => decodeOidContent(Buffer.from([0x2a, 0x86])), malformed);
    assert.throws(() => decodeOidContent(Buffer.from([0x80, 0x01])), malformed);
  });
});

describe('fast-check: the reader only throws HttpAuthError', () => {
  const readers = [
    (b: Buffer) => children(decodeDer(b, Tag.SEQUENCE)),
    (b: Buffer) => contextFields(decodeDer(b, Tag.SEQUENCE), 12, []),
    (b: Buffer) => readInt32(decodeDer(b, Tag.INTEGER)),
    (b: Buffer) => readKerberosTime(decodeDer(b, Tag.GENERALIZED_TIME)),
    (b: Buffer) => readKerberosFlags(decodeDer(b, Tag.BIT_STRING)),
    (b: Buffer) => readOid(decodeDer(b, Tag.OID)),
  ];
  test('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        for (const read of readers) {
          try {
            read(Buffer.from(bytes));
          } catch (error) {
            assert.ok(error instanceof HttpAuthError);
            assert.equal(error.code, 'ERR_HTTPAUTH_ASN1_MALFORMED');
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('cross-check against asn1js (the reference BER/DER codec)', () => {
  test('asn1js-encoded INTEGERs, strings, times and OIDs read back equal', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -0x80000000, max: 0x7fffffff }),
        fc.string({ maxLength: 40 }).filter((s) => !s.includes('\0')),
        fc.date({
          min: new Date(Date.UTC(1970, 0, 1)),
          max: new Date(Date.UTC(2999, 11, 31)),
          noInvalidDate: true,
        }),
        (value, text, date) => {
          const integer = Buffer.from(new asn1js.Integer({ value }).toBER());
          assert.equal(readInt32(decodeDer(integer, Tag.INTEGER)), value);
          assert.deepEqual(encodeInteger(value), integer);
          const general = Buffer.from(new asn1js.GeneralString({ value: text }).toBER());
          assert.equal(readKerberosString(decodeDer(general, Tag.GENERAL_STRING)), text);
          const seconds = Math.floor(date.getTime() / 1000) * 1000;
          const time = Buffer.from(
            new asn1js.GeneralizedTime({ valueDate: new Date(seconds) }).toBER(),
          );
          assert.equal(readKerberosTime(decodeDer(time, Tag.GENERALIZED_TIME)), seconds);
          assert.deepEqual(encodeKerberosTime(seconds), time);
        },
      ),
      { numRuns: 300 },
    );
    for (const oid of [
      '1.2.840.113554.1.2.2',
      '1.2.840.48018.1.2.2',
      '1.3.6.1.4.1.311.2.2.10',
      '2.5.4.3',
    ]) {
      const der = Buffer.from(new asn1js.ObjectIdentifier({ value: oid }).toBER());
      assert.equal(readOid(decodeDer(der, Tag.OID)), oid);
      assert.deepEqual(encodeOid(oid), der);
    }
  });

  test('our encoded context SEQUENCEs parse in asn1js with the same structure', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.integer({ min: -1000, max: 100000 }), { nil: undefined }), {
          maxLength: 8,
        }),
        (values) => {
          const der = encodeContextSequence(
            values.map((v) => (v === undefined ? undefined : encodeInteger(v))),
          );
          const parsed = asn1js.fromBER(new Uint8Array(der));
          assert.notEqual(parsed.offset, -1);
          const seq = parsed.result as asn1js.Sequence;
          const present = values.flatMap((v, n) => (v === undefined ? [] : [[n, v] as const]));
          assert.equal(seq.valueBlock.value.length, present.length);
          seq.valueBlock.value.forEach((field, i) => {
            const [n, v] = present[i] as readonly [number, number];
            assert.equal(field.idBlock.tagClass, 3);
            assert.equal(field.idBlock.tagNumber, n);
            const inner = (field as asn1js.Constructed).valueBlock.value[0] as asn1js.Integer;
            assert.equal(inner.valueBlock.valueDec, v);
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
