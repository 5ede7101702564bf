/**
 * bench/lib/http-profile.ts: a server's .cpuprofile split per request by whose work each sample
 * is (the nearest application frame on its stack), counting only the measured load's window, and
 * the difference between a configuration and its floor.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { differenceTable, summariseServerProfile } from '../bench/lib/http-profile.js';

const dir = mkdtempSync(join(tmpdir(), 'httpauth-http-profile-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const frame = (functionName: string, url = '', lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
  scriptId: '0',
  columnNumber: 0,
});
const CORE = 'file:///x/packages/core/dist/digest/verify.js';
const EXPRESS = 'file:///x/node_modules/router/index.js';
const ROUTE = 'file:///x/bench/servers/app.mjs';

/**
 * root ─ parserOnIncoming (node:) ─ router next (deps) ─ httpauth verify (core) ─ hash (native)
 *                                                                     └ route (app) ─ writev (native)
 *      ├ (garbage collector)   ├ (idle)   └ (program)
 */
const NODES = [
  { id: 1, callFrame: frame('(root)'), children: [2, 7, 8, 9] },
  { id: 2, callFrame: frame('parserOnIncoming', 'node:_http_server', 1025), children: [3] },
  { id: 3, callFrame: frame('next', EXPRESS, 188), children: [4] },
  { id: 4, callFrame: frame('verify', CORE, 193), children: [5, 6] },
  { id: 5, callFrame: frame('hash'), children: [] },
  { id: 6, callFrame: frame('send', ROUTE, 122), children: [10] },
  { id: 7, callFrame: frame('(garbage collector)'), children: [] },
  { id: 8, callFrame: frame('(idle)'), children: [] },
  { id: 9, callFrame: frame('(program)'), children: [] },
  { id: 10, callFrame: frame('writev'), children: [] },
];

/** A profile sampled every 100 µs from t = 1,000 µs: `before` samples, then `samples`, then `afterSamples`. */
function write(
  name: string,
  samples: number[],
  before: number[] = [],
  afterSamples: number[] = [],
) {
  const all = [...before, ...samples, ...afterSamples];
  const path = join(dir, `${name}.cpuprofile`);
  writeFileSync(
    path,
    JSON.stringify({
      nodes: NODES,
      startTime: 1_000,
      endTime: 1_000 + 100 * all.length,
      samples: all,
      timeDeltas: all.map(() => 100),
    }),
  );
  return {
    path,
    fromUs: 1_000 + 100 * before.length + 1,
    toUs: 1_000 + 100 * (before.length + samples.length),
  };
}

describe('summariseServerProfile', () => {
  it('gives each sample to the nearest application frame, skipping Node and V8 frames', () => {
    // 4 hash (auth), 2 verify self (auth), 3 writev under the route (app), 1 next (deps),
    // 2 parser (Node alone), 1 GC, 1 program, 5 idle; 10 requests.
    const samples = [5, 5, 5, 5, 4, 4, 10, 10, 10, 3, 2, 2, 7, 9, 8, 8, 8, 8, 8];
    const { path, fromUs, toUs } = write('owners', samples);
    const p = summariseServerProfile(path, 'row', 10, { fromUs, toUs });
    assert.equal(p.busyUs, (14 * 100) / 10);
    assert.deepEqual(p.owners, { auth: 60, deps: 10, app: 30, node: 20, gc: 10, program: 10 });
    assert.equal(p.authSelfUs, 20);
    assert.equal(p.writevUs, 30);
    assert.equal(p.frames.get('hash'), 40);
    assert.equal(p.frames.get('verify packages/core/dist/digest/verify.js:194'), 20);
  });

  it('counts only the samples inside the measured window', () => {
    // Warm-up and shutdown samples are all in httpauth's code; the window holds two parser samples.
    const { path, fromUs, toUs } = write('window', [2, 2], [5, 5, 5], [4, 4]);
    const p = summariseServerProfile(path, 'row', 2, { fromUs, toUs });
    assert.equal(p.busyUs, 100);
    assert.equal(p.owners.auth, 0);
    assert.equal(p.owners.node, 100);
  });

  it('reads an empty window as no work, not as a division by zero', () => {
    const { path } = write('empty', [5, 5]);
    const p = summariseServerProfile(path, 'row', 1, { fromUs: 0, toUs: 10 });
    assert.equal(p.busyUs, 0);
  });

  it('refuses a file that is not a profile', () => {
    const path = join(dir, 'broken.cpuprofile');
    writeFileSync(path, '{"nodes": [');
    assert.throws(
      () => summariseServerProfile(path, 'row', 1, { fromUs: 0, toUs: 1 }),
      SyntaxError,
    );
  });
});

describe('differenceTable', () => {
  it('says how much more a row costs than its floor, by owner and by the frames that grew', () => {
    const floor = write('floor', [2, 2, 6, 10]);
    const row = write('row', [2, 2, 6, 10, 5, 5, 4, 10]);
    const lines = differenceTable(
      summariseServerProfile(row.path, 'Digest', 4, row),
      summariseServerProfile(floor.path, 'floor', 4, floor),
    );
    assert.match(
      lines[0]!,
      /^\*\*Digest over floor: \+100\.0 µs per request\*\* \(auth step \+75\.0;/,
    );
    assert.match(lines[0]!, /route, proxy or driver \+25\.0;/);
    assert.equal(lines[4], '| `hash` | 50.0 | 0.0 | 50.0 |');
  });
});
