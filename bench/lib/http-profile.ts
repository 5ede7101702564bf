/**
 * Profiles of servers under the benchmarks' own load (issue 16), summarised: the samples (taken
 * by bench/lib/profile-server.ts while `runLoad` drives a server, or in process by
 * bench/lib/redis-profile.mjs) split per request by whose code they are in. Two profiles of a
 * pair (a configuration and the floor it is measured against) then say where the microseconds
 * between them go: in the auth step's own code (with the node:crypto calls it makes), or in the
 * framework's and Node's code that both run.
 */
import { readFileSync } from 'node:fs';

/**
 * Who a sample's work is for: the nearest frame on its stack that belongs to application code
 * (the auth step, a dependency, the route or proxy). Node's and V8's own frames are skipped, so
 * a SHA-256 that httpauth asks for, or a header it writes, counts as the auth step's, and the
 * route's `res.end()` as the route's, even when httpauth's middleware is further up the stack
 * (Express's `next()` runs under it).
 */
const OWNERS = {
  auth: "the auth step: httpauth's engine, adapter and store (or http-auth, or the floor's step), with the Node and V8 work it calls",
  deps: 'the framework and other dependencies (ioredis too), with what they call',
  app: "the route, proxy or driver (bench/, @httpauth/gateway's forwarding), with what it calls",
  node: 'Node alone, no application frame on the stack (HTTP parser callbacks, socket writes, timers)',
  gc: 'garbage collector',
  program: 'outside JavaScript (libuv, the profiler)',
} as const;
type Owner = keyof typeof OWNERS;
const SHORT: Readonly<Record<Owner, string>> = {
  auth: 'auth step',
  deps: 'framework',
  app: 'route, proxy or driver',
  node: 'Node alone',
  gc: 'GC',
  program: 'outside JavaScript',
};

/** The auth step's code: httpauth's packages but the gateway's forwarding, http-auth, the floors. */
function isAuthCode(url: string): boolean {
  return (
    (url.includes('/packages/') &&
      !url.includes('/node_modules/') &&
      !url.includes('/packages/gateway/')) ||
    url.includes('/node_modules/http-auth/') ||
    url.endsWith('/bench/servers/floors.mjs') ||
    url.endsWith('/bench/servers/engine-step.mjs')
  );
}

/** The owner a frame stands for, or undefined for Node's and V8's own frames. */
function ownerOf(frame: CallFrame): Owner | undefined {
  const { url } = frame;
  if (url === '' || url.startsWith('node:')) return undefined;
  if (isAuthCode(url)) return 'auth';
  if (url.includes('/node_modules/')) return 'deps';
  return 'app';
}

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

export interface ServerProfile {
  readonly label: string;
  readonly requests: number;
  /** Sampled CPU per request (µs), busy samples only (idle left out). */
  readonly busyUs: number;
  /** Per owner, µs per request. */
  readonly owners: Readonly<Record<Owner, number>>;
  /** Self time in the auth step's own JavaScript, µs per request. */
  readonly authSelfUs: number;
  /** Self time in `writev` (the socket write), µs per request, whoever called it. */
  readonly writevUs: number;
  /** Self time per function (`name file:line`), µs per request. */
  readonly frames: ReadonlyMap<string, number>;
}

function shortUrl(url: string): string {
  return url.replace(/^file:\/\//, '').replace(/^.*\/(packages|node_modules|bench)\//, '$1/');
}

/**
 * Reads a .cpuprofile into per-request figures, counting only the samples taken in `window` (µs
 * of the monotonic clock that both V8's profiler and `process.hrtime` read): the measured load,
 * after start-up and the warm-up load.
 */
export function summariseServerProfile(
  path: string,
  label: string,
  requests: number,
  window: { readonly fromUs: number; readonly toUs: number },
): ServerProfile {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
    startTime: number;
    endTime: number;
  };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const interval = (profile.endTime - profile.startTime) / Math.max(1, profile.samples.length);
  const perRequest = (samples: number) => (samples * interval) / requests;

  const selfCount = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i]!;
    if (at >= window.fromUs && at <= window.toUs) selfCount.set(id, (selfCount.get(id) ?? 0) + 1);
  });
  const counts = Object.fromEntries(Object.keys(OWNERS).map((c) => [c, 0])) as Record<
    Owner,
    number
  >;
  const frames = new Map<string, number>();
  let busy = 0;
  let authSelf = 0;
  let writev = 0;
  for (const [id, count] of selfCount) {
    const frame = byId.get(id)!.callFrame;
    if (frame.url === '' && frame.functionName === '(idle)') continue;
    let owner: Owner | undefined;
    for (
      let cur: number | undefined = id;
      cur !== undefined && owner === undefined;
      cur = parent.get(cur)
    ) {
      owner = ownerOf(byId.get(cur)!.callFrame);
    }
    if (frame.url === '' && frame.functionName === '(garbage collector)') owner = 'gc';
    else if (
      frame.url === '' &&
      (frame.functionName === '(program)' || frame.functionName === '(root)')
    )
      owner = 'program';
    busy += count;
    counts[owner ?? 'node'] += count;
    if (frame.url !== '' && isAuthCode(frame.url)) authSelf += count;
    if (frame.url === '' && frame.functionName === 'writev') writev += count;
    const name = `${frame.functionName || '(anonymous)'}${frame.url === '' ? '' : ` ${shortUrl(frame.url)}:${frame.lineNumber + 1}`}`;
    frames.set(name, (frames.get(name) ?? 0) + perRequest(count));
  }
  const owners = Object.fromEntries(
    Object.entries(counts).map(([c, n]) => [c, perRequest(n)]),
  ) as Record<Owner, number>;
  return {
    label,
    requests,
    busyUs: perRequest(busy),
    owners,
    authSelfUs: perRequest(authSelf),
    writevUs: perRequest(writev),
    frames,
  };
}

const us = (n: number) => n.toFixed(1);

/** Per-request figures of several profiled servers, one column each. */
export function profileTable(profiles: readonly ServerProfile[]): string[] {
  const cells = (f: (p: ServerProfile) => number) => profiles.map((p) => us(f(p))).join(' | ');
  return [
    `| µs per request (sampled) | ${profiles.map((p) => p.label).join(' | ')} |`,
    `|---|${profiles.map(() => '---:').join('|')}|`,
    `| **busy, all of it** | ${cells((p) => p.busyUs)} |`,
    ...Object.entries(OWNERS).map(
      ([key, text]) => `| ${text} | ${cells((p) => p.owners[key as Owner])} |`,
    ),
    `| (of the auth step: self time in its own JavaScript) | ${cells((p) => p.authSelfUs)} |`,
    `| (of all: in the socket write, \`writev\`, whoever called it) | ${cells((p) => p.writevUs)} |`,
    '',
  ];
}

/** Where a configuration's extra microseconds over its floor go: by owner, then by frame. */
export function differenceTable(row: ServerProfile, floor: ServerProfile, top = 10): string[] {
  const names = new Set([...row.frames.keys(), ...floor.frames.keys()]);
  const growth = [...names]
    .map((name) => ({ name, row: row.frames.get(name) ?? 0, floor: floor.frames.get(name) ?? 0 }))
    .map((e) => ({ ...e, delta: e.row - e.floor }))
    .sort((a, b) => b.delta - a.delta)
    .slice(0, top);
  const byOwner = (Object.keys(OWNERS) as Owner[])
    .map((key) => `${SHORT[key]} ${signed(row.owners[key] - floor.owners[key])}`)
    .join('; ');
  return [
    `**${row.label} over ${floor.label}: ${signed(row.busyUs - floor.busyUs)} µs per request** (${byOwner}). The frames whose self time grew most:`,
    '',
    '| Frame | row µs | floor µs | grew by |',
    '|---|---:|---:|---:|',
    ...growth.map(
      (e) =>
        `| \`${e.name.replaceAll('|', '\\|')}\` | ${us(e.row)} | ${us(e.floor)} | ${us(e.delta)} |`,
    ),
    '',
  ];
}

const signed = (n: number) => `${n >= 0 ? '+' : '−'}${us(Math.abs(n))}`;
