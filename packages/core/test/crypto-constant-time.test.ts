import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bytesEqual, textEqual } from '../src/crypto/constant-time.js';

describe('constant-time equality', () => {
  it('agrees with plain equality on any input, lengths included', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (a, b) => {
        assert.equal(bytesEqual(a, b), Buffer.from(a).equals(Buffer.from(b)));
        assert.equal(bytesEqual(a, a), true);
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), fc.string({ maxLength: 30 }), (a, b) => {
        assert.equal(textEqual(a, b), a === b);
      }),
    );
  });

  it('compares hex digests as bytes', () => {
    assert.equal(textEqual('00ff', '00ff', 'latin1'), true);
    assert.equal(textEqual('00ff', '00fe', 'latin1'), false);
    assert.equal(textEqual('00ff', '00ff0', 'latin1'), false);
  });
});
