import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { hashHex } from '../src/digest/algorithms.js';
import { decodeChallenge } from '../src/digest/challenge.js';
import {
  clientResponse,
  computeHa1,
  computeHa2,
  computeResponse,
  computeUserhash,
} from '../src/digest/compute.js';
import { decodeCredentials, encodeCredentials } from '../src/digest/credentials.js';
import { decodeExtValue, encodeExtValue } from '../src/digest/ext-value.js';
import { parseCredentials } from '../src/grammar/http-auth.js';

// The JSON's shape is documented in fixtures/vectors/README.md; read it loosely typed.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;
interface Vectors {
  rfc2617_3_5: Loose;
  rfc7616_3_9_1: Loose;
  rfc7616_3_9_2: Loose;
}
const vectors = JSON.parse(
  readFileSync(new URL('./fixtures/vectors/digest.json', import.meta.url), 'utf8'),
) as Vectors;

/** The vector's published Authorization header, parsed and decoded as the server does. */
const credentialsOf = (header: string) =>
  decodeCredentials(parseCredentials(header).params as ReadonlyMap<string, string>);

/** The client's response for a vector's inputs with qop=auth (RFC 7616 §3.4.1). */
const responseFor = (hash: 'MD5' | 'SHA-256' | 'SHA-512-256', i: Loose): string =>
  clientResponse({
    hash,
    username: i.username,
    realm: i.realm,
    password: i.password,
    method: i.method,
    uri: i.uri,
    nonce: i.nonce,
    qop: 'auth',
    nc: i.nc,
    cnonce: i.cnonce,
  });

test('RFC 2617 §3.5: HA1, HA2 and response (MD5, password "Circle Of Life")', () => {
  const v = vectors.rfc2617_3_5;
  const i = v.inputs;
  const ha1 = computeHa1('MD5', i.username, i.realm, i.password);
  assert.equal(ha1, v.HA1.value);
  const ha2 = computeHa2('MD5', i.method, i.uri);
  assert.equal(ha2, v.HA2.value);
  const response = computeResponse({
    hash: 'MD5',
    ha1,
    ha2,
    nonce: i.nonce,
    qop: 'auth',
    nc: i.nc,
    cnonce: i.cnonce,
  });
  assert.equal(response, v.response.value);
  // The published header parses to the same values.
  const creds = credentialsOf(v.authorizationHeader);
  assert.equal(creds.response, v.response.value);
  assert.equal(creds.username, i.username);
  assert.equal(creds.algorithm, undefined);
  const challenge = decodeChallenge(v.challenge);
  assert.deepEqual(challenge.qop, ['auth', 'auth-int']);
  assert.equal(challenge.algorithm, 'MD5');
});

for (const hash of ['SHA-256', 'MD5'] as const) {
  test(`RFC 7616 §3.9.1 with ${hash}`, () => {
    const v = vectors.rfc7616_3_9_1;
    const i = v.inputs;
    const expected = v[hash];
    assert.equal(computeHa1(hash, i.username, i.realm, i.password), expected.HA1.value);
    assert.equal(computeHa2(hash, i.method, i.uri), expected.HA2.value);
    const response = responseFor(hash, i);
    assert.equal(response, expected.response.value);
    const creds = credentialsOf(expected.authorizationHeader);
    assert.equal(creds.algorithm, hash);
    assert.equal(creds.response, expected.response.value);
    assert.equal(creds.opaque, i.opaque);
    const challenges = v.challenges.map((c: string) => decodeChallenge(c));
    assert.deepEqual(
      challenges.map((c: { algorithm: string }) => c.algorithm),
      ['SHA-256', 'MD5'],
    );
  });
}

test('RFC 7616 §3.9.2 SHA-512-256 with userhash (erratum 4897 values)', () => {
  const v = vectors.rfc7616_3_9_2;
  const i = v.inputs;
  assert.equal(Buffer.from(i.username, 'utf8').toString('hex'), i.usernameUtf8Hex);
  assert.equal(hashHex('SHA-512-256', 'abc'), v.sha512_256_sanity.value);
  const userhash = computeUserhash('SHA-512-256', i.username, i.realm);
  assert.equal(userhash, v.userhash.value);
  assert.notEqual(userhash, v.userhash_asPublished.value);
  assert.equal(computeHa1('SHA-512-256', i.username, i.realm, i.password), v.HA1.value);
  assert.equal(computeHa2('SHA-512-256', i.method, i.uri), v.HA2.value);
  const response = responseFor('SHA-512-256', i);
  assert.equal(response, v.response.value);
  assert.notEqual(response, v.response_asPublished.value);
  const challenge = decodeChallenge(v.challenge);
  assert.equal(challenge.userhash, true);
  assert.equal(challenge.charsetUtf8, true);
  assert.equal(challenge.algorithm, 'SHA-512-256');
});

test('RFC 7616 §3.9.2 username* ext-value decodes to the UTF-8 name and round-trips', () => {
  const v = vectors.rfc7616_3_9_2;
  assert.equal(decodeExtValue(v.usernameStar.value), v.inputs.username);
  assert.equal(encodeExtValue(v.inputs.username), v.usernameStar.value);
  const header = encodeCredentials({
    username: v.inputs.username,
    extendedUsername: true,
    realm: v.inputs.realm,
    nonce: v.inputs.nonce,
    uri: v.inputs.uri,
    response: v.response.value,
    algorithm: 'SHA-512-256',
    qop: 'auth',
    nc: v.inputs.nc,
    cnonce: v.inputs.cnonce,
  });
  const creds = credentialsOf(header);
  assert.equal(creds.username, v.inputs.username);
  assert.equal(creds.extendedUsername, true);
});
