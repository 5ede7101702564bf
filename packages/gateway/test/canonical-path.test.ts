import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalTarget, matchKey, scanTarget } from '../src/canonical-path.js';
import { PathRules } from '../src/rules.js';

function pathOf(target: string): string {
  const result = canonicalTarget(target);
  assert.ok(result.ok, `${target}: ${result.ok ? '' : result.reason}`);
  return result.path;
}

function refused(target: string): boolean {
  return !canonicalTarget(target).ok;
}

/** A segment made of characters a path may carry, dot segments and encodings included. */
const segment = fc.oneof(
  fc.constantFrom('.', '..', '', 'admin', 'ADMIN', 'public', '%2e', '%2E%2e', 'a%2fb', 'x;y', '~'),
  fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,=:@-]{1,8}$/),
  fc.stringMatching(/^(%[0-9A-Fa-f]{2}|[a-z]){1,6}$/),
);
const target = fc
  .tuple(fc.array(segment, { maxLength: 12 }), fc.option(fc.stringMatching(/^[a-z=&%./]{0,10}$/)))
  .map(([segments, query]) => '/' + segments.join('/') + (query === null ? '' : `?${query}`));

describe('canonical request paths', () => {
  it('reduces the known bypasses to one path, or refuses them', () => {
    const table: [string, string][] = [
      ['/ADMIN/x', '/ADMIN/x'],
      ['http://gw/admin/x', '/admin/x'],
      ['https://gw:8443', '/'],
      ['//admin/x', '/admin/x'],
      ['/./admin/x', '/admin/x'],
      ['/public/../admin/x', '/admin/x'],
      ['/%61dmin/x', '/admin/x'],
      ['/a/b/..', '/a/'],
      ['/a/b/.', '/a/b/'],
      ['/../../x', '/x'],
      ['/a%7eb%2D', '/a~b-'],
      ['/caf%c3%a9', '/caf%C3%A9'],
      ['/a%3bb', '/a%3Bb'],
      ['/a%252e%252e/x', '/a%252e%252e/x'],
      ['/sp ace', '/sp%20ace'],
      ['/\u00e9', '/%E9'],
      ['/', '/'],
    ];
    for (const [input, expected] of table) assert.equal(pathOf(input), expected, input);
    for (const input of [
      '/admin%2fx',
      '/admin%2Fx',
      '/a%5cb',
      '/public/%2e%2e/admin',
      '/public/.%2E/admin',
      '/public/%2e/admin',
      '/a\\..\\admin',
      '/admin;x=1/x',
      '/public/..;/admin',
      '/a%00b',
      '/a%0d%0ab',
      '/a\u0000b',
      '/a%zz',
      '/a%4',
      '*',
      'gw:443',
      '',
      '/a#frag',
      '/\u0100',
      '/admin./x',
      '/admin%20/x',
      '/admin%2e/x',
      '/public/%c0%ae%c0%ae/admin',
      '/public/%C0%AF',
      '/a%e0%80%ae',
      '/a\u00c0\u00ae',
    ])
      assert.ok(refused(input), `${JSON.stringify(input)} should be refused`);
  });

  it('keeps the query exactly as sent', () => {
    const result = canonicalTarget('/./a/../b?x=%2e%2e/../y&z=%2F');
    assert.ok(result.ok);
    assert.equal(result.query, 'x=%2e%2e/../y&z=%2F');
    assert.equal(result.target, '/b?x=%2e%2e/../y&z=%2F');
  });

  it('is idempotent, and its output has no dot or empty segments and only valid characters', () => {
    fc.assert(
      fc.property(target, (input) => {
        const first = canonicalTarget(input);
        if (!first.ok) return;
        const again = canonicalTarget(first.target);
        assert.deepEqual(again, first);
        assert.ok(first.path.startsWith('/'));
        assert.ok(!first.path.includes('//'));
        for (const piece of first.path.split('/')) assert.ok(piece !== '.' && piece !== '..');
        assert.match(first.path, /^(?:[A-Za-z0-9._~!$&'()*+,=:@/-]|%[0-9A-F]{2})*$/);
        // Unreserved characters never stay encoded (RFC 3986 §6.2.2.2).
        for (const [, hex] of first.path.matchAll(/%([0-9A-F]{2})/g))
          assert.doesNotMatch(String.fromCharCode(parseInt(hex!, 16)), /[A-Za-z0-9._~-]/);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the same path however unreserved characters are encoded', () => {
    const plain = fc.stringMatching(/^(\/[A-Za-z0-9_~-]{1,6}){1,6}$/);
    fc.assert(
      fc.property(
        plain,
        fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }),
        (path, flips) => {
          let i = 0;
          const encoded = path.replace(/[A-Za-z0-9_~-]/g, (c) =>
            flips[i++ % flips.length] === true
              ? '%' + c.charCodeAt(0).toString(16).padStart(2, '0')
              : c,
          );
          assert.equal(pathOf(encoded), pathOf(path));
          assert.equal(pathOf(`http://host${encoded}`), pathOf(path));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('never lets a path reach /admin without the /admin rule', () => {
    const rules = new PathRules(
      [
        { prefix: '/public', public: true },
        { prefix: '/admin', users: ['bob'] },
      ],
      'insensitive',
    );
    fc.assert(
      fc.property(target, (input) => {
        const result = canonicalTarget(input);
        if (!result.ok) return;
        const underAdmin = /^\/admin(\/|$)/i.test(result.path);
        const rule = rules.find(result.path);
        if (underAdmin) assert.equal(rule?.prefix, '/admin', input);
        if (rules.match(result.path).public) assert.match(result.path, /^\/public(\/|$)/);
      }),
      { numRuns: 2000 },
    );
  });

  it('public prefixes stay exact-case, restricting ones fold case', () => {
    const rules = new PathRules(
      [
        { prefix: '/public', public: true },
        { prefix: '/admin', users: ['bob'] },
      ],
      'insensitive',
    );
    assert.equal(rules.match('/public/x').public, true);
    assert.equal(rules.match('/Public/x').public, false);
    const alice = { name: 'alice', user: 'alice', mechanism: 'Basic' } as const;
    assert.equal(rules.match('/ADMIN/x').allows({ principal: alice }), false);
    const sensitive = new PathRules([{ prefix: '/admin', users: ['bob'] }], 'sensitive');
    assert.equal(sensitive.match('/ADMIN/x').allows({ principal: alice }), true);
    assert.equal(matchKey('/A%C3', 'insensitive'), '/a%c3');
  });

  it('answers exactly as the segment scan does (the already-canonical shortcut changes nothing)', () => {
    const plain = fc
      .tuple(
        fc.array(fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,=:@;%/\\ -]{0,6}$/), { maxLength: 8 }),
        fc.option(fc.string({ unit: 'binary', maxLength: 12 })),
      )
      .map(([parts, query]) => '/' + parts.join('/') + (query === null ? '' : `?${query}`));
    fc.assert(
      fc.property(fc.oneof(target, plain, fc.string({ unit: 'binary', maxLength: 40 })), (input) =>
        assert.deepEqual(canonicalTarget(input), scanTarget(input), input),
      ),
      { numRuns: 5000 },
    );
    for (const input of [
      '/',
      '/a',
      '/a/',
      '/a.b/c',
      '/a./b',
      '/./a',
      '/a/..',
      '//a',
      '/a//b',
      '/a?x#y',
      '/a?\x01',
    ]) {
      assert.deepEqual(canonicalTarget(input), scanTarget(input), input);
    }
    assert.equal(matchKey('/ADMIN/X', 'insensitive'), '/admin/x');
  });

  it('never throws on random or oversized input, in linear time', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (input) => {
        const result = canonicalTarget(input);
        assert.equal(typeof result.ok, 'boolean');
      }),
      { numRuns: 3000 },
    );
    for (const huge of [
      '/' + 'a/'.repeat(500_000),
      '/' + 'a'.repeat(500_000) + '.',
      '/' + 'ab./'.repeat(200_000) + 'x.',
      '/..'.repeat(300_000) + '/x',
      '/' + '%41'.repeat(300_000),
      '/' + '%'.repeat(300_000),
      'http://' + 'h'.repeat(500_000),
    ]) {
      const started = process.hrtime.bigint();
      canonicalTarget(huge);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      assert.ok(ms < 2000, `${ms} ms for ${huge.length} characters`);
    }
    assert.equal(pathOf('/' + '..'.repeat(1) + '/x'.repeat(1000)).length, 2000);
  });
});
