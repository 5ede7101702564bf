import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import { Rc4, rc4 } from '../src/crypto/rc4.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const fromHex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('rc4', () => {
  // RFC 6229 §2, 40-bit key 0x0102030405: key stream at selected offsets.
  const rfc6229Key40 = fromHex('0102030405');
  const rfc6229Stream40: [number, string][] = [
    [0x0000, 'b2396305f03dc027ccc3524a0a1118a8'],
    [0x0010, '6982944f18fc82d589c403a47a0d0919'],
    [0x00f0, '28cb1132c96ce286421dcaadb8b69eae'],
    [0x0100, '1cfcf62b03eddb641d77dfcf7f8d8c93'],
    [0x01f0, '42b7d0cdd918a8a33dd51781c81f4041'],
    [0x0200, '6459844432a7da923cfb3eb4980661f6'],
    [0x0ff0, '068326a2118416d21f9d04b2cd1ca050'],
    [0x1000, 'ff25b58995996707e51fbdf08b34d875'],
  ];

  it('produces the RFC 6229 40-bit key stream (one-shot)', () => {
    const stream = rc4(rfc6229Key40, new Uint8Array(0x1010));
    for (const [offset, expected] of rfc6229Stream40) {
      assert.equal(hex(stream.subarray(offset, offset + 16)), expected, `offset ${offset}`);
    }
  });

  it('produces the RFC 6229 40-bit key stream (streaming, 16 bytes at a time)', () => {
    const cipher = new Rc4(rfc6229Key40);
    const chunks: Buffer[] = [];
    for (let offset = 0; offset < 0x1010; offset += 16)
      chunks.push(cipher.update(new Uint8Array(16)));
    const stream = Buffer.concat(chunks);
    for (const [offset, expected] of rfc6229Stream40) {
      assert.equal(hex(stream.subarray(offset, offset + 16)), expected, `offset ${offset}`);
    }
  });

  // Widely published ARCFOUR examples (key, plaintext, ciphertext).
  const classic: [string, string, string][] = [
    ['Key', 'Plaintext', 'bbf316e8d940af0ad3'],
    ['Wiki', 'pedia', '1021bf0420'],
    ['Secret', 'Attack at dawn', '45a01f645fc35b383552544b9bf5'],
  ];
  for (const [key, plaintext, expected] of classic) {
    it(`encrypts "${plaintext}" under "${key}"`, () => {
      const ciphertext = rc4(Buffer.from(key), Buffer.from(plaintext));
      assert.equal(hex(ciphertext), expected);
      assert.equal(rc4(Buffer.from(key), ciphertext).toString(), plaintext);
    });
  }

  it('streaming in arbitrary chunks equals one-shot', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 256 }),
        fc.uint8Array({ maxLength: 600 }),
        fc.array(fc.nat({ max: 80 }), { maxLength: 20 }),
        (key, data, cuts) => {
          const expected = rc4(key, data);
          const cipher = new Rc4(key);
          const parts: Buffer[] = [];
          let offset = 0;
          for (const cut of cuts) {
            parts.push(cipher.update(data.subarray(offset, offset + cut)));
            offset = Math.min(data.length, offset + cut);
          }
          parts.push(cipher.update(data.subarray(offset)));
          assert.deepEqual(Buffer.concat(parts), expected);
          // Decryption is the same operation.
          assert.deepEqual(rc4(key, expected), Buffer.from(data));
        },
      ),
    );
  });

  it('refuses an empty or oversized key and use after dispose', () => {
    assert.throws(() => new Rc4(new Uint8Array(0)), RangeError);
    assert.throws(() => new Rc4(new Uint8Array(257)), RangeError);
    const cipher = new Rc4(Buffer.from('Key'));
    cipher.dispose();
    assert.throws(() => cipher.update(Buffer.from('Plaintext')));
  });
});
