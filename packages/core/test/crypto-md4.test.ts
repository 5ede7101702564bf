import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import { md4 } from '../src/crypto/md4.js';

const ntlmVectors = JSON.parse(
  readFileSync(new URL('./fixtures/vectors/ntlm.json', import.meta.url), 'utf8'),
) as unknown;

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('md4 (RFC 1320)', () => {
  // RFC 1320 §A.5 test suite.
  const suite: [string, string][] = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    [
      'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
      '043f8582f241db351ce627e153e7f0e4',
    ],
    [
      '12345678901234567890123456789012345678901234567890123456789012345678901234567890',
      'e33b4ddc9c38f2199c3e7b164fcc0536',
    ],
  ];
  for (const [input, expected] of suite) {
    it(`MD4("${input}")`, () => {
      assert.equal(hex(md4(Buffer.from(input, 'ascii'))), expected);
    });
  }

  it('computes NTOWFv1 of "Password" (MS-NLMP 4.2.2.1.2)', () => {
    const expected = findHex(ntlmVectors, 'NTOWFv1');
    assert.equal(expected, 'a4f49c406510bdcab6824ee7c30fd852');
    assert.equal(hex(md4(Buffer.from('Password', 'utf16le'))), expected);
  });

  // Padding edge cases: 55 bytes is the longest one-block tail, 56 forces a second padding block,
  // 63/64 straddle the block boundary, 119/120 the same one block later. Expected digests were
  // computed with OpenSSL's legacy-provider MD4 (`openssl dgst -md4 -provider legacy`).
  const boundary: [number, string][] = [
    [55, 'c889c81dd86c4d2e025778944ea02881'],
    [56, 'd5f9a9e9257077a5f08b0b92f348b0ad'],
    [63, '7ea3da77432d44c323671097d1348fc8'],
    [64, '52f5076fabd22680234a3fa9f9dc5732'],
    [119, 'e65dd227ccef97fa1d34d70189120f76'],
    [120, 'b03ddbd470b47c013e0c7ab2ddd763db'],
  ];
  for (const [length, expected] of boundary) {
    it(`hashes ${length} bytes of "a" across the padding boundary`, () => {
      assert.equal(hex(md4(Buffer.alloc(length, 0x61))), expected);
    });
  }

  it('is deterministic, 16 bytes, and does not modify its input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        const copy = Uint8Array.from(data);
        const first = md4(data);
        assert.equal(first.length, 16);
        assert.deepEqual(md4(data), first);
        assert.deepEqual(data, copy);
      }),
    );
  });

  it('hashes a subarray view by its own bytes only', () => {
    const backing = Buffer.from('xxabcxx', 'ascii');
    assert.equal(hex(md4(backing.subarray(2, 5))), 'a448017aaf21d8525fc10ae87aa6729d');
  });
});

function findHex(tree: unknown, key: string): string {
  if (tree && typeof tree === 'object') {
    for (const [k, v] of Object.entries(tree)) {
      if (k === key && v && typeof v === 'object' && 'hex' in v) return String(v.hex);
      const found = findHex(v, key);
      if (found) return found;
    }
  }
  return '';
}
