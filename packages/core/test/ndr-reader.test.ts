/**
 * The shared NDR20 reader (src/ndr/reader.ts): alignment relative to the stream's start, and
 * every out-of-bounds read or count ends in the caller's own error, never a RangeError.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NdrReader } from '../src/ndr/reader.js';

class Malformed extends Error {}
const reader = (buf: Buffer, start = 0) =>
  new NdrReader(buf, {
    start,
    malformed: (what) => {
      throw new Malformed(what);
    },
  });

describe('NdrReader', () => {
  it('aligns relative to the start of the stream, little-endian', () => {
    const buf = Buffer.from([0xff, 0x01, 0, 0, 0, 0x02, 0, 0, 0, 0x03, 0]);
    const r = reader(buf, 1);
    assert.equal(r.u8(), 1);
    assert.equal(r.u32(), 2); // three pad bytes first: offset 4 of the stream
    assert.equal(r.u16(), 3);
    assert.equal(r.remaining, 0);
    assert.throws(
      () => r.u8(),
      (e: unknown) => e instanceof Malformed && e.message === 'truncated',
    );
  });

  it('bounds counts taken from the wire', () => {
    const r = reader(Buffer.from([5, 0, 0, 0, 9, 0, 0, 0]));
    assert.equal(r.count(5), 5);
    assert.throws(
      () => r.count(8),
      (e: unknown) => e instanceof Malformed,
    );
  });

  it('gives copies, not views of the buffer', () => {
    const buf = Buffer.from([1, 2, 3]);
    const out = reader(buf).bytes(3);
    buf[0] = 9;
    assert.equal(out[0], 1);
  });

  it('on random input and reads, fails only with the caller error', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.nat({ max: 8 }),
        fc.array(fc.constantFrom('u8', 'u16', 'u32', 'filetime', 'bytes', 'count', 'align'), {
          maxLength: 40,
        }),
        (bytes, start, ops) => {
          const buf = Buffer.from(bytes);
          const r = reader(buf, Math.min(start, buf.length));
          try {
            for (const op of ops) {
              if (op === 'bytes') r.bytes(3);
              else if (op === 'count') r.count(16);
              else if (op === 'align') r.align(8);
              else r[op]();
            }
          } catch (error) {
            assert.ok(error instanceof Malformed, String(error));
          }
          assert.ok(r.position <= buf.length);
        },
      ),
    );
  });
});
