/**
 * One result shape and one way to refuse (security-package.ts): Digest and Basic answer every
 * client input with a result (`reject` with a stable code), never a throw or a rejected promise,
 * and the failure events the loop publishes name the scheme that refused.
 */
import { strict as assert } from 'node:assert';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { basic } from '../src/basic/basic.js';
import { encodeBasicToken } from '../src/basic/credentials.js';
import { decodeChallenge } from '../src/digest/challenge.js';
import { digest } from '../src/digest/digest.js';
import { digestCallback } from '../src/digest/sources.js';
import { isHttpAuthError } from '../src/errors.js';
import type { FailureEvent } from '../src/events.js';
import { CHANNEL_FAILURE } from '../src/events.js';
import { createAuthenticator } from '../src/loop/authenticator.js';
import type {
  AcceptContext,
  AuthRequest,
  Credentials,
  SecurityPackage,
} from '../src/security-package.js';
import { MemoryStore } from '../src/store/memory.js';

const REALM = 'api@example.org';
const DIGEST_PARAMS = [
  'username',
  'username*',
  'realm',
  'nonce',
  'uri',
  'response',
  'algorithm',
  'cnonce',
  'opaque',
  'qop',
  'nc',
  'userhash',
] as const;

/** A credential source / verifier that sometimes fails the way custom code does. */
function flakySecret(user: string) {
  if (user === 'boom') throw new Error('database down');
  return user === 'Mufasa' ? { password: 'Circle of Life' } : undefined;
}

function packages(): SecurityPackage[] {
  return [
    digest({
      realm: REALM,
      credentials: digestCallback(flakySecret, {
        resolveUserhash: (userhash) => {
          if (userhash.startsWith('0')) throw new Error('index down');
          return undefined;
        },
      }),
      algorithms: ['SHA-256', 'MD5', 'MD5-sess'],
      qop: ['auth', 'auth-int'],
      userhash: true,
      allowRfc2069: true,
    }),
    basic({
      realm: REALM,
      verify: async (user, password) => {
        if (user === 'boom') throw new Error('directory down');
        return user === 'Mufasa' && password === 'Circle of Life';
      },
    }),
  ];
}

const text = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.stringMatching(/^[0-9a-fA-F]{0,70}$/),
  fc.constantFrom('auth', 'auth-int', 'MD5', 'SHA-256', 'MD5-sess', 'true', '00000001', 'boom'),
);

/** Random credentials of any shape: token68, auth-params, or neither, under any scheme. */
const credentials: fc.Arbitrary<Credentials> = fc.oneof(
  fc.record({ scheme: fc.constantFrom('Digest', 'Basic', 'digest') }),
  fc.record({
    scheme: fc.constantFrom('Digest', 'Basic'),
    token68: fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b).toString('base64')),
      fc
        .tuple(fc.constantFrom('boom', 'Mufasa', '', 'ü'), fc.string({ maxLength: 20 }))
        .map(([user, password]) => encodeBasicToken({ user, password })),
    ),
  }),
  fc.record({
    scheme: fc.constantFrom('Digest', 'Basic'),
    params: fc
      .dictionary(fc.oneof(fc.constantFrom(...DIGEST_PARAMS), fc.string({ maxLength: 6 })), text)
      .map((record) => new Map(Object.entries(record))),
  }),
);

const request: fc.Arbitrary<AuthRequest> = fc.record({
  method: fc.constantFrom('GET', 'POST', ''),
  target: fc.oneof(fc.constant('/dir/index.html'), fc.string({ maxLength: 30 })),
  headers: fc.constant({ host: 'example.org' }),
  httpVersionMajor: fc.constantFrom(1, 2),
  secure: fc.boolean(),
  body: fc.constantFrom(
    undefined,
    async () => Buffer.from('body'),
    async () => {
      throw new Error('stream reset');
    },
    async () => 'not a buffer' as unknown as Buffer,
  ),
});

describe('Digest and Basic accept() resolves for every client input', () => {
  it('random credentials and requests: a reject with a stable code, never a throw', async () => {
    const store = new MemoryStore();
    const [digestPackage, basicPackage] = packages() as [SecurityPackage, SecurityPackage];
    // A real nonce, so some random inputs get past the nonce check into the source and body.
    const [challenge] = digestPackage.challenges(
      { method: 'GET', target: '/', headers: {}, httpVersionMajor: 1, secure: true },
      Date.now(),
    );
    const nonce = decodeChallenge(challenge as string).nonce;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(digestPackage, basicPackage),
        credentials,
        request,
        fc.boolean(),
        async (pkg, creds, req, withNonce) => {
          const params =
            withNonce && creds.params !== undefined
              ? new Map([...creds.params, ['nonce', nonce]])
              : creds.params;
          const context: AcceptContext = {
            request: req,
            handshake: undefined,
            channelBinding: undefined,
            store,
            now: Date.now(),
          };
          const input: Credentials = params === undefined ? creds : { ...creds, params };
          let result;
          try {
            result = await pkg.accept(input, context);
          } catch (error) {
            assert.fail(`${pkg.scheme} accept() threw ${String(error)}`);
          }
          assert.equal(result.type, 'reject', `${pkg.scheme} did not refuse random credentials`);
          if (result.type === 'reject') {
            assert.ok(isHttpAuthError(result.error));
            assert.notEqual(result.error.code, 'ERR_HTTPAUTH_INTERNAL');
          }
        },
      ),
      { numRuns: 1500 },
    );
  });
});

describe('failure events name the scheme that refused', () => {
  const digestRequest = (authorization: string): AuthRequest => ({
    method: 'GET',
    target: '/dir/index.html',
    headers: { authorization },
    httpVersionMajor: 1,
    secure: true,
  });

  const cases: ReadonlyArray<{
    readonly name: string;
    readonly scheme: 'Digest' | 'Basic';
    readonly request: AuthRequest;
    readonly code: string;
  }> = [
    {
      name: 'Digest with a token68 instead of parameters',
      scheme: 'Digest',
      request: digestRequest('Digest abc'),
      code: 'ERR_HTTPAUTH_DIGEST_PARAMS',
    },
    {
      name: 'Digest without the opaque value it was given',
      scheme: 'Digest',
      request: digestRequest(
        `Digest username="Mufasa", realm="${REALM}", nonce="forged", uri="/dir/index.html", ` +
          'response="0123456789abcdef0123456789abcdef", qop=auth, nc=00000001, cnonce="x", ' +
          'algorithm=MD5',
      ),
      code: 'ERR_HTTPAUTH_DIGEST_OPAQUE_MISMATCH',
    },
    {
      name: 'Digest with a realm of another protection space',
      scheme: 'Digest',
      request: digestRequest(
        'Digest username="Mufasa", realm="other", nonce="n", uri="/dir/index.html", ' +
          'response="0123456789abcdef0123456789abcdef", qop=auth, nc=00000001, cnonce="x"',
      ),
      code: 'ERR_HTTPAUTH_DIGEST_REALM_MISMATCH',
    },
    {
      name: 'Basic with a malformed token',
      scheme: 'Basic',
      request: digestRequest('Basic !!!'),
      code: 'ERR_HTTPAUTH_HEADER_MALFORMED',
    },
    {
      name: 'Basic with a token that is not base64 of user:password',
      scheme: 'Basic',
      request: digestRequest('Basic bm9jb2xvbg=='),
      code: 'ERR_HTTPAUTH_BASIC_MALFORMED',
    },
    {
      name: 'Basic with a wrong password',
      scheme: 'Basic',
      request: digestRequest(`Basic ${encodeBasicToken({ user: 'Mufasa', password: 'no' })}`),
      code: 'ERR_HTTPAUTH_BAD_CREDENTIALS',
    },
    {
      name: 'Basic whose verifier fails',
      scheme: 'Basic',
      request: digestRequest(`Basic ${encodeBasicToken({ user: 'boom', password: 'x' })}`),
      code: 'ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED',
    },
    {
      name: 'Basic over plain HTTP',
      scheme: 'Basic',
      request: {
        ...digestRequest(`Basic ${encodeBasicToken({ user: 'Mufasa', password: 'x' })}`),
        secure: false,
      },
      code: 'ERR_HTTPAUTH_INSECURE_TRANSPORT',
    },
  ];

  for (const c of cases) {
    it(`${c.name}: the decision and the event say ${c.scheme}`, async () => {
      const events: FailureEvent[] = [];
      const listener = (event: unknown) => events.push(event as FailureEvent);
      subscribe(CHANNEL_FAILURE, listener);
      try {
        const auth = createAuthenticator({ packages: packages() });
        const decision = await auth.authenticate(c.request);
        assert.equal(decision.type, 'respond');
        if (decision.type !== 'respond') return;
        assert.equal(decision.error.code, c.code);
        // A malformed header never reaches a package: the loop cannot know whose it was.
        const expected = c.code === 'ERR_HTTPAUTH_HEADER_MALFORMED' ? undefined : c.scheme;
        assert.equal(decision.scheme, expected);
        assert.deepEqual(
          events.map((e) => [e.scheme, e.code]),
          [[expected, c.code]],
        );
      } finally {
        unsubscribe(CHANNEL_FAILURE, listener);
      }
    });
  }
});
