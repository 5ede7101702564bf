// Kerberos AP-REQ replay across nodes: tokens from MIT's initiator (python3-gssapi) against a
// throwaway MIT KDC; two acceptors ("node A", "node B"), each with its own RedisStore client on
// one redis-server (and on a three-master Redis Cluster). An AP-REQ accepted on A is refused on
// B with KRB_AP_ERR_REPEAT; with Redis down it is refused with STORE_UNAVAILABLE, never accepted.
// Then the same over HTTP: node processes with the Negotiate package, curl --negotiate as client.
import { strict as assert } from 'node:assert';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { KerberosAcceptResult } from '@httpauth/core';
import { KerberosAcceptor } from '@httpauth/core';
import { decodeGssToken, decodeKrbError, KrbErrorCode, TokenId } from '@httpauth/core/wire';
import type { MitKdc } from './harness/mit-kdc.js';
import { startMitKdc } from './harness/mit-kdc.js';
import type { RedisClusterHandle, RedisServer } from './harness/redis.js';
import { startRedis, startRedisCluster } from './harness/redis.js';
import type { NodeProcess } from '../packages/redis/test/fixtures/nodes.js';
import { get, startNode } from '../packages/redis/test/fixtures/nodes.js';
import type { RedisStoreOptions } from '@httpauth/redis';
import { RedisStore } from '@httpauth/redis';

/** Fresh AP-REQs (each a new security context, so a new authenticator) from MIT's GSSAPI. */
const INITIATOR = `
import base64, sys, gssapi
name = gssapi.Name('HTTP@localhost', gssapi.NameType.hostbased_service)
for _ in range(int(sys.argv[1])):
    ctx = gssapi.SecurityContext(name=name, usage='initiate', mech=gssapi.MechType.kerberos)
    print(base64.b64encode(ctx.step()).decode())
`;

let kdc: MitKdc;
let clientEnv: NodeJS.ProcessEnv;

function apReqs(count: number): Buffer[] {
  const out = execFileSync('/usr/bin/python3', ['-c', INITIATOR, String(count)], {
    env: clientEnv,
    encoding: 'utf8',
    timeout: 60_000,
  });
  const tokens = out
    .trim()
    .split('\n')
    .map((line) => Buffer.from(line, 'base64'));
  assert.equal(tokens.length, count);
  for (const token of tokens) assert.equal(decodeGssToken(token).tokenId, TokenId.AP_REQ);
  return tokens;
}

before(async () => {
  kdc = await startMitKdc({
    principals: [{ name: 'alice', password: 'alice-pw-1' }, { name: 'HTTP/localhost' }],
  });
  clientEnv = kdc.kinit('alice', 'alice-pw-1').env;
});
after(async () => {
  await kdc?.stop();
});

interface KerberosNode {
  readonly store: RedisStore;
  accept(token: Buffer): Promise<KerberosAcceptResult>;
}

async function kerberosNode(redis: RedisStoreOptions): Promise<KerberosNode> {
  const store = new RedisStore({
    ...redis,
    commandTimeoutMs: 300,
    probeIntervalMs: 100,
    warn: () => undefined,
  });
  await store.ready(20_000);
  const acceptor = new KerberosAcceptor({ keytab: kdc.keytabPath });
  return {
    store,
    accept: (token) =>
      acceptor.accept(token, { store, now: Date.now(), channelBinding: undefined }),
  };
}

function assertReplayRefused(result: KerberosAcceptResult): void {
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.error.code, 'ERR_HTTPAUTH_KRB_REPLAY');
  // The client is told KRB_AP_ERR_REPEAT in a KRB-ERROR token (RFC 4120 §3.2.3).
  assert.ok(result.responseToken !== undefined);
  const gss = decodeGssToken(result.responseToken);
  assert.equal(gss.tokenId, TokenId.KRB_ERROR);
  assert.equal(decodeKrbError(gss.message).errorCode, KrbErrorCode.KRB_AP_ERR_REPEAT);
}

function sharedChecks(open: () => Promise<RedisStoreOptions>): void {
  let nodeA: KerberosNode;
  let nodeB: KerberosNode;
  before(async () => {
    const options = await open();
    [nodeA, nodeB] = await Promise.all([kerberosNode(options), kerberosNode(options)]);
  });
  after(async () => {
    await nodeA?.store.close();
    await nodeB?.store.close();
  });

  it('an AP-REQ accepted on node A is refused on node B (and on A again)', async () => {
    for (const token of apReqs(3)) {
      const first = await nodeA.accept(token);
      assert.equal(first.ok, true, first.ok ? '' : first.error.code);
      if (first.ok) assert.equal(first.principal.name, 'alice@EXAMPLE.TEST');
      assertReplayRefused(await nodeB.accept(token));
      assertReplayRefused(await nodeA.accept(token));
    }
  });

  it('one AP-REQ sent to both nodes at once is accepted exactly once', async () => {
    for (const token of apReqs(5)) {
      const results = await Promise.all([
        nodeA.accept(token),
        nodeB.accept(token),
        nodeA.accept(token),
        nodeB.accept(token),
      ]);
      assert.equal(results.filter((result) => result.ok).length, 1);
      for (const result of results.filter((r) => !r.ok)) assertReplayRefused(result);
    }
  });
}

describe('Kerberos replay cache shared through one redis-server', () => {
  let redis: RedisServer;
  sharedChecks(async () => {
    redis = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    return { url: redis.url };
  });
  after(async () => {
    await redis?.dispose();
  });

  it('Redis stopped: a fresh AP-REQ and a replay are both refused (STORE_UNAVAILABLE); recovery', async () => {
    const node = await kerberosNode({ url: redis.url });
    try {
      const [accepted, fresh] = apReqs(2) as [Buffer, Buffer];
      assert.equal((await node.accept(accepted)).ok, true);
      await redis.stop();
      for (const token of [accepted, fresh]) {
        const result = await node.accept(token);
        assert.equal(result.ok, false);
        if (!result.ok) assert.equal(result.error.code, 'ERR_HTTPAUTH_STORE_UNAVAILABLE');
      }
      await redis.start();
      const deadline = Date.now() + 30_000;
      for (;;) {
        const result = await node.accept(fresh);
        if (result.ok) break;
        assert.equal(result.error.code, 'ERR_HTTPAUTH_STORE_UNAVAILABLE');
        if (Date.now() > deadline) assert.fail('no recovery');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assertReplayRefused(await node.accept(accepted));
    } finally {
      await node.store.close();
    }
  });
});

describe('Kerberos replay cache shared through a three-master Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  sharedChecks(async () => {
    cluster = await startRedisCluster(3);
    return { cluster: cluster.nodes };
  });
  after(async () => {
    await cluster?.stop();
  });
});

describe('over HTTP: Negotiate nodes sharing one Redis, curl --negotiate as the client', () => {
  let redis: RedisServer;
  let nodes: NodeProcess[] = [];
  before(async () => {
    redis = await startRedis();
    const key = randomBytes(32);
    nodes = await Promise.all(
      ['A', 'B'].map((id) =>
        startNode({ id, redis: { url: redis.url }, nonceKey: key, keytab: kdc.keytabPath }),
      ),
    );
  });
  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await redis?.dispose();
  });

  /** curl --negotiate against `port`: the status and the Authorization header curl sent. */
  function curlNegotiate(port: number): Promise<{ status: number; authorization: string }> {
    return new Promise((resolve, reject) => {
      execFile(
        '/usr/bin/curl',
        [
          '--negotiate',
          '-u',
          ':',
          '-sS',
          '-v',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          `http://localhost:${port}/r`,
        ],
        { env: clientEnv, timeout: 60_000 },
        (error, stdout, stderr) => {
          if (error !== null) return reject(new Error(`curl failed: ${stderr}`));
          const authorization = /^> Authorization: (Negotiate \S+)\r?$/im.exec(stderr)?.[1];
          if (authorization === undefined) return reject(new Error('curl sent no Negotiate token'));
          resolve({ status: Number(stdout), authorization });
        },
      );
    });
  }

  it("curl's AP-REQ accepted by node A is refused when replayed to node B", async () => {
    const [a, b] = nodes as [NodeProcess, NodeProcess];
    const first = await curlNegotiate(a.port);
    assert.equal(first.status, 200);
    for (const node of [b, a]) {
      const replay = await get(node.port, '/r', first.authorization);
      assert.equal(replay.status, 401, `replay on ${node.id}`);
      assert.equal(replay.body.error, 'ERR_HTTPAUTH_KRB_REPLAY');
    }
    // And a fresh token from curl is fine on B: the refusal was the replay cache's doing.
    assert.equal((await curlNegotiate(b.port)).status, 200);
  });

  it('one AP-REQ sent to both nodes at once is accepted exactly once', async () => {
    const [a, b] = nodes as [NodeProcess, NodeProcess];
    for (const token of apReqs(4)) {
      const header = `Negotiate ${token.toString('base64')}`;
      const results = await Promise.all([a, b, a, b].map((node) => get(node.port, '/r', header)));
      assert.equal(results.filter((result) => result.status === 200).length, 1);
      for (const result of results.filter((r) => r.status !== 200)) {
        assert.equal(result.body.error, 'ERR_HTTPAUTH_KRB_REPLAY');
      }
    }
  });
});
