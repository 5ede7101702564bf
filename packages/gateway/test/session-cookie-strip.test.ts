/**
 * The session cookie's removal from the upstream Cookie header (`withoutSessionCookie`) gives
 * the same text as the split-trim-filter-join it replaced, on random, truncated and oversized
 * headers, browser-shaped or not; the session cookie never survives it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sessionCookieNames, withoutSessionCookie } from '../src/session-cookie-strip.js';

const NAME = 'httpauth_session';
const names = sessionCookieNames(NAME);

/** The gateway's removal before this change, verbatim (UpstreamHeaders#withoutSessionCookie). */
function oldWithoutSessionCookie(cookies: string, sessionCookie: string): string {
  const isSession = (c: string) =>
    c.startsWith(sessionCookie + '=') || c.startsWith('__Host-' + sessionCookie + '=');
  if (!cookies.includes(';')) {
    const only = cookies.trim();
    return isSession(only) ? '' : only;
  }
  return cookies
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c !== '' && !isSession(c))
    .join('; ');
}

const piece = fc.constantFrom(
  ';',
  '; ',
  ' ',
  '\t',
  '\u00a0',
  '\n',
  '\u2028',
  '=',
  NAME,
  `${NAME}=`,
  `__Host-${NAME}=`,
  `x${NAME}=`,
  `${NAME}x=`,
  'a=b',
  'Zz-_9',
);
const anyHeader = fc.oneof(
  fc.array(piece, { maxLength: 24 }).map((parts) => parts.join('')),
  fc.string({ maxLength: 64 }),
  fc.string({ unit: 'grapheme', maxLength: 64 }),
);
/** What browsers send: pairs joined by "; ", the session cookie anywhere (or twice). */
const pair = fc.oneof(
  fc.constantFrom(`${NAME}=sealed`, `__Host-${NAME}=sealed`, `x${NAME}=v`, `${NAME}x=v`),
  fc
    .tuple(fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/), fc.stringMatching(/^[^;\s]{0,12}$/))
    .map(([k, v]) => `${k}=${v}`),
);
const browserHeader = fc.array(pair, { minLength: 1, maxLength: 12 }).map((p) => p.join('; '));

describe('withoutSessionCookie', () => {
  it('gives the old answer on browser-shaped and random headers', () => {
    fc.assert(
      fc.property(fc.oneof(browserHeader, anyHeader), (h) => {
        assert.equal(withoutSessionCookie(h, names), oldWithoutSessionCookie(h, NAME));
      }),
      { numRuns: 5000 },
    );
  });

  it('never lets the session cookie through', () => {
    fc.assert(
      fc.property(fc.oneof(browserHeader, anyHeader), (h) => {
        for (const part of withoutSessionCookie(h, names).split('; ')) {
          assert.ok(!part.startsWith(names.plain) && !part.startsWith(names.prefixed), h);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the old answer on every truncation of a browser header', () => {
    const real = `_ga=GA1.1.1; ${NAME}=sealed; theme=dark; __Host-${NAME}=s2; lang=en`;
    for (let end = 0; end <= real.length; end++) {
      for (const h of [real.slice(0, end), real.slice(end)]) {
        assert.equal(withoutSessionCookie(h, names), oldWithoutSessionCookie(h, NAME), h);
      }
    }
  });

  it('gives the old answer on oversized headers (thousands of cookies)', () => {
    const many = Array.from({ length: 3000 }, (_, i) => `c${i}=v${i}`);
    many.splice(1500, 0, `${NAME}=sealed`);
    const h = many.join('; ');
    const expected = oldWithoutSessionCookie(h, NAME);
    assert.equal(withoutSessionCookie(h, names), expected);
    assert.ok(!expected.includes(`${NAME}=`));
    assert.equal(withoutSessionCookie(` ${h}`, names), expected);
  });
});
