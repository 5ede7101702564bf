/**
 * One server under `--cpu-prof` with the `http` and `gateway` suites' load (bench/lib/load.ts),
 * summarised by bench/lib/http-profile.ts. Apart from the summary so that the summary's test
 * needs none of the load generator's dependencies (autocannon lives in bench/node_modules).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summariseServerProfile, type ServerProfile } from './http-profile.js';
import { assertAnswered, runLoad, type LoadMode, type Server } from './load.js';

export interface ProfileTarget {
  readonly label: string;
  /** Starts the server with these extra node arguments (the profiler's). */
  readonly start: (nodeArgs: string[]) => Promise<Server>;
  readonly mode: LoadMode;
  readonly digestMd5?: boolean;
  readonly tokens?: readonly string[];
}

/**
 * One server under `--cpu-prof` (100 µs sampling), a warm-up load, then the suites' load for
 * `seconds`; the profile is written when the server exits. Every response is checked as in the
 * suites.
 */
export async function profileServer(
  target: ProfileTarget,
  options: { seconds: number; warmupSeconds: number; connections: number },
): Promise<ServerProfile> {
  const dir = mkdtempSync(join(tmpdir(), 'httpauth-bench-http-prof-'));
  try {
    const server = await target.start([
      '--cpu-prof',
      `--cpu-prof-dir=${dir}`,
      '--cpu-prof-interval=100',
    ]);
    let requests: number;
    let window: { fromUs: number; toUs: number };
    const load = async (seconds: number) => {
      const result = await runLoad({
        port: server.port,
        mode: target.mode,
        connections: options.connections,
        duration: seconds,
        ...(target.tokens === undefined ? {} : { tokens: target.tokens }),
        ...(target.digestMd5 === true ? { digestMd5: true } : {}),
      });
      assertAnswered(target.label, result, options.connections * 3);
      return result.ok + result.non2xx;
    };
    const nowUs = () => Number(process.hrtime.bigint() / 1000n);
    try {
      // The warm-up load brings the server's code to its optimised state; only the measured
      // load's samples count (runLoad prepares Digest answers before its load starts, so the
      // window opens when the server's first measured request can arrive at the earliest).
      await load(options.warmupSeconds);
      const fromUs = nowUs();
      requests = await load(options.seconds);
      window = { fromUs, toUs: nowUs() };
    } finally {
      await server.stop();
    }
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error(`${target.label}: the server wrote no profile`);
    return summariseServerProfile(join(dir, file), target.label, requests, window);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
