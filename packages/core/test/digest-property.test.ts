// Property tests: whatever arrives in a Digest Authorization header, the package throws nothing
// but HttpAuthError, never answers 500, and never authenticates a request it should not.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeChallenge } from '../src/digest/challenge.js';
import { clientResponse } from '../src/digest/compute.js';
import type { DigestCredentialsInput } from '../src/digest/credentials.js';
import { decodeCredentials, encodeCredentials } from '../src/digest/credentials.js';
import { digest } from '../src/digest/digest.js';
import { decodeExtValue } from '../src/digest/ext-value.js';
import { isHttpAuthError } from '../src/errors.js';
import { createAuthenticator } from '../src/loop/authenticator.js';
import { MemoryStore } from '../src/store/memory.js';

const REALM = 'api@example.org';
const PARAM_NAMES = [
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
];

function onlyHttpAuthError(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    assert.ok(isHttpAuthError(error), `unexpected ${String(error)}`);
  }
}

function setup() {
  const store = new MemoryStore();
  const pkg = digest({
    realm: REALM,
    credentials: (user) => (user === 'Mufasa' ? { password: 'Circle of Life' } : undefined),
    algorithms: ['SHA-256', 'MD5-sess'],
    qop: ['auth', 'auth-int'],
    userhash: false,
  });
  const auth = createAuthenticator({ packages: [pkg], store });
  const send = (authorization?: string) =>
    auth.authenticate({
      method: 'POST',
      target: '/dir/index.html',
      headers: authorization === undefined ? {} : { authorization },
      httpVersionMajor: 1,
      secure: false,
      body: async () => Buffer.from('body'),
    });
  return { pkg, store, send };
}

const text = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.stringMatching(/^[0-9a-fA-F]{0,70}$/),
  fc.constantFrom(
    'auth',
    'auth-int',
    'MD5',
    'SHA-256',
    'true',
    'false',
    "UTF-8''%C3%A4",
    '00000001',
  ),
);

describe('Digest parsers only throw HttpAuthError', () => {
  it('decodeCredentials on random parameter maps', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.oneof(fc.constantFrom(...PARAM_NAMES), fc.string({ maxLength: 8 })), text),
        (record) => onlyHttpAuthError(() => decodeCredentials(new Map(Object.entries(record)))),
      ),
      { numRuns: 2000 },
    );
  });

  it('decodeExtValue and decodeChallenge on random text', () => {
    fc.assert(
      fc.property(fc.oneof(text, fc.string({ maxLength: 300 })), (value) => {
        onlyHttpAuthError(() => decodeExtValue(value));
        onlyHttpAuthError(() => decodeChallenge('Digest ' + value));
      }),
      { numRuns: 2000 },
    );
  });

  it('accept() on random parameter maps never authenticates and never throws: it rejects', async () => {
    const { pkg, store } = setup();
    const [challenge] = pkg.challenges(
      { method: 'GET', target: '/', headers: {}, httpVersionMajor: 1, secure: false },
      Date.now(),
    );
    const nonce = decodeChallenge(challenge as string).nonce;
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.constantFrom(...PARAM_NAMES), fc.oneof(text, fc.constant(nonce))),
        async (record) => {
          // accept() resolves for any client input: a refusal is a reject result, never a throw.
          const result = await pkg.accept(
            { scheme: 'Digest', params: new Map(Object.entries(record)) },
            {
              request: {
                method: 'GET',
                target: '/dir/index.html',
                headers: {},
                httpVersionMajor: 1,
                secure: false,
              },
              handshake: undefined,
              channelBinding: undefined,
              store,
              now: Date.now(),
            },
          );
          assert.equal(result.type, 'reject');
          if (result.type === 'reject') assert.ok(isHttpAuthError(result.error));
        },
      ),
      { numRuns: 1000 },
    );
  });
});

/** A valid answer to a fresh challenge, as its parameters. */
async function validInput(
  send: ReturnType<typeof setup>['send'],
  algorithm: 'SHA-256' | 'MD5-sess',
  qop: 'auth' | 'auth-int',
) {
  const first = await send();
  const value = first.headers.find(
    ([n, v]) => n === 'www-authenticate' && v.includes(`algorithm=${algorithm}`),
  );
  assert.ok(value);
  const challenge = decodeChallenge(value[1]);
  const base = {
    username: 'Mufasa',
    realm: REALM,
    nonce: challenge.nonce,
    uri: '/dir/index.html',
    algorithm,
    qop,
    nc: '00000001',
    cnonce: 'c2xpZGU=',
    opaque: challenge.opaque,
  };
  const response = clientResponse({
    hash: algorithm === 'SHA-256' ? 'SHA-256' : 'MD5',
    session: algorithm === 'MD5-sess',
    password: 'Circle of Life',
    method: 'POST',
    body: Buffer.from('body'),
    ...base,
  });
  return { ...base, response } satisfies DigestCredentialsInput;
}

const MUTABLE = [
  'username',
  'realm',
  'nonce',
  'uri',
  'response',
  'cnonce',
  'nc',
  'opaque',
  'qop',
  'algorithm',
] as const;

describe('Mutated Digest credentials never authenticate', () => {
  it('changing any security-relevant parameter fails; the unchanged original then succeeds', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('SHA-256' as const, 'MD5-sess' as const),
        fc.constantFrom('auth' as const, 'auth-int' as const),
        fc.constantFrom(...MUTABLE),
        fc.oneof(fc.string({ minLength: 0, maxLength: 70 }), fc.stringMatching(/^[0-9a-f]{8,64}$/)),
        async (algorithm, qop, name, replacement) => {
          const { send } = setup();
          const input = await validInput(send, algorithm, qop);
          const original = String(input[name]);
          const same =
            name === 'response' || name === 'nc' || name === 'qop' || name === 'algorithm'
              ? replacement.toLowerCase() === original.toLowerCase()
              : replacement === original;
          fc.pre(!same);
          let header: string;
          try {
            header = encodeCredentials({ ...input, [name]: replacement });
          } catch (error) {
            assert.ok(isHttpAuthError(error));
            return;
          }
          const decision = await send(header);
          assert.equal(decision.type, 'respond', `authenticated with ${name} changed`);
          if (decision.type === 'respond') {
            assert.notEqual(decision.error.code, 'ERR_HTTPAUTH_INTERNAL');
            assert.ok([400, 401].includes(decision.status), String(decision.status));
          }
          const good = await send(encodeCredentials(input));
          assert.equal(good.type, 'authenticated');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random edits of the whole header never cause an internal error', async () => {
    const { send } = setup();
    const input = await validInput(send, 'SHA-256', 'auth');
    const header = encodeCredentials(input);
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: header.length }),
        fc.nat({ max: 20 }),
        fc.string({ unit: 'binary', maxLength: 20 }),
        async (at, cut, insert) => {
          const mutated = header.slice(0, at) + insert + header.slice(at + cut);
          const decision = await send(mutated);
          if (decision.type === 'respond') {
            assert.notEqual(decision.error.code, 'ERR_HTTPAUTH_INTERNAL');
            assert.ok([400, 401].includes(decision.status), String(decision.status));
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
