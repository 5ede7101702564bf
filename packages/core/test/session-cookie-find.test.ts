/**
 * The session cookie finder (`findCookieValue`, RFC 6265 §5.4 Cookie header) against the
 * split-based finder it replaced: the same answer on random, truncated and oversized headers,
 * and through `SessionCookies.find` the same cookie as before on TLS (the `__Host-` name) and
 * plain requests.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { findCookieValue } from '../src/session/cookie-find.js';
import { SessionCookies } from '../src/session/session-cookie.js';

/** The finder before this change: split on ';', trim each part, the first starting with prefix. */
function splitFinder(header: string, prefix: string): string | undefined {
  for (const part of header.split(';')) {
    const trimmed = part.trim();
    if (trimmed.startsWith(prefix)) return trimmed.slice(prefix.length);
  }
  return undefined;
}

const NAME = 'httpauth_session';
const PREFIX = `${NAME}=`;

/** Pieces a Cookie header is made of, including look-alikes, odd whitespace and separators. */
const piece = fc.constantFrom(
  ';',
  '; ',
  ' ',
  '\t',
  '\u00a0',
  '\n',
  '\ufeff',
  '=',
  NAME,
  PREFIX,
  `__Host-${PREFIX}`,
  `x${PREFIX}`,
  `${NAME}x=`,
  'a=b',
  'AbC-_9',
  'v',
);
const header = fc.oneof(
  fc.array(piece, { maxLength: 24 }).map((parts) => parts.join('')),
  fc.string({ maxLength: 64 }),
  fc.string({ unit: 'grapheme', maxLength: 64 }),
);

describe('findCookieValue', () => {
  it('gives the split-based answer on random headers built from cookie-like pieces', () => {
    fc.assert(
      fc.property(header, (h) => {
        assert.equal(findCookieValue(h, PREFIX), splitFinder(h, PREFIX));
        assert.equal(findCookieValue(h, `__Host-${PREFIX}`), splitFinder(h, `__Host-${PREFIX}`));
      }),
      { numRuns: 5000 },
    );
  });

  it('gives the split-based answer on every truncation of a real header', () => {
    const real = `theme=dark; ${PREFIX}AbCdEf-_12 ; x${PREFIX}no; lang=en;${PREFIX}second`;
    for (let end = 0; end <= real.length; end++) {
      const cut = real.slice(0, end);
      assert.equal(findCookieValue(cut, PREFIX), splitFinder(cut, PREFIX), JSON.stringify(cut));
      const tail = real.slice(end);
      assert.equal(findCookieValue(tail, PREFIX), splitFinder(tail, PREFIX), JSON.stringify(tail));
    }
  });

  it('gives the split-based answer on oversized headers (thousands of cookies)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3000 }), fc.boolean(), (position, present) => {
        const cookies = Array.from({ length: 3000 }, (_, i) => `c${i}=x${PREFIX}${i}`);
        if (present) cookies.splice(position, 0, `${PREFIX}found`);
        const h = cookies.join('; ');
        const expected = present ? 'found' : undefined;
        assert.equal(splitFinder(h, PREFIX), expected);
        assert.equal(findCookieValue(h, PREFIX), expected);
      }),
      { numRuns: 20 },
    );
  });

  it('takes a pair only where it starts, never inside another value', () => {
    assert.equal(findCookieValue(`a=x${PREFIX}evil`, PREFIX), undefined);
    assert.equal(findCookieValue(`a=x${PREFIX}evil; ${PREFIX}good`, PREFIX), 'good');
    assert.equal(findCookieValue(` \t${PREFIX}v \t; b=1`, PREFIX), 'v');
    assert.equal(findCookieValue(`b=1;${PREFIX}`, PREFIX), '');
  });
});

describe('SessionCookies.find', () => {
  const cookies = new SessionCookies({ keys: [{ id: 'a', secret: 'a'.repeat(32) }] });

  it('finds the same cookie as the split-based finder, by the name of the request', () => {
    fc.assert(
      fc.property(header, fc.boolean(), (h, secure) => {
        const request = { secure, headers: { host: 'app.example', cookie: h } };
        const name = secure ? `__Host-${PREFIX}` : PREFIX;
        assert.equal(cookies.find(request), splitFinder(h, name));
      }),
      { numRuns: 2000 },
    );
  });

  it('reads a repeated Cookie header in order and skips one over 64 KiB', () => {
    const huge = `${PREFIX}big; ` + 'x'.repeat(64 * 1024);
    const request = { secure: false, headers: { cookie: [huge, `a=1; ${PREFIX}second`] } };
    assert.equal(cookies.find(request), 'second');
    const first = { secure: false, headers: { cookie: [`${PREFIX}one`, `${PREFIX}two`] } };
    assert.equal(cookies.find(first), 'one');
  });
});
