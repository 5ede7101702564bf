/**
 * decodeStrictBase64 (grammar/base64.ts), which replaced a regular expression in front of
 * Buffer.from: it must accept exactly what `^[A-Za-z0-9+/]+={0,2}$` with a length that is a
 * multiple of four accepted, and decode it to the same bytes, on valid, truncated, padded wrong,
 * base64url, whitespace, non-ASCII and random input.
 */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeStrictBase64 } from '../src/grammar/base64.js';

/** The reference: the former check in negotiate.ts. */
function reference(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === 0 ? undefined : bytes;
}

function agrees(text: string): void {
  assert.deepEqual(decodeStrictBase64(text), reference(text), JSON.stringify(text));
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

describe('strict base64', () => {
  test('valid base64 of any bytes decodes to those bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), (bytes) => {
        const text = Buffer.from(bytes).toString('base64');
        assert.deepEqual(decodeStrictBase64(text), Buffer.from(bytes));
      }),
    );
  });

  test('edge cases: empty, padding, base64url, whitespace, `=` inside, non-ASCII', () => {
    for (const text of [
      '',
      '=',
      '====',
      'A===',
      'AA==',
      'AAA=',
      'AAAA',
      'AA=A',
      'A=AA',
      'AAAA====',
      'AA-A',
      'AA_A',
      'AA A',
      'AA.A',
      'AA~A',
      'AAé=',
      'AAAA\n',
      ' AAAA',
      'AAA',
      'AAAAA',
      'AA==AAAA',
      'AAA=AAA=',
    ]) {
      agrees(text);
    }
  });

  test('fast-check: agrees with the former regular expression on near-base64 strings', () => {
    const chars = fc.constantFrom(...ALPHABET, '=', '-', '_', '.', '~', ' ', '\t', 'é', '\u0000');
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 40 }), (list) => agrees(list.join(''))),
      { numRuns: 5000 },
    );
  });

  test('fast-check: agrees on valid base64 with one character changed, added or removed', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 60 }),
        fc.nat(),
        fc.constantFrom('=', '-', '_', '.', ' ', 'é', 'A', ''),
        fc.constantFrom('replace', 'insert'),
        (bytes, at, char, how) => {
          const text = Buffer.from(bytes).toString('base64');
          const i = at % (text.length + 1);
          const changed =
            how === 'replace'
              ? text.slice(0, i) + char + text.slice(i + 1)
              : text.slice(0, i) + char + text.slice(i);
          agrees(changed);
        },
      ),
      { numRuns: 5000 },
    );
  });

  test('fast-check: random strings never throw', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        agrees(text);
      }),
    );
  });
});
