/**
 * Profiles of the Kerberos accept path: one --cpu-prof pass per enctype of (a) httpauth's raw
 * KerberosAcceptor and (b) the whole engine path (createAuthenticator + negotiate(): header in,
 * decision with the AP-REP out), over MIT-made SPNEGO tokens (bench/suites/kerberos-worker.mjs),
 * summarised by phase: the functions of a phase on the stack, in µs of sampled CPU per accept, and
 * the hottest self-time frames. Full runs only; the summary feeds bench/README.md.
 *
 * BENCH_PROFILE_BEFORE=<path of another checkout's bench/suites/kerberos-worker.mjs> profiles that
 * checkout too, on the same tokens in the same run, for a before/after table.
 *
 * Then, with no profiler attached, each phase timed alone on the same tokens
 * (bench/lib/kerberos-phases.mjs): what each step costs, next to the whole acceptor and engine.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summariseProfile } from '../lib/profile-summary.mjs';
import { BENCH_ENCTYPES, startBenchRealm } from '../lib/realm.js';
import { emit, type Section } from '../lib/suite.js';

const WORKER = new URL('./kerberos-worker.mjs', import.meta.url).pathname;
const PHASES = new URL('../lib/kerberos-phases.mjs', import.meta.url).pathname;
const TOKENS = 12_200;
const WARMUP = 200;

/** A phase: its functions (`name` or `name@file`); 'sum' for disjoint ones, else the max. */
interface Phase {
  readonly label: string;
  readonly frames: readonly string[];
  readonly combine?: 'sum';
}

const ACCEPTOR_PHASES: readonly Phase[] = [
  {
    label: 'the acceptor, all of it (GSS framing, AP-REQ, checks, AP-REP)',
    frames: ['#verify', 'decodeApReq', 'decodeGssToken'],
    combine: 'sum',
  },
  {
    label: '· AP-REQ + Authenticator DER decoding',
    frames: ['decodeApReq', 'decodeKerberosAuthenticator', 'decodeGssToken'],
    combine: 'sum',
  },
  { label: '· ticket cache lookup (SHA-256 of the ticket)', frames: ['keyOf'] },
  { label: '· authenticator decrypt + integrity check', frames: ['decrypt@crypto/aes'] },
  { label: '· replay cache (hash + store add)', frames: ['recordAuthenticator'] },
  { label: '· AP-REP: encode, encrypt + checksum, GSS framing', frames: ['establishContext'] },
  { label: '  · of which encrypt + checksum', frames: ['encrypt@crypto/aes'] },
  { label: '· principal / result building', frames: ['clientPrincipal'] },
];

const ENGINE_PHASES: readonly Phase[] = [
  { label: 'header: Authorization parsing (token68)', frames: ['parseCredentials'] },
  { label: 'base64: strict check + decode', frames: ['decodeToken@negotiate/negotiate'] },
  {
    label: 'SPNEGO NegTokenInit decoding',
    frames: ['decodeNegTokenInit', 'classifyNegotiateToken'],
    combine: 'sum',
  },
  ...ACCEPTOR_PHASES,
  { label: 'SPNEGO NegTokenResp encoding + base64', frames: ['resp@negotiate/spnego-exchange'] },
  {
    label: 'decision: completion, principal naming, admit',
    frames: ['completedResult', 'complete@loop/accept-phase'],
    combine: 'sum',
  },
  { label: 'decision event (diagnostics_channel publish)', frames: ['publishDecision'] },
];

function profileOnce(
  worker: string,
  mode: 'ours' | 'engine',
  tokens: string,
  keytab: string,
  env: NodeJS.ProcessEnv,
  phases: readonly Phase[],
): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'httpauth-bench-prof-'));
  try {
    const args = ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=100', worker];
    // One pass, as the per-accept figures below assume (no steady-state warm-up passes).
    const run = spawnSync(process.execPath, [...args, mode, tokens, keytab, String(WARMUP), '1'], {
      encoding: 'utf8',
      env: { ...env, BENCH_STEADY_STATE_PASSES: '0' },
    });
    if (run.status !== 0) throw new Error(`profiled ${mode} run failed: ${run.stderr}`);
    const file = join(
      dir,
      readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!,
    );
    const frames = [...new Set(phases.flatMap((p) => p.frames))];
    // Module loading and the token file's decoding are start-up, not accepts.
    const summary = summariseProfile(file, {
      top: 14,
      inclusive: frames,
      setup: ['node:internal/modules', 'kerberosTokens', 'readFileSync', 'fromTokens'],
    });
    const acceptSamples = summary.busySamples - summary.setupSamples;
    const ticks = new Map(
      summary.inclusive.map((e: { name: string; pct: number }) => [
        e.name,
        (e.pct / 100) * summary.samples,
      ]),
    );
    const perAccept = (n: number) => (n * summary.interval) / TOKENS;
    const self = (name: string) =>
      ((summary.selfByFunction.find((e: { name: string }) => e.name === name)?.pct ?? 0) / 100) *
      summary.samples;
    const rows = phases.map((phase) => {
      const values = phase.frames.map((f) => ticks.get(f) ?? 0);
      const value =
        phase.combine === 'sum' ? values.reduce((a, b) => a + b, 0) : Math.max(...values);
      return `| ${phase.label} | ${perAccept(value).toFixed(1)} | ${((100 * value) / acceptSamples).toFixed(1)}% |`;
    });
    const gc = self('(garbage collector)');
    return [
      `| Phase (${mode === 'ours' ? 'raw acceptor' : 'engine path'}) | µs per accept | Share |`,
      '|---|---:|---:|',
      `| **the accept loop, all of it** (busy samples less start-up) | ${perAccept(acceptSamples).toFixed(1)} | 100% |`,
      ...rows,
      `| garbage collector (self) | ${perAccept(gc).toFixed(1)} | ${((100 * gc) / acceptSamples).toFixed(1)}% |`,
      '',
      'Hottest self-time frames:',
      '',
      '| Frame | Self (all samples) |',
      '|---|---:|',
      ...summary.selfByFunction.map(
        (e: { name: string; pct: number }) => `| \`${e.name}\` | ${e.pct}% |`,
      ),
      '',
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Each phase timed alone (lib/kerberos-phases.mjs), as a markdown table. */
function phaseTable(tokens: string, keytab: string): string[] {
  const run = spawnSync(process.execPath, [PHASES, tokens, keytab], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`phase timing failed: ${run.stderr}`);
  const { phases } = JSON.parse(run.stdout.trim().split('\n').pop()!) as {
    phases: { label: string; us: number }[];
  };
  return [
    '#### Each phase timed alone (no profiler; best of 5 passes over the tokens)',
    '',
    '| Phase | µs per accept |',
    '|---|---:|',
    ...phases.map((p) => `| ${p.label} | ${p.us.toFixed(2)} |`),
    '',
  ];
}

const sections: Section[] = [];
for (const enctype of BENCH_ENCTYPES) {
  const realm = await startBenchRealm(enctype);
  try {
    const tokens = realm.tokenFile(TOKENS, 'spnego', 'profile');
    const keytab = realm.kdc.keytabPath;
    const lines = [
      `### Profile: the Kerberos accept path, ${enctype}`,
      '',
      `One pass of ${TOKENS - WARMUP} accepts (after ${WARMUP} warm-up) per mode under \`--cpu-prof\` (100 µs sampling). A phase counts the samples with its functions on the stack (a phase may nest another: "of which" rows are inside the row above); µs are samples × interval divided by the ${TOKENS} accepts: time on a thread the shared machine may preempt, so read the shares and compare rows of one run.`,
      '',
    ];
    const before = process.env.BENCH_PROFILE_BEFORE;
    for (const [name, worker] of before === undefined
      ? [['', WORKER]]
      : [
          ['Before (BENCH_PROFILE_BEFORE)', before],
          ['After (this checkout)', WORKER],
        ]) {
      if (name !== '') lines.push(`#### ${name}`, '');
      lines.push(...profileOnce(worker!, 'ours', tokens, keytab, realm.kdc.env, ACCEPTOR_PHASES));
      lines.push(...profileOnce(worker!, 'engine', tokens, keytab, realm.kdc.env, ENGINE_PHASES));
    }
    lines.push(...phaseTable(tokens, keytab));
    sections.push({
      id: `profile-${enctype}`,
      title: `Profile ${enctype}`,
      rows: [],
      markdown: lines.join('\n'),
    });
  } finally {
    await realm.kdc.stop();
  }
}
emit(sections);
