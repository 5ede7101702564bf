// Several nodes, one Redis: three separate node processes, each with its own authenticator and
// its own RedisStore client, share Digest nonce counts through one redis-server on loopback.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { RedisServer } from './harness/redis.js';
import { startRedis } from './harness/redis.js';
import type { NodeProcess } from '../packages/redis/test/fixtures/nodes.js';
import {
  digestAuthorization,
  get,
  sha256Challenge,
  startNode,
  USER,
} from '../packages/redis/test/fixtures/nodes.js';

describe('several nodes sharing one Redis (Digest)', () => {
  let redis: RedisServer;
  let nodes: NodeProcess[] = [];
  let a: NodeProcess;
  let b: NodeProcess;
  let c: NodeProcess;
  let stranger: NodeProcess;
  const sharedKey = randomBytes(32);

  before(async () => {
    redis = await startRedis();
    const config = { url: redis.url };
    nodes = await Promise.all([
      startNode({ id: 'A', redis: config, nonceKey: sharedKey }),
      startNode({ id: 'B', redis: config, nonceKey: sharedKey }),
      startNode({ id: 'C', redis: config, nonceKey: sharedKey }),
      // Same Redis, but not given the deployment's nonce key.
      startNode({ id: 'D', redis: config, nonceKey: randomBytes(32) }),
    ]);
    [a, b, c, stranger] = nodes as [NodeProcess, NodeProcess, NodeProcess, NodeProcess];
  });
  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await redis?.dispose();
  });

  it('a nonce minted on A verifies on B; a client moving between nodes with increasing nc is accepted', async () => {
    const first = await get(a.port, '/resource');
    assert.equal(first.status, 401);
    const challenge = sha256Challenge(first);

    const route: [NodeProcess, number][] = [
      [b, 1],
      [a, 2],
      [c, 3],
      [b, 4],
      [c, 7],
      [a, 8],
    ];
    for (const [node, nc] of route) {
      const result = await get(
        node.port,
        '/resource',
        digestAuthorization(challenge, nc, '/resource'),
      );
      assert.equal(result.status, 200, `nc ${nc} on ${node.id}: ${JSON.stringify(result.body)}`);
      assert.deepEqual(result.body, { node: node.id, user: USER, session: null });
    }
  });

  it('a repeated nc is rejected on every other node', async () => {
    const challenge = sha256Challenge(await get(b.port, '/resource'));
    const header = digestAuthorization(challenge, 1, '/resource');
    assert.equal((await get(a.port, '/resource', header)).status, 200);
    for (const node of [a, b, c]) {
      const replay = await get(node.port, '/resource', header);
      assert.equal(replay.status, 401, `replay on ${node.id}`);
      assert.equal(replay.body.error, 'ERR_HTTPAUTH_DIGEST_NC_REPLAY');
    }
    // A lower nc than the highest seen (another node saw 5) is a replay too.
    assert.equal(
      (await get(c.port, '/resource', digestAuthorization(challenge, 5, '/resource'))).status,
      200,
    );
    const lower = await get(b.port, '/resource', digestAuthorization(challenge, 4, '/resource'));
    assert.equal(lower.status, 401);
    assert.equal(lower.body.error, 'ERR_HTTPAUTH_DIGEST_NC_REPLAY');
  });

  it('one request sent to all nodes at once is accepted exactly once', async () => {
    const challenge = sha256Challenge(await get(c.port, '/resource'));
    for (let round = 1; round <= 5; round += 1) {
      const header = digestAuthorization(challenge, round, '/resource');
      const results = await Promise.all(
        [a, b, c, a, b, c].map((node) => get(node.port, '/resource', header)),
      );
      const accepted = results.filter((result) => result.status === 200);
      assert.equal(accepted.length, 1, `round ${round}: ${results.map((r) => r.status).join(',')}`);
      for (const result of results.filter((r) => r.status !== 200)) {
        assert.equal(result.status, 401);
        assert.equal(result.body.error, 'ERR_HTTPAUTH_DIGEST_NC_REPLAY');
      }
    }
  });

  it('a node without the shared nonce key refuses the others’ nonces (the key is what is shared)', async () => {
    const challenge = sha256Challenge(await get(a.port, '/resource'));
    const result = await get(
      stranger.port,
      '/resource',
      digestAuthorization(challenge, 1, '/resource'),
    );
    assert.equal(result.status, 401);
    // The opaque value and the nonce's MAC both derive from the key; either check refuses.
    assert.ok(
      ['ERR_HTTPAUTH_DIGEST_OPAQUE_MISMATCH', 'ERR_HTTPAUTH_DIGEST_NONCE_INVALID'].includes(
        result.body.error ?? '',
      ),
      String(result.body.error),
    );
    // The same credentials on a node with the key are fine: the refusal was the key's doing.
    assert.equal(
      (await get(b.port, '/resource', digestAuthorization(challenge, 1, '/resource'))).status,
      200,
    );
  });

  it('a wrong password is refused on every node', async () => {
    const challenge = sha256Challenge(await get(a.port, '/resource'));
    for (const [index, node] of [a, b, c].entries()) {
      const result = await get(
        node.port,
        '/resource',
        digestAuthorization(challenge, index + 1, '/resource', 'wrong password'),
      );
      assert.equal(result.status, 401);
      assert.equal(result.body.error, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    }
  });

  it('a session revoked on one node is refused on every node', async () => {
    const sessionKey = randomBytes(32);
    const withSessions = await Promise.all([
      startNode({ id: 'S1', redis: { url: redis.url }, nonceKey: sharedKey, sessionKey }),
      startNode({ id: 'S2', redis: { url: redis.url }, nonceKey: sharedKey, sessionKey }),
    ]);
    nodes.push(...withSessions);
    const [s1, s2] = withSessions as [NodeProcess, NodeProcess];
    const challenge = sha256Challenge(await get(s1.port, '/'));
    const login = await get(s1.port, '/', digestAuthorization(challenge, 1, '/'));
    assert.equal(login.status, 200);
    const setCookie = login.headers['set-cookie']?.[0];
    assert.ok(setCookie !== undefined, 'a session cookie is issued');
    const cookie = setCookie.split(';')[0] as string;

    // The cookie alone authenticates on the other node.
    const reused = await get(s2.port, '/', undefined, cookie);
    assert.equal(reused.status, 200);
    assert.deepEqual(reused.body, { node: 'S2', user: USER, session: true });

    const revoke = await get(s2.port, '/revoke', undefined, cookie);
    assert.deepEqual(revoke.body, { node: 'S2', revoked: true });
    for (const node of [s1, s2]) {
      const refused = await get(node.port, '/', undefined, cookie);
      assert.equal(refused.status, 401, `revoked session on ${node.id}`);
    }
  });
});
