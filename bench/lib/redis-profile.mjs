// Profiles of the Redis suite's one-at-a-time Negotiate rows (issue 16): the memory store, the
// Redis store and the floor of one bare PING per accept, each under V8's sampling profiler in
// this process (node:inspector) for the same number of accepts after a warm-up, split per accept
// by whose code each sample is in (bench/lib/http-profile.ts). Time spent waiting for Redis is
// idle and left out: what remains is this process's own work per accept.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * Runs `batch(state, ops)` (which performs some accepts from `ops` on and returns their count,
 * 0 when no token is left) for `warmup` accepts, then every accept left under the profiler, per
 * variant; each variant's `setup(round)` and `teardown(state)` as in bench/redis.mjs's rounds.
 */
export async function profileAccepts({ variants, batch, warmup }) {
  const { summariseServerProfile } = await import('./http-profile.ts');
  const dir = mkdtempSync(join(tmpdir(), 'httpauth-bench-redis-prof-'));
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    const profiles = [];
    for (const [index, variant] of variants.entries()) {
      const state = await variant.setup(1000 + index);
      try {
        let ops = 0;
        while (ops < warmup) {
          const done = await batch(state, ops);
          if (done === 0)
            throw new Error(`${variant.label}: no tokens left after ${ops} of warm-up`);
          ops += done;
        }
        const measuredFrom = ops;
        await session.post('Profiler.start');
        const fromUs = nowUs();
        // Every token left, each once (the replay cache refuses a second use).
        for (let done = await batch(state, ops); done > 0; done = await batch(state, ops)) {
          ops += done;
        }
        const toUs = nowUs();
        const end = ops;
        const { profile } = await session.post('Profiler.stop');
        const file = join(dir, `${index}.cpuprofile`);
        writeFileSync(file, JSON.stringify(profile));
        profiles.push(
          summariseServerProfile(file, variant.label, end - measuredFrom, { fromUs, toUs }),
        );
      } finally {
        await variant.teardown(state);
      }
    }
    return profiles;
  } finally {
    session.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}
