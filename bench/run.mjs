#!/usr/bin/env node
// httpauth's benchmark suite (issue #6): httpauth side by side with the peers a user would pick
// instead, in one run on one machine. Every figure is a median over rounds with its spread, and
// every comparison a ratio measured within this run; targets are reported, never enforced: the
// exit code is non-zero only when something crashed or answered wrongly.
//
//   node bench/run.mjs            full run (minutes)   -> bench/results/latest.md
//   node bench/run.mjs --quick    a few seconds each   -> bench/results/quick.md  (CI)
//   node bench/run.mjs --only=kerberos,http          a subset of the suites
//   node bench/run.mjs --compare=FILE   (or --compare FILE) also prints now / then per row
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runJson, runText } from './lib/child.mjs';
import {
  compareResults,
  dataComment,
  readResults,
  renderComparison,
  suiteData,
} from './lib/compare.mjs';
import { formatNumber, pairedRatio, summary } from './lib/stats.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const quick = process.argv.includes('--quick');
const onlyArg = process.argv.find((arg) => arg.startsWith('--only='));
const only = onlyArg === undefined ? undefined : new Set(onlyArg.slice(7).split(','));
const compareIndex = process.argv.findIndex(
  (arg) => arg === '--compare' || arg.startsWith('--compare='),
);
const compareFile =
  compareIndex === -1
    ? undefined
    : process.argv[compareIndex].startsWith('--compare=')
      ? process.argv[compareIndex].slice('--compare='.length)
      : process.argv[compareIndex + 1];
if (compareIndex !== -1 && (compareFile === undefined || !existsSync(compareFile))) {
  console.error(`bench: --compare needs an earlier results file (got ${compareFile ?? 'nothing'})`);
  process.exit(2);
}

/** What a results file records about the run: the commit, Node, OpenSSL, the CPU, the date. */
function runMeta(started) {
  const git = (...args) => spawnSync('git', args, { cwd: root, encoding: 'utf8' }).stdout?.trim();
  const commit = git('rev-parse', '--short=12', 'HEAD') || 'unknown';
  const dirty = (git('status', '--porcelain', '--untracked-files=no') ?? '') !== '';
  const cpu = cpus();
  return {
    date: started.toISOString(),
    commit: dirty ? `${commit} (with uncommitted changes)` : commit,
    node: process.version,
    openssl: process.versions.openssl,
    cpu: `${cpu.length} × ${cpu[0]?.model?.trim() ?? 'unknown CPU'}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    loadAverage: loadavg()
      .map((value) => value.toFixed(2))
      .join(' '),
    mode: quick ? 'quick' : 'full',
  };
}

// Debian packages the benchmarks drive besides those of the test suite.
const BENCH_PACKAGES = [
  'krb5-kdc',
  'krb5-admin-server',
  'krb5-user',
  'libkrb5-dev',
  'python3-gssapi',
  'apache2',
  'libapache2-mod-auth-gssapi',
  'nginx',
  'redis-server',
  // the netlogon suite: a Samba AD DC (test/harness/samba-dc.ts) and winbind's ntlm_auth
  'samba',
  'samba-ad-dc',
  'samba-ad-provision',
  'winbind',
  'ldap-utils',
  'ldb-tools',
  // node-gyp builds the kerberos addon: a compiler, make and Python
  'build-essential',
  'python3',
];

/**
 * node-gyp compiles against the running Node's headers, which it looks for next to the binary
 * (PREFIX/include/node) and otherwise downloads from nodejs.org. A Node installed as a bare
 * binary has none, and that download is not always reachable. Then the headers come from
 * Debian's libnode-dev, unpacked into bench/tmp (never installed: it would pull in Debian's own,
 * older `node`). The addon uses N-API only, whose ABI is stable across Node versions, so those
 * headers (an older Node's) build an addon that the running Node loads.
 */
const nodePrefix = dirname(dirname(process.execPath));
const nodeHasHeaders = existsSync(join(nodePrefix, 'include', 'node', 'common.gypi'));

function unpackedNodeHeaders() {
  const dir = join(here, 'tmp', 'node-headers');
  if (existsSync(join(dir, 'usr', 'include', 'node', 'common.gypi'))) return join(dir, 'usr');
  mkdirSync(dir, { recursive: true });
  const download = spawnSync('apt-get', ['download', 'libnode-dev'], {
    cwd: dir,
    encoding: 'utf8',
  });
  const deb = readdirSync(dir).find(
    (name) => name.startsWith('libnode-dev') && name.endsWith('.deb'),
  );
  if (download.status !== 0 || deb === undefined) {
    throw new Error(`apt-get download libnode-dev failed: ${download.stderr}`);
  }
  const unpacked = spawnSync('dpkg-deb', ['-x', deb, '.'], { cwd: dir, encoding: 'utf8' });
  if (unpacked.status !== 0) throw new Error(`dpkg-deb -x ${deb} failed: ${unpacked.stderr}`);
  return join(dir, 'usr');
}

async function ensureSystem() {
  const { ensurePackages, missingPackages } = await import('../scripts/system-deps.mjs');
  const installingApache = missingPackages(['apache2']).length > 0;
  ensurePackages(BENCH_PACKAGES);
  // Debian starts apache2 on install; the benchmark runs its own instance on a private port.
  if (installingApache) spawnSync('service', ['apache2', 'stop'], { stdio: 'ignore' });
}

/**
 * The peers (autocannon, http-auth and the `kerberos` native addon) are not part of the project's
 * install: bench/ is not a workspace, so `npm ci` at the root never compiles anything. The first
 * benchmark run installs them into bench/node_modules from bench/package-lock.json; the addon
 * builds there against libkrb5-dev with the compiler and Python that ensureSystem() installed.
 */
function ensurePeers() {
  const probe = () =>
    spawnSync(
      process.execPath,
      ['-e', "require('kerberos'); require('autocannon'); require('http-auth')"],
      {
        cwd: here,
        encoding: 'utf8',
      },
    );
  if (probe().status === 0) return;
  console.log(
    'Installing the benchmark peers into bench/node_modules (builds the kerberos addon) ...',
  );
  const installed = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--foreground-scripts'], {
    cwd: here,
    stdio: 'inherit',
    env: nodeHasHeaders
      ? process.env
      : { ...process.env, npm_config_nodedir: unpackedNodeHeaders() },
  });
  if (installed.status !== 0 || probe().status !== 0) {
    throw new Error('the benchmark peers could not be installed (see npm output above)');
  }
}

const SUITES = [
  { id: 'kerberos', script: 'suites/kerberos.ts', timeoutMs: 15 * 60_000 },
  { id: 'http', script: 'suites/http.ts', timeoutMs: 30 * 60_000 },
  { id: 'apache', script: 'suites/apache.ts', timeoutMs: 15 * 60_000 },
  { id: 'basic-kerberos', script: 'suites/basic-kerberos.ts', timeoutMs: 10 * 60_000 },
  { id: 'memory', script: 'suites/memory.ts', timeoutMs: 10 * 60_000 },
  // issue 16: flat memory over 1,000,000 authentications per mechanism, 10,000 connections
  { id: 'scale', script: 'suites/scale.ts', timeoutMs: 40 * 60_000 },
  { id: 'gateway', script: 'suites/gateway.ts', timeoutMs: 20 * 60_000 },
  { id: 'netlogon', script: 'suites/netlogon.ts', timeoutMs: 20 * 60_000 },
  { id: 'certificates', script: 'suites/certificates.ts', timeoutMs: 15 * 60_000 },
  // issue 16: the engine's first call of a request against its further calls, per framework
  { id: 'in-place', script: 'suites/in-place.ts', timeoutMs: 10 * 60_000 },
  { id: 's4u', script: 'suites/s4u.ts', timeoutMs: 15 * 60_000 },
  // bench/redis.mjs (issues #8 and 16): the Redis store against the memory store.
  { id: 'redis', script: 'redis.mjs', timeoutMs: 15 * 60_000 },
  { id: 'profile', script: 'suites/profile.ts', timeoutMs: 10 * 60_000, fullOnly: true },
  // issue 16: profiles of the HTTP rows that miss a target, each beside its floor
  { id: 'profile-http', script: 'suites/profile-http.ts', timeoutMs: 15 * 60_000, fullOnly: true },
];

function renderSection(section) {
  const lines = [`### ${section.title}`, ''];
  if (section.note) lines.push(section.note, '');
  lines.push(
    '| Measurement | Median | Spread (min–max) | Ratio (median, min–max) | Target | Met |',
  );
  lines.push('|---|---:|---:|---:|---|:-:|');
  const byLabel = new Map(section.rows.map((row) => [row.label, row]));
  for (const row of section.rows) {
    const s = summary(row.samples);
    const value = `${formatNumber(s.median)} ${row.unit}`;
    const spread = s.n > 1 ? `${formatNumber(s.min)}–${formatNumber(s.max)}` : 'one round';
    let ratioText = '';
    let checked;
    if (row.ratioTo !== undefined) {
      const ref = byLabel.get(row.ratioTo);
      if (ref === undefined) throw new Error(`ratio reference missing: ${row.ratioTo}`);
      const r = pairedRatio(row.samples, ref.samples);
      ratioText = `${r.median.toFixed(2)}x (${r.min.toFixed(2)}–${r.max.toFixed(2)}) of ${row.ratioTo}`;
      checked = r.median;
    } else {
      checked = s.median;
    }
    let met = '';
    if (row.target !== undefined) {
      const ok =
        (row.target.min === undefined || checked >= row.target.min) &&
        (row.target.max === undefined || checked <= row.target.max);
      met = ok ? 'yes' : '**no**';
    }
    lines.push(
      `| ${row.label} | ${value} | ${spread} | ${ratioText} | ${row.target?.text ?? ''} | ${met} |`,
    );
  }
  for (const warning of section.warnings ?? []) lines.push('', `> ${warning}`);
  lines.push('');
  return lines.join('\n');
}

async function main() {
  const started = new Date();
  await ensureSystem();
  ensurePeers();
  const parts = [];
  const dataRows = [];
  const failures = [];
  for (const suite of SUITES) {
    if (only !== undefined && !only.has(suite.id)) continue;
    if (suite.fullOnly && quick) continue;
    const script = join(here, suite.script);
    if (!existsSync(script)) {
      if (suite.optional) {
        parts.push(`### ${suite.id}\n\n_${suite.script} is not there yet: not measured._\n`);
        continue;
      }
      throw new Error(`missing ${script}`);
    }
    const t0 = Date.now();
    process.stdout.write(`[bench] ${suite.id} ...`);
    try {
      const args = quick ? ['--quick'] : [];
      const result = suite.markdown
        ? {
            sections: [
              {
                markdown: await runText(process.execPath, [script], {
                  timeoutMs: suite.timeoutMs,
                  env: { ...process.env, ...(quick ? suite.quickEnv : {}) },
                }),
              },
            ],
          }
        : await runJson(process.execPath, ['--import', 'tsx', script, ...args], {
            timeoutMs: suite.timeoutMs,
          });
      const sections = result.sections ?? [];
      for (const section of sections) parts.push(section.markdown ?? renderSection(section));
      dataRows.push(...suiteData(suite.id, sections));
      console.log(` ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    } catch (error) {
      console.log(' FAILED');
      console.error(error instanceof Error ? error.message : error);
      failures.push(suite.id);
      // The first line says where; the thrown error's own line says what (the table is what a
      // CI log keeps, so both go there).
      const lines = String(error instanceof Error ? error.message : error).split('\n');
      const what = lines.find((line) => /^\s*\w*Error\b/.test(line)) ?? '';
      parts.push(
        `### ${suite.id}\n\n**Failed:** ${lines[0]?.slice(0, 300)} ${what.trim().slice(0, 300)}\n`,
      );
    }
  }
  const meta = runMeta(started);
  const header = [
    `# httpauth benchmark results (${meta.mode} run)`,
    '',
    `${meta.date} · commit ${meta.commit} · Node ${meta.node} · OpenSSL ${meta.openssl} · ${meta.cpu} · ${meta.memory} · load average at the end ${meta.loadAverage}`,
    '',
    'Measured on a machine shared with other work: absolute figures swing between runs; compare the ratios,',
    'which pair rows measured in the same round. Targets are reported, not enforced.',
    '',
  ].join('\n');
  if (compareFile !== undefined) {
    const earlier = readResults(readFileSync(compareFile, 'utf8'));
    parts.push(renderComparison(compareResults(earlier.rows, dataRows), earlier.meta));
  }
  const markdown = `${header}\n${parts.join('\n')}\n${dataComment(meta, dataRows)}`;
  const out = join(here, 'results', quick ? 'quick.md' : 'latest.md');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, markdown);
  console.log(`\n${markdown}\nWritten to ${out}`);
  if (failures.length > 0) {
    console.error(`[bench] failed suites: ${failures.join(', ')}`);
    process.exit(1);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
