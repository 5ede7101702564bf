// Property tests: random Basic tokens throw nothing but HttpAuthError and never authenticate.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { basic } from '../src/basic/basic.js';
import { decodeBasicToken, encodeBasicToken } from '../src/basic/credentials.js';
import { parseHtpasswd } from '../src/basic/htpasswd.js';
import { isHttpAuthError } from '../src/errors.js';
import { createAuthenticator } from '../src/loop/authenticator.js';

function onlyHttpAuthError(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    assert.ok(isHttpAuthError(error), `unexpected ${String(error)}`);
  }
}

describe('Basic parsing', () => {
  it('decodeBasicToken only throws HttpAuthError on random and base64 input', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 100 }),
          fc.string({ unit: 'binary', maxLength: 60 }),
          fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b).toString('base64')),
        ),
        (token) => onlyHttpAuthError(() => decodeBasicToken(token)),
      ),
      { numRuns: 3000 },
    );
  });

  it('round-trips every user-id without ":" and controls, and any such password', () => {
    const clean = (s: string) =>
      [...s].every((c) => {
        const code = c.charCodeAt(0);
        return code >= 0x20 && !(code >= 0x7f && code < 0xa0);
      });
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => clean(s) && !s.includes(':')),
        fc.string({ unit: 'grapheme', maxLength: 20 }).filter(clean),
        (user, password) => {
          assert.deepEqual(decodeBasicToken(encodeBasicToken({ user, password })), {
            user,
            password,
          });
        },
      ),
    );
  });

  it('parseHtpasswd throws only Error for random files (a start-up config error)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          parseHtpasswd(text);
        } catch (error) {
          assert.ok(error instanceof Error);
        }
      }),
    );
  });
});

describe('Basic package on random headers', () => {
  it('never authenticates a token other than the right one, never answers 500', async () => {
    const pkg = basic({ realm: 'r', verify: (u, p) => u === 'aladdin' && p === 'open sesame' });
    const auth = createAuthenticator({ packages: [pkg] });
    const right = 'Basic ' + encodeBasicToken({ user: 'aladdin', password: 'open sesame' });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 100 }).map((s) => 'Basic ' + s),
          fc.uint8Array({ maxLength: 60 }).map((b) => 'Basic ' + Buffer.from(b).toString('base64')),
          fc
            .tuple(fc.nat({ max: right.length }), fc.nat({ max: 4 }), fc.string({ maxLength: 4 }))
            .map(([at, cut, ins]) => right.slice(0, at) + ins + right.slice(at + cut)),
        ),
        fc.boolean(),
        async (header, secure) => {
          const decision = await auth.authenticate({
            method: 'GET',
            target: '/',
            headers: { authorization: header },
            httpVersionMajor: 1,
            secure,
          });
          if (decision.type === 'authenticated') {
            // Only a header that still carries exactly the right credentials over TLS.
            assert.ok(secure);
            assert.equal(decision.auth.principal.user, 'aladdin');
            const token = header.trim().split(/\s+/)[1] as string;
            assert.deepEqual(decodeBasicToken(token), { user: 'aladdin', password: 'open sesame' });
          } else {
            assert.notEqual(decision.error.code, 'ERR_HTTPAUTH_INTERNAL');
            assert.ok([400, 401].includes(decision.status));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
