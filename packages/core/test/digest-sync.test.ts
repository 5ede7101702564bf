/**
 * The synchronous Digest accept path (a credential source and an nc store that answer at once)
 * against the promise path (an async callback, a store whose advance waits): the same sequence
 * of good and bad requests must get the same decisions, statuses, codes and headers from both,
 * and only the first may answer without a promise (authenticateNow).
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import { algorithmInfo } from '../src/digest/algorithms.js';
import type { DigestChallenge } from '../src/digest/challenge.js';
import { decodeChallenge } from '../src/digest/challenge.js';
import { clientResponse, computeUserhash } from '../src/digest/compute.js';
import { encodeCredentials } from '../src/digest/credentials.js';
import { digest } from '../src/digest/digest.js';
import type { DigestCredentialCallback } from '../src/digest/sources.js';
import { CHANNEL_CHALLENGE, CHANNEL_FAILURE, CHANNEL_SUCCESS } from '../src/events.js';
import type { AuthDecision, Authenticator } from '../src/loop/authenticator.js';
import { authenticateNow, createAuthenticator } from '../src/loop/authenticator.js';
import { isPromiseLike } from '../src/loop/decision.js';
import type { AuthRequest } from '../src/security-package.js';
import { MemoryStore } from '../src/store/memory.js';

const REALM = 'api@example.org';
const USERS: Record<string, string> = { Mufasa: 'Circle of Life', Zira: 'Outsider' };
const NONCE_KEY = randomBytes(32);
const LIFETIME_MS = 60_000;

const syncCallback: DigestCredentialCallback = (user, realm) =>
  realm === REALM && Object.hasOwn(USERS, user) ? { password: USERS[user] as string } : undefined;
const asyncCallback: DigestCredentialCallback = async (user, realm, hash) => {
  await new Promise((resolve) => setImmediate(resolve));
  return syncCallback(user, realm, hash);
};

/** A memory store whose nc record waits (as Redis does): the Digest package takes its promise. */
class WaitingStore extends MemoryStore {
  override async advance(
    key: string,
    count: number,
    ttlMs: number,
    owner?: string,
  ): Promise<boolean> {
    await new Promise((resolve) => setImmediate(resolve));
    return super.advance(key, count, ttlMs, owner);
  }
}

interface Variant {
  readonly name: string;
  readonly auth: Authenticator;
}

function variants(clock: () => number, extra: { oneTimeNonces?: boolean } = {}): Variant[] {
  const make = (name: string, credentials: DigestCredentialCallback, store: MemoryStore) => ({
    name,
    auth: createAuthenticator({
      packages: [
        digest({
          realm: REALM,
          credentials,
          nonceKey: NONCE_KEY,
          nonceLifetimeMs: LIFETIME_MS,
          algorithms: ['SHA-256', 'MD5'],
          ...extra,
        }),
      ],
      store,
      now: clock,
    }),
  });
  return [
    make('sync source, memory store', syncCallback, new MemoryStore({ now: clock })),
    make('async source, memory store', asyncCallback, new MemoryStore({ now: clock })),
    make('sync source, waiting store', syncCallback, new WaitingStore({ now: clock })),
    make('async source, waiting store', asyncCallback, new WaitingStore({ now: clock })),
  ];
}

function request(authorization: string | undefined, over: Partial<AuthRequest> = {}): AuthRequest {
  const headers: Record<string, string> = { host: 'example.org' };
  if (authorization !== undefined) headers.authorization = authorization;
  return { method: 'GET', target: '/r', headers, httpVersionMajor: 1, secure: false, ...over };
}

interface Answer {
  user?: string;
  password?: string;
  nc?: string;
  uri?: string;
  method?: string;
  realm?: string;
  opaque?: string;
  nonce?: string;
  algorithm?: string;
  qop?: 'auth' | 'auth-int';
  userhash?: boolean;
}

const CNONCE = 'MTIzNDU2Nzg5MDEy';

function answer(challenge: DigestChallenge, a: Answer = {}): string {
  const info = algorithmInfo(challenge.algorithm);
  assert.ok(info);
  const user = a.user ?? 'Mufasa';
  const realm = a.realm ?? challenge.realm;
  const uri = a.uri ?? '/r';
  const nonce = a.nonce ?? challenge.nonce;
  const qop = a.qop ?? 'auth';
  const nc = a.nc ?? '00000001';
  const response = clientResponse({
    hash: info.hash,
    session: info.session,
    username: user,
    realm,
    password: a.password ?? USERS[user] ?? 'x',
    method: a.method ?? 'GET',
    uri,
    nonce,
    qop,
    nc,
    cnonce: CNONCE,
  });
  return encodeCredentials({
    username: a.userhash === true ? computeUserhash(info.hash, user, realm) : user,
    userhash: a.userhash,
    realm,
    uri,
    algorithm: a.algorithm ?? challenge.algorithm,
    nonce,
    nc,
    cnonce: CNONCE,
    qop,
    response,
    opaque: a.opaque ?? challenge.opaque,
  });
}

/** A decision with the random parts of fresh challenges (nonces) blanked, for comparison. */
function comparable(decision: AuthDecision): unknown {
  const headers = decision.headers.map(([name, value]) => [
    name,
    value.replace(/nonce="[^"]*"/g, 'nonce="…"'),
  ]);
  if (decision.type === 'authenticated') {
    return { type: decision.type, principal: decision.auth.principal, headers };
  }
  return {
    type: decision.type,
    status: decision.status,
    code: decision.error.code,
    headers,
  };
}

const CHANNELS = [CHANNEL_SUCCESS, CHANNEL_FAILURE, CHANNEL_CHALLENGE];

/** The events one call publishes, without their timing (the one thing that may differ). */
async function decideRecording(auth: Authenticator, req: AuthRequest): Promise<Recorded> {
  const events: unknown[] = [];
  const listeners = CHANNELS.map((channel) => {
    const listener = (message: unknown) => {
      const { durationMs: _timing, ...rest } = message as { durationMs?: number };
      events.push({ channel, ...rest });
    };
    subscribe(channel, listener);
    return listener;
  });
  try {
    const pending = authenticateNow(auth, req);
    return { decision: isPromiseLike(pending) ? await pending : pending, events };
  } finally {
    CHANNELS.forEach((channel, i) => unsubscribe(channel, listeners[i] as (m: unknown) => void));
  }
}

/**
 * Each step's request through every variant; all must decide alike and publish the same events
 * (failure codes, statuses and details, successes, challenges). Returns the decisions.
 */
interface Recorded {
  readonly decision: AuthDecision;
  readonly events: unknown[];
}

async function step(all: Variant[], req: () => AuthRequest): Promise<AuthDecision[]> {
  const runs: Recorded[] = [];
  for (const { auth } of all) runs.push(await decideRecording(auth, req()));
  const first = runs[0] as Recorded;
  assert.equal(first.events.length, 1, 'one event per decision');
  all.forEach(({ name }, i) => {
    const run = runs[i] as Recorded;
    assert.deepEqual(comparable(run.decision), comparable(first.decision), name);
    assert.deepEqual(run.events, first.events, name);
  });
  return runs.map((run) => run.decision);
}

describe('Digest: the synchronous and the promise paths decide alike', () => {
  it('on a sequence of good, replayed, forged and mismatched requests', async () => {
    let now = 1_800_000_000_000;
    const clock = () => now;
    const all = variants(clock);
    const [first] = await step(all, () => request(undefined));
    const challenge = decodeChallenge(
      (first as AuthDecision).headers.find(([n]) => n === 'www-authenticate')?.[1] as string,
    );
    const md5 = decodeChallenge(
      (first as AuthDecision).headers.filter(([n]) => n === 'www-authenticate')[1]?.[1] as string,
    );
    const codes: string[] = [];
    const send = async (a: Answer, over: Partial<AuthRequest> = {}) => {
      const [d] = await step(all, () => request(answer(challenge, a), over));
      codes.push(d?.type === 'respond' ? d.error.code : 'ok');
    };
    await send({ nc: '00000001' });
    await send({ nc: '00000002' });
    await send({ nc: '00000002' }); // replayed
    await send({ nc: '00000001' }); // lower
    await send({ nc: '00000003', password: 'wrong' });
    await send({ nc: '00000003', user: 'Nobody' });
    await send({ nc: '00000003', user: 'Zira' }); // its own counter
    await send({ nc: '00000001', user: 'Zira' }); // replayed for Zira only
    await send({ nc: '00000003', realm: 'other' });
    await send({ nc: '00000003', opaque: 'forged' });
    await send({ nc: '00000003', uri: '/other' });
    await send({ nc: '00000003', method: 'POST' });
    await send({ nc: '00000003', algorithm: 'SHA-512-256' });
    await send({ nc: '00000003', qop: 'auth-int' });
    await send({ nc: '00000003', userhash: true });
    await send({ nc: '00000000' });
    await send({
      nc: '00000003',
      nonce: challenge.nonce.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
    });
    await step(all, () => request('Digest username="Mufasa", realm='));
    await step(all, () => request(`${answer(challenge, { nc: '00000004' })}, nc=00000005`));
    await send({ nc: '00000004', uri: 'http://other.example/r' }); // another host
    await send({ nc: '00000005' });
    await send({ nc: '00000001' }, {});
    // The MD5 challenge shares the nonce: its own algorithm, the same nc record.
    const [md5ok] = await step(all, () => request(answer(md5, { nc: '00000006' })));
    assert.equal(md5ok?.type, 'authenticated');
    now += LIFETIME_MS + 1; // stale: stale=true challenges, whatever the nc
    await send({ nc: '00000007' });
    await send({ nc: '00000007', password: 'wrong' });
    assert.deepEqual(codes, [
      'ok',
      'ok',
      'ERR_HTTPAUTH_DIGEST_NC_REPLAY',
      'ERR_HTTPAUTH_DIGEST_NC_REPLAY',
      'ERR_HTTPAUTH_BAD_CREDENTIALS',
      'ERR_HTTPAUTH_BAD_CREDENTIALS',
      'ok',
      'ERR_HTTPAUTH_DIGEST_NC_REPLAY',
      'ERR_HTTPAUTH_DIGEST_REALM_MISMATCH',
      'ERR_HTTPAUTH_DIGEST_OPAQUE_MISMATCH',
      'ERR_HTTPAUTH_DIGEST_URI_MISMATCH',
      'ERR_HTTPAUTH_BAD_CREDENTIALS',
      'ERR_HTTPAUTH_DIGEST_ALGORITHM',
      'ERR_HTTPAUTH_DIGEST_QOP',
      'ERR_HTTPAUTH_DIGEST_PARAMS',
      'ERR_HTTPAUTH_DIGEST_PARAMS',
      'ERR_HTTPAUTH_DIGEST_NONCE_INVALID',
      'ERR_HTTPAUTH_DIGEST_URI_MISMATCH',
      'ok',
      'ERR_HTTPAUTH_DIGEST_NC_REPLAY',
      'ERR_HTTPAUTH_DIGEST_NONCE_STALE',
      'ERR_HTTPAUTH_BAD_CREDENTIALS',
    ]);
  });

  it('with one-time nonces (the store add waits: the promise path for every variant)', async () => {
    const clock = () => 1_800_000_000_000;
    const all = variants(clock, { oneTimeNonces: true });
    const [first] = await step(all, () => request(undefined));
    const challenge = decodeChallenge(
      (first as AuthDecision).headers.find(([n]) => n === 'www-authenticate')?.[1] as string,
    );
    const [ok] = await step(all, () => request(answer(challenge)));
    assert.equal(ok?.type, 'authenticated');
    const [again] = await step(all, () => request(answer(challenge, { nc: '00000002' })));
    assert.equal(again?.type === 'respond' && again.error.code, 'ERR_HTTPAUTH_DIGEST_NONCE_STALE');
  });

  it('answers without a promise only when the source and the store both answer at once', async () => {
    const clock = () => 1_800_000_000_000;
    const all = variants(clock);
    const [first] = await step(all, () => request(undefined));
    const challenge = decodeChallenge(
      (first as AuthDecision).headers.find(([n]) => n === 'www-authenticate')?.[1] as string,
    );
    const shapes = all.map(({ auth }) => {
      const good = authenticateNow(auth, request(answer(challenge, { nc: '00000001' })));
      const bad = authenticateNow(
        auth,
        request(answer(challenge, { nc: '00000002', password: 'x' })),
      );
      return [isPromiseLike(good), isPromiseLike(bad)];
    });
    assert.deepEqual(shapes, [
      [false, false],
      [true, true],
      [true, false], // a refused response never reaches the store
      [true, true],
    ]);
    // authenticate() keeps its promise for every caller.
    assert.ok(isPromiseLike((all[0] as Variant).auth.authenticate(request(undefined))));
  });
});
