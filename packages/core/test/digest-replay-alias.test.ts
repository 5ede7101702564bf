/**
 * Digest replay through another spelling of the user name (RFC 7616 §3.4.1, §5.4).
 *
 * The response covers the user name only through H(A1). A source that answers with a stored HA1
 * finds the same account under several spellings (a directory compares names without case), so
 * `username="ALICE"` verifies with alice's captured response unchanged. Nonce counts kept per
 * spelling would then give every spelling a fresh counter: one captured request replayed once
 * per spelling. The count must belong to the account (its secret), not to the name as sent.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { algorithmInfo } from '../src/digest/algorithms.js';
import { decodeChallenge } from '../src/digest/challenge.js';
import { clientResponse, computeHa1 } from '../src/digest/compute.js';
import { encodeCredentials } from '../src/digest/credentials.js';
import { digest } from '../src/digest/digest.js';
import type { DigestCredentialCallback } from '../src/digest/sources.js';
import type { AuthDecision } from '../src/loop/authenticator.js';
import { createAuthenticator } from '../src/loop/authenticator.js';
import { MemoryStore } from '../src/store/memory.js';
import { authRequest } from '../../../test/support/auth-request.js';

const REALM = 'api@example.org';
const TO_X = { target: '/x', headers: { host: 'example.org' } };
const PASSWORDS: Record<string, string> = { alice: 'alice password', bob: 'bob password' };

/** A directory-like source: names compared without case, the stored HA1 of the account. */
const caseInsensitiveHa1: DigestCredentialCallback = (user, realm, hash) => {
  const account = user.toLowerCase();
  const password = PASSWORDS[account];
  return password === undefined ? undefined : { ha1: computeHa1(hash, account, realm, password) };
};

function setup() {
  const now = () => 1_800_000_000_000;
  const auth = createAuthenticator({
    packages: [digest({ realm: REALM, credentials: caseInsensitiveHa1, algorithms: ['SHA-256'] })],
    store: new MemoryStore({ now }),
    now,
  });
  const send = (authorization?: string) => auth.authenticate(authRequest(authorization, TO_X));
  return { send };
}

function challengeOf(decision: AuthDecision) {
  assert.equal(decision.type, 'respond');
  const value = decision.type === 'respond' ? decision.headers[0]?.[1] : undefined;
  assert.ok(value !== undefined);
  return decodeChallenge(value);
}

/** alice's request for a challenge, with `username` spelled as given. */
function request(
  challenge: ReturnType<typeof decodeChallenge>,
  username: string,
  nc: string,
  cnonce: string,
): string {
  const info = algorithmInfo(challenge.algorithm);
  assert.ok(info);
  const response = clientResponse({
    hash: info.hash,
    session: info.session,
    username: 'alice',
    realm: REALM,
    password: PASSWORDS.alice as string,
    method: 'GET',
    uri: '/x',
    nonce: challenge.nonce,
    qop: 'auth',
    nc,
    cnonce,
  });
  return encodeCredentials({
    username,
    realm: REALM,
    uri: '/x',
    algorithm: challenge.algorithm,
    nonce: challenge.nonce,
    nc,
    cnonce,
    qop: 'auth',
    response,
    opaque: challenge.opaque,
  });
}

function assertCode(decision: AuthDecision, code: string | undefined): void {
  assert.equal(decision.type === 'respond' ? decision.error.code : undefined, code);
}

describe('Digest nonce counts belong to the account, not to the spelling of its name', () => {
  it('a captured request replayed as ALICE, Alice or aLiCe is a replay', async () => {
    const { send } = setup();
    const challenge = challengeOf(await send());
    const cnonce = randomBytes(12).toString('base64');
    const captured = request(challenge, 'alice', '00000001', cnonce);
    assertCode(await send(captured), undefined);
    for (const spelling of ['ALICE', 'Alice', 'aLiCe']) {
      assertCode(
        await send(request(challenge, spelling, '00000001', cnonce)),
        'ERR_HTTPAUTH_DIGEST_NC_REPLAY',
      );
    }
    // The account's next count still works, and another account keeps its own counter.
    assertCode(await send(request(challenge, 'Alice', '00000002', cnonce)), undefined);
  });

  it('another account still cannot burn the nonce', async () => {
    const { send } = setup();
    const challenge = challengeOf(await send());
    const info = algorithmInfo(challenge.algorithm);
    assert.ok(info);
    const cnonce = 'b0b';
    const bobBurns = encodeCredentials({
      username: 'bob',
      realm: REALM,
      uri: '/x',
      algorithm: challenge.algorithm,
      nonce: challenge.nonce,
      nc: 'ffffffff',
      cnonce,
      qop: 'auth',
      response: clientResponse({
        hash: info.hash,
        session: info.session,
        username: 'bob',
        realm: REALM,
        password: PASSWORDS.bob as string,
        method: 'GET',
        uri: '/x',
        nonce: challenge.nonce,
        qop: 'auth',
        nc: 'ffffffff',
        cnonce,
      }),
      opaque: challenge.opaque,
    });
    assertCode(await send(bobBurns), undefined);
    assertCode(await send(request(challenge, 'alice', '00000001', 'a')), undefined);
  });
});
