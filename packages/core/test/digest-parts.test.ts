import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decodeAuthenticationInfo,
  encodeAuthenticationInfo,
} from '../src/digest/authentication-info.js';
import { decodeChallenge, encodeChallenge } from '../src/digest/challenge.js';
import { decodeExtValue, decodeHeaderText, encodeExtValue } from '../src/digest/ext-value.js';
import { A2Cache } from '../src/digest/a2-cache.js';
import { computeHa2 } from '../src/digest/compute.js';
import { NONCE_LENGTH, NonceMinter } from '../src/digest/nonce.js';
import { UserTags, digestUserTag } from '../src/digest/nonce-use.js';
import { digestsEqual, uriMatchesTarget } from '../src/digest/verify.js';
import { HttpAuthError } from '../src/errors.js';

const T0 = 1_800_000_000_000;

describe('Digest nonces', () => {
  const key = randomBytes(32);
  const minter = new NonceMinter(key, 'realm', 60_000);

  it('are valid for their lifetime, then stale, and never valid from the future', () => {
    const nonce = minter.mint(T0);
    assert.equal(nonce.length, NONCE_LENGTH);
    assert.deepEqual(minter.check(nonce, T0), {
      status: 'valid',
      issuedAt: T0,
      expiresAt: T0 + 60_000,
    });
    assert.equal(minter.check(nonce, T0 + 59_999).status, 'valid');
    assert.equal(minter.check(nonce, T0 + 60_000).status, 'stale');
    assert.equal(minter.check(nonce, T0 + 10 * 60_000).status, 'stale');
    // Minted by a node whose clock runs ahead: tolerated up to 60 s, refused beyond.
    assert.equal(minter.check(minter.mint(T0 + 30_000), T0).status, 'valid');
    assert.equal(minter.check(minter.mint(T0 + 61_000), T0).status, 'invalid');
  });

  it('are bound to the key and the realm, and unique', () => {
    const nonce = minter.mint(T0);
    assert.equal(
      new NonceMinter(randomBytes(32), 'realm', 60_000).check(nonce, T0).status,
      'invalid',
    );
    assert.equal(new NonceMinter(key, 'other realm', 60_000).check(nonce, T0).status, 'invalid');
    assert.equal(new NonceMinter(key, 'realm', 120_000).check(nonce, T0).status, 'valid');
    const seen = new Set(Array.from({ length: 200 }, () => minter.mint(T0)));
    assert.equal(seen.size, 200);
  });

  it('every single-character change is invalid', () => {
    const nonce = minter.mint(T0);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < nonce.length; i++) {
      for (const c of alphabet) {
        if (c === nonce[i]) continue;
        const changed = nonce.slice(0, i) + c + nonce.slice(i + 1);
        assert.equal(minter.check(changed, T0).status, 'invalid', `position ${i} -> ${c}`);
      }
    }
  });

  it('random strings never verify', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 80 }),
          fc.stringMatching(/^[A-Za-z0-9_-]{54}$/),
          fc
            .uint8Array({ minLength: 40, maxLength: 40 })
            .map((b) => Buffer.from(b).toString('base64url')),
        ),
        (value) => assert.equal(minter.check(value, T0).status, 'invalid'),
      ),
      { numRuns: 3000 },
    );
  });
});

describe('Digest user tags', () => {
  it('are one per HA1, key and realm, and the same across the cache filling and clearing', () => {
    const key = randomBytes(32);
    const minter = new NonceMinter(key, 'realm', 60_000);
    const tags = new UserTags('realm', minter);
    const ha1 = (i: number) => i.toString(16).padStart(64, '0');
    const first = tags.of(ha1(1));
    assert.equal(first, digestUserTag('realm', minter.accountTag(ha1(1))));
    assert.equal(tags.of(ha1(1)), first);
    assert.notEqual(tags.of(ha1(2)), first);
    // Another node with the same key and realm computes the same tag; another key or realm not.
    assert.equal(new UserTags('realm', new NonceMinter(key, 'realm', 60_000)).of(ha1(1)), first);
    const otherKey = new NonceMinter(randomBytes(32), 'realm', 60_000);
    assert.notEqual(new UserTags('realm', otherKey).of(ha1(1)), first);
    const otherRealm = new NonceMinter(key, 'other', 60_000);
    assert.notEqual(new UserTags('other', otherRealm).of(ha1(1)), first);
    // Past the bound the remembered tags are dropped; recomputed, they are the same.
    const seen = new Set<string>();
    for (let i = 0; i < 25_000; i++) seen.add(tags.of(ha1(i)));
    assert.equal(seen.size, 25_000);
    assert.equal(tags.of(ha1(1)), first);
  });
});

describe('Digest H(A2) cache', () => {
  it('gives exactly the hashes of RFC 7616 §3.4.3 and §3.5, per hash, method and uri', () => {
    const cache = new A2Cache();
    const long = '/search?q=' + 'x'.repeat(2000);
    for (let round = 0; round < 2; round++) {
      for (const hash of ['SHA-256', 'SHA-512-256', 'MD5'] as const) {
        for (const method of ['GET', 'POST']) {
          for (const uri of ['/a', '/b', '/a?x=1', long]) {
            assert.deepEqual(cache.get(hash, method, uri), {
              request: computeHa2(hash, method, uri),
              rspauth: computeHa2(hash, '', uri),
            });
          }
        }
      }
    }
    // Filled past its bound and cleared, it still answers right.
    for (let i = 0; i < 2500; i++) cache.get('SHA-256', 'GET', `/r${i}`);
    assert.equal(cache.get('SHA-256', 'GET', '/r7').request, computeHa2('SHA-256', 'GET', '/r7'));
  });
});

describe('Digest uri matching (RFC 7616 §3.4.6)', () => {
  it('matches equal targets and absolute/origin forms of the same path and query', () => {
    assert.ok(uriMatchesTarget('/a/b?c=d', '/a/b?c=d', 'h.example'));
    assert.ok(uriMatchesTarget('http://h.example/a/b?c=d', '/a/b?c=d', 'h.example'));
    assert.ok(uriMatchesTarget('/a/b?c=d', 'https://h.example:8443/a/b?c=d', 'h.example'));
    assert.ok(uriMatchesTarget('http://h.example', '/', 'h.example'));
    assert.ok(uriMatchesTarget('http://h.example?x', '/?x', 'h.example'));
    assert.ok(uriMatchesTarget('*', '*', 'h.example'));
  });

  it('refuses different paths, queries, encodings and dot-segments', () => {
    assert.ok(!uriMatchesTarget('/a/b', '/a/b?c=d', 'h.example'));
    assert.ok(!uriMatchesTarget('/a/b?c=d', '/a/b', 'h.example'));
    assert.ok(!uriMatchesTarget('/a/%62', '/a/b', 'h.example'));
    assert.ok(!uriMatchesTarget('/a/./b', '/a/b', 'h.example'));
    assert.ok(!uriMatchesTarget('/A/b', '/a/b', 'h.example'));
    assert.ok(!uriMatchesTarget('http://h.example/a', '/b', 'h.example'));
    assert.ok(!uriMatchesTarget('', '/', 'h.example'));
  });

  it("refuses an absolute uri whose authority is not the request's (RFC 7616 §3.4.6)", () => {
    // Another host, another port, userinfo, no Host at all.
    assert.ok(!uriMatchesTarget('http://evil.example/a', '/a', 'h.example'));
    assert.ok(!uriMatchesTarget('http://h.example:8080/a', '/a', 'h.example'));
    assert.ok(!uriMatchesTarget('http://h.example/a', '/a', 'h.example:8080'));
    assert.ok(!uriMatchesTarget('http://u@h.example/a', '/a', 'h.example'));
    assert.ok(!uriMatchesTarget('http://h.example/a', '/a', undefined));
    assert.ok(!uriMatchesTarget('http:///a', '/a', ''));
    // An absolute-form target names the authority itself; Host is then ignored (RFC 9112 §3.2.2).
    assert.ok(!uriMatchesTarget('http://h.example/a', 'http://other.example/a', 'h.example'));
    assert.ok(uriMatchesTarget('http://h.example/a', 'http://h.example:80/a', 'other.example'));
    // Host case and the scheme's default port are not differences.
    assert.ok(uriMatchesTarget('http://H.Example:80/a', '/a', 'h.example'));
    assert.ok(uriMatchesTarget('https://h.example/a', '/a', 'h.example:443'));
    assert.ok(uriMatchesTarget('http://h.example:8080/a', '/a', 'H.EXAMPLE:8080'));
  });
});

describe('Digest comparisons and text', () => {
  it('digestsEqual compares exactly, whatever the lengths', () => {
    assert.ok(digestsEqual('abcd', 'abcd'));
    assert.ok(!digestsEqual('abcd', 'abce'));
    assert.ok(!digestsEqual('abcd', 'abc'));
    assert.ok(!digestsEqual('', 'a'));
  });

  it('ext-values: UTF-8 and ISO-8859-1, strict syntax', () => {
    assert.equal(decodeExtValue("utf-8'en'%E2%82%AC%20rates"), '€ rates');
    assert.equal(decodeExtValue("ISO-8859-1''%A3%20rates"), '£ rates');
    for (const bad of [
      "UTF-8'%E2%82",
      "UTF-8''%E2%82",
      "UTF-8''a b",
      "koi8-r''abc",
      "UTF-8''%zz",
      'plain',
    ]) {
      assert.throws(() => decodeExtValue(bad), HttpAuthError, bad);
    }
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), (text) => {
        assert.equal(decodeExtValue(encodeExtValue(text)), text);
      }),
    );
  });

  it('header text: UTF-8 octets decode, other octets stay ISO-8859-1', () => {
    assert.equal(decodeHeaderText(Buffer.from('Jäsøn', 'utf8').toString('latin1')), 'Jäsøn');
    assert.equal(decodeHeaderText('J\u00e4s\u00f8n'), 'Jäsøn'); // latin1 octets, not valid UTF-8
    assert.equal(decodeHeaderText('ascii'), 'ascii');
  });
});

describe('Digest wire round trips', () => {
  it('challenge: encode then decode gives the same values', () => {
    const challenge = {
      realm: 'api@example.org',
      nonce: 'n0nce',
      algorithm: 'SHA-256-sess',
      qop: ['auth', 'auth-int'] as const,
      opaque: 'op"aque\\',
      domain: ['/a', 'https://b.example/c'],
      stale: true,
      charsetUtf8: true,
      userhash: true,
    };
    assert.deepEqual(decodeChallenge(encodeChallenge({ ...challenge, qop: [...challenge.qop] })), {
      ...challenge,
      qop: [...challenge.qop],
    });
  });

  it('Authentication-Info: encode then decode gives the same values', () => {
    const info = { rspauth: 'abc', qop: 'auth', cnonce: 'c"n', nc: '00000001', nextnonce: 'next' };
    assert.deepEqual(decodeAuthenticationInfo(encodeAuthenticationInfo(info)), info);
    assert.throws(() => decodeAuthenticationInfo('qop=auth'), HttpAuthError);
  });
});
