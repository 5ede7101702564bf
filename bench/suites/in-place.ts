/**
 * Issue 16: what the engine costs in place, on a request that needs nothing of it but a lookup
 * (an NTLM-authenticated keep-alive connection), per framework: the first call of a request
 * against the further calls of the same request.
 *
 * Each server (servers/in-place-app.mjs) runs the framework's one-middleware floor, httpauth's
 * adapter, or a middleware of the same form that asks `authenticateNow()` once or ten times per
 * request. The nine further calls run with the engine's code and data in the CPU's caches, so
 * ten − once is nine warm calls; once − floor is the first call (with `toAuthRequest()`), cold
 * after the framework's own work for the request. The figure is the server's CPU per request
 * (user + system from /proc over the measured load), not req/s: the load generator shares this
 * machine's two cores.
 */
import { assertAnswered, processCpuMicros, runLoad, startChild } from '../lib/load.js';
import { emit, quick, type Row, type Section } from '../lib/suite.js';

const rounds = quick ? 2 : 3;
const duration = quick ? 1 : 5;
const connections = quick ? 8 : 16;
const frameworks = ['node', 'express', 'fastify'] as const;
const NAMES = { node: 'node:http', express: 'Express', fastify: 'Fastify' } as const;
const variants = ['noop', 'adapter', 'once', 'ten'] as const;
const serverScript = new URL('../servers/in-place-app.mjs', import.meta.url).pathname;
const samples = new Map<string, number[]>();

async function measure(framework: string, variant: string): Promise<void> {
  const server = await startChild(process.execPath, [
    serverScript,
    JSON.stringify({ framework, variant }),
  ]);
  try {
    // The floor has no handshake to answer: its requests are the kept ones' (no Authorization).
    const mode = variant === 'noop' ? 'none' : 'ntlm';
    await runLoad({ port: server.port, mode, connections, duration: 1 });
    const before = processCpuMicros(server.child.pid);
    const result = await runLoad({ port: server.port, mode, connections, duration });
    const after = processCpuMicros(server.child.pid);
    // Only the handshake's legs (two per connection) may be refused.
    assertAnswered(`${framework}/${variant}`, result, 2 * connections);
    const key = `${framework}/${variant}`;
    if (!samples.has(key)) samples.set(key, []);
    if (before === undefined || after === undefined) throw new Error('no /proc: no CPU figure');
    samples.get(key)!.push((after - before) / (result.ok + result.non2xx));
  } finally {
    await server.stop();
  }
}

for (let round = 0; round < rounds; round++) {
  for (const framework of frameworks) {
    for (const variant of variants) await measure(framework, variant);
  }
}

const sections: Section[] = frameworks.map((framework) => {
  const name = NAMES[framework];
  const of = (variant: string) => samples.get(`${framework}/${variant}`)!;
  const floor = `${name}, floor: a middleware that only sets a frozen auth object`;
  const perRound = (f: (round: number) => number) => of('noop').map((_, round) => f(round));
  const rows: Row[] = [
    { label: floor, unit: 'µs', samples: of('noop') },
    {
      label: `${name}, httpauth's adapter, NTLM-authenticated keep-alive connection`,
      unit: 'µs',
      samples: of('adapter'),
      ratioTo: floor,
      better: 'lower',
    },
    {
      label: `${name}, the same middleware form: toAuthRequest() + authenticateNow() once`,
      unit: 'µs',
      samples: of('once'),
      ratioTo: floor,
      better: 'lower',
    },
    {
      label: `${name}, the same, authenticateNow() ten times per request`,
      unit: 'µs',
      samples: of('ten'),
      ratioTo: floor,
      better: 'lower',
    },
    {
      label: `${name}: the first call in place (once − floor)`,
      unit: 'µs',
      samples: perRound((r) => of('once')[r]! - of('noop')[r]!),
    },
    {
      label: `${name}: each further call of the same request ((ten − once) / 9)`,
      unit: 'µs',
      samples: perRound((r) => (of('ten')[r]! - of('once')[r]!) / 9),
    },
  ];
  return {
    id: `in-place-${framework}`,
    title: `16. The engine in place, ${name}: server CPU per kept-alive request`,
    note:
      framework === 'node'
        ? `Small JSON route over HTTP, an NTLM-authenticated keep-alive connection (the floor: the same requests, no handshake), autocannon ${connections} connections, ${duration} s per measurement after 1 s of warm-up, ${rounds} rounds, server in its own process (bench/servers/in-place-app.mjs). CPU is the server process's user + system time from /proc over the measured load, divided by its requests. The further calls of a request find the engine's code and data in the CPU's caches; the first finds what the framework's own work for the request left there.`
        : undefined,
    rows,
  };
});
emit(sections);
