import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { ERROR_CODES, HttpAuthError, isHttpAuthError, statusForKind } from '../src/errors.js';
import type { ErrorCode } from '../src/errors.js';

const table = await readFile(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

describe('error codes', () => {
  const codes = Object.keys(ERROR_CODES) as ErrorCode[];

  it('are all documented in docs/errors.md with their kind', () => {
    for (const code of codes) {
      const row = table.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
      assert.ok(row, `${code} is missing from docs/errors.md`);
      assert.equal(row.split('|')[2]?.trim(), ERROR_CODES[code].kind, `${code} kind differs`);
    }
  });

  it('documents no code that does not exist', () => {
    const documented = [...table.matchAll(/^\| `(ERR_HTTPAUTH_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    for (const code of documented)
      assert.ok(code !== undefined && code in ERROR_CODES, `${code} is stale`);
  });

  it('follow the naming rule and carry fixed messages', () => {
    for (const code of codes) {
      assert.match(code, /^ERR_HTTPAUTH_[A-Z0-9_]+$/);
      const error = new HttpAuthError(code);
      assert.equal(error.code, code);
      assert.equal(error.message, ERROR_CODES[code].message);
      assert.equal(error.kind, ERROR_CODES[code].kind);
      assert.ok(error instanceof Error);
    }
  });

  it('map kinds to statuses', () => {
    assert.equal(statusForKind('malformed'), 400);
    assert.equal(statusForKind('denied'), 401);
    assert.equal(statusForKind('forbidden'), 403);
    assert.equal(statusForKind('unavailable'), 503);
  });
});

describe('isHttpAuthError across copies of the module', () => {
  it('recognises an error from another copy by its brand, not by a look-alike', async () => {
    // The built package is a second copy of the class, as a second install would be.
    const other = await import('@httpauth/core');
    const foreign = new other.HttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS');
    assert.equal(foreign instanceof HttpAuthError, false);
    assert.equal(isHttpAuthError(foreign), true);
    const lookalike = Object.assign(new Error('x'), {
      name: 'HttpAuthError',
      code: 'ERR_HTTPAUTH_BAD_CREDENTIALS',
      kind: 'denied',
    });
    assert.equal(isHttpAuthError(lookalike), false);
    assert.equal(isHttpAuthError(null), false);
    assert.equal(isHttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS'), false);
  });
});
