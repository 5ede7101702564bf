// The Digest part of bench/redis.mjs: Digest SHA-256 (qop=auth) requests through core's
// authenticator, memory store vs Redis store, one client and 16 clients in flight. Each client
// has its own nonce (a real 401) and sends nc = 1, 2, 3, ...; the answers are computed before the
// clock starts, so only the server side is measured.
import { createHash, randomBytes } from 'node:crypto';
import { createAuthenticator, digest, digestCallback, MemoryStore } from '@httpauth/core';

const realm = 'bench@example.test';
const password = 'bench-password';
const REQUESTS = 4000;
const sha256 = (text) => createHash('sha256').update(text).digest('hex');
const ha1 = sha256(`bob:${realm}:${password}`);
const request = (authorization) => ({
  method: 'GET',
  target: '/',
  headers: authorization === undefined ? {} : { authorization },
  httpVersionMajor: 1,
  secure: false,
});

/** `clients` clients, each with its own nonce and its requests in nc order. */
const setup = (makeStore, clients, nonceKey) => async (round) => {
  const authenticator = createAuthenticator({
    store: await makeStore(round),
    packages: [digest({ realm, nonceKey, credentials: digestCallback(() => ({ password })) })],
  });
  const perClient = [];
  for (let client = 0; client < clients; client += 1) {
    const challenge = await authenticator.authenticate(request(undefined));
    const header = challenge.headers.find(
      ([name, value]) => name === 'www-authenticate' && /SHA-256/.test(value),
    );
    const nonce = /nonce="([^"]+)"/.exec(header[1])[1];
    const opaque = /opaque="([^"]+)"/.exec(header[1])?.[1];
    perClient.push(
      Array.from({ length: Math.ceil(REQUESTS / clients) }, (_, index) => {
        const nc = (index + 1).toString(16).padStart(8, '0');
        const cnonce = randomBytes(8).toString('hex');
        const response = sha256(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${sha256('GET:/')}`);
        return request(
          `Digest username="bob", realm="${realm}", uri="/", algorithm=SHA-256, ` +
            `nonce="${nonce}", nc=${nc}, cnonce="${cnonce}", qop=auth, response="${response}"` +
            (opaque === undefined ? '' : `, opaque="${opaque}"`),
        );
      }),
    );
  }
  return { authenticator, perClient, step: 0 };
};

/** One request from every client at once; each client's own requests stay in nc order. */
async function batch(state) {
  const wave = state.perClient.map((requests) => requests[state.step]).filter(Boolean);
  if (wave.length === 0) return 0;
  state.step += 1;
  const decisions = await Promise.all(wave.map((one) => state.authenticator.authenticate(one)));
  for (const decision of decisions) {
    if (decision.type !== 'authenticated')
      throw new Error(`Digest refused: ${decision.error.code}`);
  }
  return wave.length;
}

const teardown = (state) => state.authenticator.close();

/** The section's rows, measured with bench/redis.mjs's `rounds` and Redis stores. */
export async function digestSection({ rounds, redisStore }) {
  const nonceKey = randomBytes(32);
  const rows = [];
  for (const clients of [1, 16]) {
    const label = clients === 1 ? 'one client' : `${clients} clients in flight`;
    const memoryLabel = `Digest, memory store, ${label}`;
    rows.push(
      ...(await rounds([
        {
          label: memoryLabel,
          setup: setup(() => new MemoryStore(), clients, nonceKey),
          batch,
          teardown,
          cpu: true,
        },
        {
          label: `Digest, Redis store, ${label}`,
          setup: setup((round) => redisStore(round), clients, nonceKey),
          batch,
          teardown,
          ratioTo: memoryLabel,
          cpu: true,
          server: true,
        },
      ])),
    );
  }
  return {
    id: 'redis-digest',
    title: 'Redis store: Digest SHA-256 requests through the authenticator (in process)',
    note:
      'One round trip per request (the nonce count advanced by a script; its first use also ' +
      'charges the owner quota in the same script).',
    rows,
  };
}
