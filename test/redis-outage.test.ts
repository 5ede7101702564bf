// Redis goes away under running nodes: requests get 503 + ERR_HTTPAUTH_STORE_UNAVAILABLE +
// Retry-After and never an accepted replay; a frozen Redis (SIGSTOP) is answered within the
// configured timeout; service comes back by itself when Redis does. A node configured with
// fallback: 'local' keeps serving from memory and warns once.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisServer } from './harness/redis.js';
import { startRedis } from './harness/redis.js';
import type {
  DigestChallengeParams,
  HttpResult,
  NodeProcess,
} from '../packages/redis/test/fixtures/nodes.js';
import {
  digestAuthorization,
  get,
  sha256Challenge,
  startNode,
} from '../packages/redis/test/fixtures/nodes.js';

/** Far above the nodes' 300 ms store timeout: tells a bounded answer from a hung request. */
const HANG_GUARD_MS = 15_000;
const POLL_LIMIT_MS = 30_000;

function assertUnavailable(result: HttpResult, what: string): void {
  assert.equal(result.status, 503, `${what}: ${result.status} ${JSON.stringify(result.body)}`);
  assert.equal(result.body.error, 'ERR_HTTPAUTH_STORE_UNAVAILABLE');
  const retryAfter = result.headers['retry-after']?.[0];
  assert.ok(retryAfter !== undefined && /^\d+$/.test(retryAfter), 'Retry-After delay-seconds');
}

async function guarded(request: Promise<HttpResult>): Promise<HttpResult> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('request hung on a frozen Redis')), HANG_GUARD_MS);
  });
  try {
    return await Promise.race([request, hang]);
  } finally {
    clearTimeout(timer);
  }
}

describe('Redis outage under running nodes', () => {
  let redis: RedisServer;
  let nodes: NodeProcess[] = [];
  let a: NodeProcess;
  let b: NodeProcess;
  let local: NodeProcess;
  let challenge: DigestChallengeParams;
  /** The next unused nc for `challenge`. */
  let nc = 1;

  before(async () => {
    // AOF with fsync per write: the replay records survive the restart (docs/several-nodes.md).
    redis = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    const key = randomBytes(32);
    const config = { url: redis.url };
    nodes = await Promise.all([
      startNode({ id: 'A', redis: config, nonceKey: key }),
      startNode({ id: 'B', redis: config, nonceKey: key }),
      startNode({ id: 'L', redis: config, nonceKey: key, fallback: 'local' }),
    ]);
    [a, b, local] = nodes as [NodeProcess, NodeProcess, NodeProcess];
    challenge = sha256Challenge(await get(a.port, '/r'));
  });
  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await redis?.dispose();
  });

  async function recovered(node: NodeProcess): Promise<void> {
    const deadline = Date.now() + POLL_LIMIT_MS;
    for (;;) {
      const result = await get(node.port, '/r', digestAuthorization(challenge, nc++, '/r'));
      if (result.status === 200) return;
      assertUnavailable(result, `while waiting for ${node.id} to recover`);
      if (Date.now() > deadline) assert.fail(`${node.id} did not recover`);
      await sleep(50);
    }
  }

  it('Redis stopped: 503 with Retry-After, no replay accepted; recovery after restart', async () => {
    const accepted = digestAuthorization(challenge, nc++, '/r');
    assert.equal((await get(a.port, '/r', accepted)).status, 200);
    await redis.stop();

    // Fresh credentials and a replay alike: the store cannot be asked, so nothing is accepted.
    assertUnavailable(await guarded(get(b.port, '/r', accepted)), 'replay on B');
    assertUnavailable(await guarded(get(a.port, '/r', accepted)), 'replay on A');
    assertUnavailable(
      await guarded(get(b.port, '/r', digestAuthorization(challenge, nc++, '/r'))),
      'fresh nc on B',
    );
    // Requests without credentials still get their challenge: minting a nonce needs no store.
    assert.equal((await get(b.port, '/r')).status, 401);

    await redis.start();
    await recovered(a);
    await recovered(b);
    // The replay recorded before the outage is still refused after it.
    for (const node of [a, b]) {
      const replay = await get(node.port, '/r', accepted);
      assert.equal(replay.status, 401);
      assert.equal(replay.body.error, 'ERR_HTTPAUTH_DIGEST_NC_REPLAY');
    }
    assert.match(a.stderr(), /Redis store unavailable/);
    assert.match(a.stderr(), /Redis store available again/);
  });

  it('Redis frozen (SIGSTOP): answered 503 within the timeout, recovered after SIGCONT', async () => {
    const accepted = digestAuthorization(challenge, nc++, '/r');
    assert.equal((await get(b.port, '/r', accepted)).status, 200);
    redis.pause();
    try {
      assertUnavailable(await guarded(get(a.port, '/r', accepted)), 'replay on A, Redis frozen');
      assertUnavailable(
        await guarded(get(b.port, '/r', digestAuthorization(challenge, nc++, '/r'))),
        'fresh nc on B, Redis frozen',
      );
    } finally {
      redis.resume();
    }
    await recovered(a);
    const replay = await get(a.port, '/r', accepted);
    assert.equal(replay.status, 401);
    assert.equal(replay.body.error, 'ERR_HTTPAUTH_DIGEST_NC_REPLAY');
  });

  it("fallback: 'local' keeps a node serving during the outage, warns once, and returns to Redis", async () => {
    const before = local.stderr();
    await redis.stop();
    try {
      const during = digestAuthorization(challenge, nc++, '/r');
      const served = await guarded(get(local.port, '/r', during));
      assert.equal(served.status, 200, JSON.stringify(served.body));
      // Its own replay cache still refuses a repeat on this node.
      const repeat = await get(local.port, '/r', during);
      assert.equal(repeat.status, 401);
      assert.equal(repeat.body.error, 'ERR_HTTPAUTH_DIGEST_NC_REPLAY');
      assert.equal(
        (await get(local.port, '/r', digestAuthorization(challenge, nc++, '/r'))).status,
        200,
      );
      // The fail-closed node next to it answers 503 meanwhile.
      assertUnavailable(
        await guarded(get(a.port, '/r', during)),
        'fail-closed node during the outage',
      );
      const warnings =
        local
          .stderr()
          .slice(before.length)
          .match(/FALLING BACK/g) ?? [];
      assert.equal(warnings.length, 1);
    } finally {
      await redis.start();
    }
    await recovered(a);
    // Back on Redis, the local node wrote its count back: the shared nc moved past what it served.
    const deadline = Date.now() + POLL_LIMIT_MS;
    while (!/written back/.test(local.stderr().slice(before.length))) {
      if (Date.now() > deadline) assert.fail('the local node did not return to Redis');
      await sleep(50);
    }
    assert.equal(
      (await get(local.port, '/r', digestAuthorization(challenge, nc++, '/r'))).status,
      200,
    );
  });
});
