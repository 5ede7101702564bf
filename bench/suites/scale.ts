/**
 * Memory and scale (issue 16), bounded in time:
 *
 *  1. Flat memory: N authentications per mechanism (Basic, Digest, NTLM, Negotiate) in process,
 *     each mechanism in its own process (scale-worker.ts): RSS and heap after a full GC at the
 *     start, halfway and at the end, and the slope over the second half. N is 1,000,000 in the
 *     full run (each mechanism stops after 300 s of wall time and says how far it got), 20,000
 *     quick.
 *  2. Many connections: 10,000 keep-alive connections to node:http + NTLM, every one
 *     authenticated, then authenticated requests at a fixed rate spread over all of them
 *     (scale-client.ts); the p99 latency. Both processes get `ulimit -n` raised to the hard limit
 *     (through /bin/sh, since Node cannot raise its own), which needs the hard limit above
 *     10,000; the suite says so when it is not.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runJson } from '../lib/child.mjs';
import { startChild } from '../lib/load.js';
import { emit, quick, type Row, type Section } from '../lib/suite.js';

const WORKER = fileURLToPath(new URL('./scale-worker.ts', import.meta.url));
const CLIENT = fileURLToPath(new URL('./scale-client.ts', import.meta.url));
const SERVER = fileURLToPath(new URL('../servers/app.mjs', import.meta.url));
const MECHANISMS = ['basic', 'digest', 'ntlm', 'negotiate'] as const;
const AUTHENTICATIONS = quick ? 20_000 : 1_000_000;
const LIMIT_MS = quick ? 60_000 : 300_000;
const CONNECTIONS = 10_000;
const RATE = quick ? 1000 : 2000;
const SECONDS = quick ? 3 : 10;
/** Second-half growth that still counts as flat: 16 B per authentication (16 MB per million). */
const FLAT_BYTES_PER_AUTH = 16;

interface Memory {
  rss: number;
  heap: number;
  arrayBuffers: number;
}
interface WorkerResult {
  mechanism: string;
  planned: number;
  done: number;
  elapsedMs: number;
  start: Memory;
  half: Memory & { at: number };
  end: Memory;
}

const MiB = 2 ** 20;
const sections: Section[] = [];

// --- 1. Flat memory ------------------------------------------------------------------------------
const memoryRows: Row[] = [];
const notes: string[] = [];
for (const mechanism of MECHANISMS) {
  const result = (await runJson(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      'tsx',
      WORKER,
      mechanism,
      String(AUTHENTICATIONS),
      String(LIMIT_MS),
    ],
    { timeoutMs: LIMIT_MS + 120_000 },
  )) as WorkerResult;
  const secondHalf = result.done - result.half.at;
  const slope = secondHalf > 0 ? (result.end.rss - result.half.rss) / secondHalf : Number.NaN;
  const heapSlope = secondHalf > 0 ? (result.end.heap - result.half.heap) / secondHalf : Number.NaN;
  const name = mechanism === 'ntlm' ? 'NTLM' : mechanism[0]!.toUpperCase() + mechanism.slice(1);
  const over = `${result.done.toLocaleString('en-US')} authentications`;
  memoryRows.push(
    { label: `${name}: RSS at the start`, unit: 'MiB', samples: [result.start.rss / MiB] },
    { label: `${name}: RSS halfway`, unit: 'MiB', samples: [result.half.rss / MiB] },
    { label: `${name}: RSS at the end (${over})`, unit: 'MiB', samples: [result.end.rss / MiB] },
    {
      label: `${name}: RSS slope over the second half`,
      unit: 'B per authentication',
      samples: [slope],
      // 10,000 authentications (quick) are too few: RSS moves by pages and GC arenas of MiBs.
      ...(quick
        ? {}
        : {
            target: {
              max: FLAT_BYTES_PER_AUTH,
              text: `flat (< ${FLAT_BYTES_PER_AUTH} B per auth)`,
            },
          }),
    },
    {
      label: `${name}: heap slope over the second half`,
      unit: 'B per authentication',
      samples: [heapSlope],
    },
  );
  if (result.done < result.planned) {
    notes.push(
      `${name} stopped after ${Math.round(result.elapsedMs / 1000)} s at ${over} of ${result.planned.toLocaleString('en-US')} (time bound).`,
    );
  }
}
sections.push({
  id: 'scale-memory',
  title: `Memory over ${AUTHENTICATIONS.toLocaleString('en-US')} authentications per mechanism (in process)`,
  note:
    'createAuthenticator with its default MemoryStore, one process per mechanism, RSS and heap after ' +
    'two forced GCs after a warm-up, halfway and at the end. Simulated time: each authentication ' +
    'advances the clock by 2 ms (a node at 500 authentications/s for 2,000 s per million), so ' +
    'replay records (10 min), Digest nonces and cached tickets expire within the run as they do on ' +
    'a long-running server. Basic: 1,000 users; Digest SHA-256: 100 clients, a new nonce every 100 ' +
    'requests each; NTLM: a full NTLMv2 handshake on a new connection each time, closed after it; ' +
    'Negotiate: forged AP-REQs (a new ticket every 40, so the ticket cache reaches its 10,000 bound ' +
    'by 400,000 and the replay window turns over from 300,000). The slope is the RSS ' +
    'change over the second half divided by its authentications.' +
    (notes.length > 0 ? ` ${notes.join(' ')}` : ''),
  rows: memoryRows,
});

// --- 2. 10,000 keep-alive connections ------------------------------------------------------------
const hardLimit = execFileSync('/bin/sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
const softLimit = execFileSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
const needed = CONNECTIONS + 1000;
if (hardLimit !== 'unlimited' && Number(hardLimit) < needed) {
  throw new Error(
    `ulimit -Hn is ${hardLimit}: ${CONNECTIONS} connections need ${needed} descriptors per process`,
  );
}
// Raise the soft limit to the hard one in the child's own shell, then exec node in its place.
const RAISED = 'ulimit -n "$(ulimit -Hn)" && exec "$0" "$@"';
const server = await startChild('/bin/sh', [
  '-c',
  RAISED,
  process.execPath,
  SERVER,
  JSON.stringify({
    framework: 'node',
    auth: 'ntlm',
    connections: {
      maxPendingHandshakes: 20_000,
      maxPendingHandshakesPerClient: 20_000,
      handshakeTimeoutMs: 600_000,
    },
  }),
]);
let client: {
  connections: number;
  requests: number;
  errors: number;
  skipped: number;
  p50: number;
  p99: number;
  max: number;
};
try {
  client = (await runJson(
    '/bin/sh',
    [
      '-c',
      RAISED,
      process.execPath,
      '--import',
      'tsx',
      CLIENT,
      String(server.port),
      String(CONNECTIONS),
      String(RATE),
      String(SECONDS),
    ],
    { timeoutMs: 300_000 },
  )) as typeof client;
} finally {
  await server.stop();
}
if (client.connections !== CONNECTIONS || client.errors > 0) {
  throw new Error(`${client.connections} connections, ${client.errors} failed requests`);
}
sections.push({
  id: 'scale-connections',
  title: `${CONNECTIONS.toLocaleString('en-US')} authenticated keep-alive connections, node:http + NTLM`,
  note:
    `A client process opens ${CONNECTIONS} keep-alive connections and authenticates each with NTLM ` +
    `(the server then holds ${CONNECTIONS} authenticated connections), then sends ${RATE} requests/s ` +
    `for ${SECONDS} s round robin over all of them (open loop, one at a time per connection); ` +
    `latency from write to last byte, measured in the client. ulimit -n raised from ${softLimit} to ` +
    `the hard limit (${hardLimit}) in both processes. ${client.requests} requests, ${client.skipped} ` +
    'not sent because every connection was busy.',
  rows: [
    { label: 'p50 latency', unit: 'ms', samples: [client.p50] },
    {
      label: 'p99 latency',
      unit: 'ms',
      samples: [client.p99],
      target: { max: 10, text: '< 10 ms (issue 16)' },
    },
    { label: 'max latency', unit: 'ms', samples: [client.max] },
  ],
});

emit(sections);
process.exit(0);
