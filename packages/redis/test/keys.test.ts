// The key layout (src/keys.ts): prefixed, always hash-tagged, one-to-one.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HttpAuthError } from '@httpauth/core';
import { checkKeyPrefix, hasHashTag, redisKey } from '../src/keys.js';

/** The hash tag as Redis Cluster reads it: between the first '{' and the next '}', if non-empty. */
function clusterHashTag(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open === -1) return undefined;
  const close = key.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return undefined;
  return key.slice(open + 1, close);
}

const keyText = fc.oneof(
  fc.string(),
  fc.string({ unit: fc.constantFrom('{', '}', ':', 'a', 'b') }),
  fc.string({ unit: 'grapheme' }),
);

describe('redisKey', () => {
  it('examples from the documented layout', () => {
    assert.equal(redisKey('httpauth:', 'httpauth:krb5rc:abc'), 'httpauth:{httpauth:krb5rc:abc}');
    assert.equal(redisKey('httpauth:', 'session:revoked:S'), 'httpauth:{session:revoked:S}');
    assert.equal(redisKey('httpauth:', 'digest:nc:N'), 'httpauth:{digest:nc:N}');
    assert.equal(redisKey('httpauth:', 'digest:{N}:nc:T'), 'httpauth:digest:{N}:nc:T');
    assert.equal(redisKey('httpauth:', '{N}:nc'), 'httpauth:{{N}:nc}');
    assert.equal(redisKey('httpauth:', ''), 'httpauth:{}');
  });

  it('every Redis key starts with the prefix and keeps the logical key readable', () => {
    fc.assert(
      fc.property(keyText, (key) => {
        const result = redisKey('httpauth:', key);
        assert.ok(result.startsWith('httpauth:'));
        assert.ok(result.includes(key));
      }),
    );
  });

  it('every key not starting with "}" gets a hash tag that Redis Cluster sees', () => {
    // (A key starting with '}' yields an empty tag, so Redis hashes the whole key: still one slot
    // per key, which is all a single-key operation needs.)
    fc.assert(
      fc.property(keyText, (key) => {
        fc.pre(key !== '' && !key.startsWith('}'));
        const tag = clusterHashTag(redisKey('httpauth:', key));
        assert.ok(tag !== undefined && tag.length > 0);
        if (hasHashTag(key) && !key.startsWith('{')) assert.equal(tag, clusterHashTag(key));
      }),
    );
  });

  it('two distinct logical keys never share a Redis key', () => {
    fc.assert(
      fc.property(keyText, keyText, (first, second) => {
        fc.pre(first !== second);
        assert.notEqual(redisKey('p:', first), redisKey('p:', second));
      }),
      { numRuns: 2000 },
    );
    // The pair that a naive "keep tagged keys as they are" rule would merge.
    assert.notEqual(redisKey('p:', 'x}'), redisKey('p:', '{x}}'));
  });

  it('refuses a prefix with braces (it would become every key’s tag)', () => {
    assert.throws(() => checkKeyPrefix('app:{x}:'), HttpAuthError);
    assert.throws(() => checkKeyPrefix('a}'), HttpAuthError);
    assert.equal(checkKeyPrefix('app:'), 'app:');
  });
});
