import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomBytesPooled } from '../src/crypto/random-pool.js';

describe('pooled random bytes', () => {
  it('hands out fresh, independent buffers of the asked length', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const bytes = randomBytesPooled(16);
      assert.equal(bytes.length, 16);
      const hex = bytes.toString('hex');
      assert.ok(!seen.has(hex), 'a value came out twice');
      seen.add(hex);
    }
    const a = randomBytesPooled(32);
    const copy = Buffer.from(a);
    randomBytesPooled(4096); // refills and moves on: the buffer handed out must not change
    for (let i = 0; i < 300; i++) randomBytesPooled(16);
    assert.deepEqual(a, copy);
    assert.equal(randomBytesPooled(5000).length, 5000);
    assert.equal(randomBytesPooled(0).length, 0);
  });

  it('looks uniform (each bit set about half the time)', () => {
    const counts = new Array<number>(8).fill(0);
    const total = 20000;
    const bytes = Buffer.concat(Array.from({ length: total / 20 }, () => randomBytesPooled(20)));
    for (const byte of bytes) for (let bit = 0; bit < 8; bit++) counts[bit]! += (byte >> bit) & 1;
    // 20,000 samples per bit: 6 standard deviations is about ±424.
    for (const count of counts) assert.ok(Math.abs(count - total / 2) < 424, `bit count ${count}`);
  });
});
