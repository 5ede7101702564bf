// Benchmark: what the shared Redis store costs (issues #8 and 16), in process through core's
// authenticator, against the in-memory store measured in the same rounds.
//
//   node bench/redis.mjs [--quick]     (after a build; starts its own redis-server and MIT KDC)
//
// Prints the suite's JSON line (bench/lib/suite.ts), which run.mjs renders. In every round each
// configuration runs once, one after the other, so load from elsewhere on the machine hits them
// alike; round 0 warms up and is not counted; a ratio is the median of the per-round ratios.
//
//  1. The floor: a bare PING through an ioredis client like the store's, one at a time, and the
//     store's add (one SET NX, or the owner-charged script) one at a time and 128 in flight.
//  2. Negotiate requests (SPNEGO + Kerberos AP-REQ from MIT's python3-gssapi, mutual
//     authentication): memory store vs Redis store at 1, 8 and 32 in flight, the floor of one
//     round trip per accept (the memory store plus a bare PING before each add), and the Redis store
//     with ioredis auto-pipelining turned back on (the store's default is off: packages/redis/src/client.ts).
//  3. Digest requests: memory store vs Redis store, one client and 16 clients in flight.
//
// Environment: BENCH_ROUNDS (default 5, quick 2), BENCH_ROUND_MS (default 1000, quick 300),
// BENCH_TOKENS (default 1500, quick 400).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { register } from 'tsx/esm/api';
import { Redis } from 'ioredis';
import { createAuthenticator, MemoryStore, negotiate } from '@httpauth/core';
import { RedisStore } from '@httpauth/redis';
import { digestSection } from './lib/redis-digest.mjs';
import { profileAccepts } from './lib/redis-profile.mjs';
import { makeSpnegoTokens } from './lib/spnego-tokens.mjs';

register();
const { startRedis } = await import('../test/harness/redis.ts');
const { startMitKdc } = await import('../test/harness/mit-kdc.ts');

const quick = process.argv.includes('--quick');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (quick ? 2 : 5));
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? (quick ? 300 : 1000));
const TOKENS = Number(process.env.BENCH_TOKENS ?? (quick ? 400 : 1500));
/** A round also stops after this many operations, so the memory store's map stays small. */
const MAX_OPS_PER_ROUND = 200_000;
const IN_FLIGHT = 128;
const TTL_MS = 300_000;

// Bounded in time whatever happens: a stuck dependency must not hang `npm run bench`.
const guard = setTimeout(() => {
  console.error('bench/redis.mjs: time limit reached');
  process.exit(1);
}, 600_000);
guard.unref();

/** Runs `batch(state, ops)` (which performs some operations and returns their count) for one round. */
async function rate(state, batch, counted) {
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ROUND_MS && ops < MAX_OPS_PER_ROUND) {
    const done = await batch(state, ops);
    if (done === 0) break;
    ops += done;
    elapsed = performance.now() - start;
  }
  counted.ops = ops;
  return (ops * 1000) / elapsed;
}

/** Nanoseconds a process has run on a CPU (Linux schedstat), or undefined elsewhere. */
function cpuNs(pid) {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return undefined;
  }
}

/**
 * Rounds over `variants` ({ label, setup(round), batch, teardown, ratioTo?, target?, unit?,
 * perOp?, cpu? }), each once per round in order; returns the section's rows. `perOp` turns a rate
 * into microseconds per operation (the floor rows). With `cpu`, two more rows per variant: the CPU
 * time of this process and of redis-server per operation. On a shared machine the CPU time is the
 * steadier figure (a process waiting for a core loses wall time, not CPU time), and on two cores
 * the two processes' CPU per request bounds the rate the pair can reach.
 */
async function rounds(variants) {
  const samples = variants.map(() => ({ rate: [], self: [], server: [] }));
  for (let round = 0; round <= ROUNDS; round += 1) {
    for (const [index, variant] of variants.entries()) {
      const state = await variant.setup(round);
      const selfBefore = process.cpuUsage();
      const serverBefore = cpuNs(redis.pid);
      const counted = { ops: 0 };
      const perSecond = await rate(state, variant.batch, counted);
      const self = process.cpuUsage(selfBefore);
      const serverAfter = cpuNs(redis.pid);
      await variant.teardown?.(state);
      if (round === 0) continue;
      samples[index].rate.push(variant.perOp ? 1e6 / perSecond : perSecond);
      samples[index].self.push((self.user + self.system) / counted.ops);
      if (serverBefore !== undefined && serverAfter !== undefined) {
        samples[index].server.push((serverAfter - serverBefore) / 1000 / counted.ops);
      }
    }
  }
  return variants.flatMap((variant, index) => {
    const rows = [
      {
        label: variant.label,
        unit: variant.unit ?? 'ops/s',
        samples: samples[index].rate,
        ...(variant.ratioTo === undefined ? {} : { ratioTo: variant.ratioTo }),
        ...(variant.target === undefined ? {} : { target: variant.target }),
      },
    ];
    if (variant.cpu) {
      rows.push({
        label: `${variant.label}: CPU of this process per request`,
        unit: 'µs',
        samples: samples[index].self,
        ...(variant.ratioTo === undefined
          ? {}
          : { ratioTo: `${variant.ratioTo}: CPU of this process per request` }),
      });
      if (variant.server && samples[index].server.length > 0) {
        rows.push({
          label: `${variant.label}: CPU of redis-server per request`,
          unit: 'µs',
          samples: samples[index].server,
        });
      }
    }
    return rows;
  });
}

const redis = await startRedis();
const kdc = await startMitKdc({
  principals: [{ name: 'alice', password: 'alice-bench-pw' }, { name: 'HTTP/localhost' }],
});
const open = new Set();
/** A store on a fresh prefix (every round starts with an empty replay cache). */
async function redisStore(round, redisOptions = {}) {
  const store = new RedisStore({
    url: redis.url,
    keyPrefix: `bench${round}:${randomBytes(4).toString('hex')}:`,
    redisOptions,
  });
  open.add(store);
  await store.ready();
  return store;
}
const closeStore = async (store) => {
  open.delete(store);
  await store.close();
};

const sections = [];
try {
  // --- 1. The floor ---------------------------------------------------------------------------
  // Many owners, as many clients would be: each store caps the live entries of one owner.
  const owners = Array.from({ length: 4096 }, (_, i) => `krb5:user${i}@BENCH.TEST`);
  const addOne = async (store, ops) => {
    await store.add(`krb5rc:${ops}`, '1', TTL_MS, owners[ops & 4095]);
    return 1;
  };
  const addMany = async (store, ops) => {
    const adds = [];
    for (let i = 0; i < IN_FLIGHT; i += 1)
      adds.push(store.add(`krb5rc:${ops + i}`, '1', TTL_MS, owners[(ops + i) & 4095]));
    await Promise.all(adds);
    return IN_FLIGHT;
  };
  const memory = () => new MemoryStore({ maxEntries: MAX_OPS_PER_ROUND + IN_FLIGHT });
  sections.push({
    id: 'redis-floor',
    title: 'Redis store: the round-trip floor (one at a time, µs per operation)',
    note:
      "A bare PING through an ioredis client with the store's connection settings (no auto-pipelining) " +
      "is the floor of any Redis operation one at a time on this machine; the store's add is one " +
      'round trip (SET NX with the owner quota in the same script).',
    rows: await rounds([
      {
        label: 'PING, ioredis, one at a time',
        unit: 'µs',
        perOp: true,
        setup: async () => {
          const client = new Redis(redis.url, { enableAutoPipelining: false });
          await client.ping();
          return client;
        },
        batch: async (client) => (await client.ping(), 1),
        teardown: (client) => client.disconnect(),
        cpu: true,
        server: true,
      },
      {
        label: 'PING, ioredis, 8 in flight',
        unit: 'µs',
        perOp: true,
        setup: async () => {
          const client = new Redis(redis.url, { enableAutoPipelining: false });
          await client.ping();
          return client;
        },
        batch: async (client) => {
          await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map(() => client.ping()));
          return 8;
        },
        teardown: (client) => client.disconnect(),
        cpu: true,
        server: true,
      },
      {
        label: 'store.add with owner, Redis, one at a time',
        unit: 'µs',
        perOp: true,
        setup: (round) => redisStore(round),
        batch: addOne,
        teardown: closeStore,
        cpu: true,
        server: true,
      },
      {
        label: 'store.add with owner, memory, one at a time',
        unit: 'µs',
        perOp: true,
        setup: memory,
        batch: addOne,
      },
    ]),
  });
  sections.push({
    id: 'redis-adds',
    title: `Redis store: replay-cache adds, ${IN_FLIGHT} in flight`,
    rows: await rounds([
      { label: `adds, memory, ${IN_FLIGHT} in flight`, setup: memory, batch: addMany },
      {
        label: `adds, Redis, ${IN_FLIGHT} in flight`,
        setup: (round) => redisStore(round),
        batch: addMany,
        teardown: closeStore,
        ratioTo: `adds, memory, ${IN_FLIGHT} in flight`,
      },
    ]),
  });

  // --- 2. Negotiate through the authenticator -------------------------------------------------
  const tokens = makeSpnegoTokens(kdc, TOKENS);
  const requests = tokens.map((token) => ({
    method: 'GET',
    target: '/',
    headers: { authorization: `Negotiate ${token}` },
    // A connection per request, as a load balancer spreading requests would give.
    connection: { once: () => undefined },
    httpVersionMajor: 1,
    secure: false,
  }));
  const withStore = (makeStore) => async (round) =>
    createAuthenticator({
      store: await makeStore(round),
      packages: [negotiate({ kerberos: { keytab: kdc.keytabPath }, kerberosOnly: true })],
    });
  /** A sliding window of `inFlight` requests over the next chunk of tokens. */
  const negotiateBatch = (inFlight) => async (authenticator, ops) => {
    if (ops >= requests.length) return 0;
    const chunk = requests.slice(ops, ops + Math.max(64, inFlight * 8));
    let next = 0;
    const worker = async () => {
      while (next < chunk.length) {
        const decision = await authenticator.authenticate(chunk[next++]);
        if (decision.type !== 'authenticated') {
          throw new Error(`Negotiate refused: ${decision.error.code}`);
        }
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    return chunk.length;
  };
  /**
   * The floor of any shared store that needs one Redis round trip per accept (issue 16): the
   * memory store, plus a bare PING through an ioredis client with the store's settings before
   * each add. What the Redis store costs beyond this row is its own work (the script, the keys).
   */
  class PingThenMemoryStore extends MemoryStore {
    constructor(client) {
      super();
      this.client = client;
    }
    async add(key, value, ttlMs, owner) {
      await this.client.ping();
      return super.add(key, value, ttlMs, owner);
    }
  }
  const pingFloor = async () => {
    const client = new Redis(redis.url, { enableAutoPipelining: false });
    await client.ping();
    const authenticator = await withStore(() => new PingThenMemoryStore(client))();
    return Object.assign(authenticator, { pingClient: client });
  };
  const targets = {
    1: { min: 0.5, text: '≥ 0.5x of memory (issue 16)' },
    8: { min: 0.85, text: '≥ 0.85x of memory (issue 16)' },
  };
  const rows = [];
  /** The memory store, the Redis store and the floor, one at a time (profiled below). */
  let oneAtATime = [];
  for (const inFlight of [1, 8, 32]) {
    const label = inFlight === 1 ? 'one at a time' : `${inFlight} in flight`;
    const memoryLabel = `Negotiate, memory store, ${label}`;
    const variants = [
      {
        label: memoryLabel,
        setup: withStore(() => new MemoryStore()),
        batch: negotiateBatch(inFlight),
        teardown: (authenticator) => authenticator.close(),
        cpu: true,
      },
      {
        label: `Negotiate, Redis store, ${label}`,
        setup: withStore((round) => redisStore(round)),
        batch: negotiateBatch(inFlight),
        teardown: (authenticator) => authenticator.close(),
        ratioTo: memoryLabel,
        ...(targets[inFlight] === undefined ? {} : { target: targets[inFlight] }),
        cpu: true,
        server: true,
      },
      {
        label: `Negotiate, floor: memory store + one ioredis PING per accept, ${label}`,
        setup: pingFloor,
        batch: negotiateBatch(inFlight),
        teardown: async (authenticator) => {
          await authenticator.close();
          authenticator.pingClient.disconnect();
        },
        ratioTo: memoryLabel,
        cpu: true,
        server: true,
      },
    ];
    if (!quick) {
      variants.push({
        label: `Negotiate, Redis store with ioredis auto-pipelining, ${label}`,
        setup: withStore((round) => redisStore(round, { enableAutoPipelining: true })),
        batch: negotiateBatch(inFlight),
        teardown: (authenticator) => authenticator.close(),
        ratioTo: memoryLabel,
      });
    }
    rows.push(...(await rounds(variants)));
    if (inFlight === 1) oneAtATime = variants.slice(0, 3);
  }
  // --- 2b. Where an accept's time goes one at a time (full runs only) ------------------------
  // The one-at-a-time rows again, under the profiler: what this process does per accept with
  // each store (waiting for Redis is idle and left out), so the Redis store's cost over the
  // one-PING floor is split by whose code it is in.
  let profileMarkdown;
  if (!quick) {
    const { profileTable, differenceTable } = await import('./lib/http-profile.ts');
    const [memory, redisRow, floor] = await profileAccepts({
      variants: oneAtATime,
      batch: negotiateBatch(1),
      warmup: Math.floor(TOKENS / 5),
    });
    profileMarkdown = [
      '### Profile: Negotiate one at a time, memory store, Redis store and the one-PING floor',
      '',
      `${memory.requests} accepts per store after ${TOKENS - memory.requests} of warm-up (the same tokens, each once per store), under V8's sampling profiler in this process (node:inspector, 100 µs); µs of sampled main-thread time per accept, time waiting for Redis (idle) left out. A sample belongs to the nearest application frame on its stack (bench/lib/http-profile.ts): httpauth's engine and its store, ioredis (a dependency), or the benchmark's driver (the floor's PING is sent from it).`,
      '',
      ...profileTable([memory, redisRow, floor]),
      ...differenceTable(redisRow, floor),
      ...differenceTable(floor, memory),
    ].join('\n');
  }
  sections.push({
    id: 'redis-negotiate',
    title: 'Redis store: Negotiate requests through the authenticator (in process)',
    note:
      'createAuthenticator + negotiate() with MIT-made SPNEGO tokens (mutual authentication, each ' +
      'token once per round); one Redis round trip per accept (the replay record and its owner ' +
      'quota in one script). HTTP parsing and sockets are not included.',
    rows,
  });
  if (profileMarkdown !== undefined) {
    sections.push({
      id: 'redis-negotiate-profile',
      title: 'Profile',
      rows: [],
      markdown: profileMarkdown,
    });
  }

  // --- 3. Digest through the authenticator ------------------------------------------------------
  sections.push(await digestSection({ rounds, redisStore, closeStore }));
} finally {
  for (const store of open) await store.close().catch(() => undefined);
  await kdc.stop();
  await redis.dispose();
}
console.log(JSON.stringify({ sections }));
process.exit(0);
