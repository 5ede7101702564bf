/**
 * Profiling notes for the Kerberos acceptor: one --cpu-prof pass of httpauth's KerberosAcceptor
 * per enctype over MIT-made tokens, summarised by phase (functions on the stack) and by the
 * hottest self-time frames. Full runs only; the summary feeds bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summariseProfile } from '../lib/profile-summary.mjs';
import { BENCH_ENCTYPES, startBenchRealm } from '../lib/realm.js';
import { emit, type Section } from '../lib/suite.js';

const WORKER = new URL('./kerberos-worker.mjs', import.meta.url).pathname;
const PHASES: readonly [string, readonly string[]][] = [
  [
    'parse (GSS framing, AP-REQ, EncTicketPart, Authenticator, PAC)',
    [
      'decodeGssToken',
      'decodeApReq',
      'decodeEncTicketPart',
      'decodeKerberosAuthenticator',
      'decodeGssChecksum',
      'decodePac',
    ],
  ],
  ['decrypt ticket + authenticator (incl. session-key derivation)', ['decrypt']],
  ['PAC server checksum', ['verifyPacServerSignature']],
  ['replay cache', ['recordAuthenticator']],
  [
    'AP-REP: subkey, encode, encrypt, GSS framing',
    ['encodeEncApRepPart', 'encodeApRep', 'encrypt', 'encodeGssToken', 'randomBytes'],
  ],
  ['principal / result building', ['#principal']],
];

const sections: Section[] = [];
for (const enctype of BENCH_ENCTYPES) {
  const realm = await startBenchRealm(enctype);
  const dir = mkdtempSync(join(tmpdir(), 'httpauth-bench-prof-'));
  try {
    const tokens = realm.tokenFile(12200, 'krb5', 'profile');
    const run = spawnSync(
      process.execPath,
      [
        '--cpu-prof',
        `--cpu-prof-dir=${dir}`,
        '--cpu-prof-interval=200',
        WORKER,
        'ours',
        tokens,
        realm.kdc.keytabPath,
        '200',
      ],
      { encoding: 'utf8', env: realm.kdc.env },
    );
    if (run.status !== 0) throw new Error(`profiled run failed: ${run.stderr}`);
    const file = join(
      dir,
      readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!,
    );
    const names = PHASES.flatMap(([, fns]) => fns);
    const summary = summariseProfile(file, { top: 12, inclusive: [...names, 'accept'] });
    const pct = new Map(
      summary.inclusive.map((e: { name: string; pct: number }) => [e.name, e.pct]),
    );
    // Shares of the busy samples: idle time (waiting on the scheduler of a shared machine) and
    // process start are not the acceptor's.
    const idle =
      summary.selfByFunction.find((e: { name: string }) => e.name === '(idle)')?.pct ?? 0;
    const busy = (value: number) => (100 * value) / (100 - idle);
    const gc =
      summary.selfByFunction.find((e: { name: string }) => e.name === '(garbage collector)')?.pct ??
      0;
    const lines = [
      `### Profile: httpauth KerberosAcceptor, ${enctype}`,
      '',
      `One pass of 12,000 accepts under \`--cpu-prof\` (200 µs sampling, ${summary.samples} samples, process start included). Share of the busy (non-idle) samples with the phase's functions on the stack (a phase may nest another: AP-REP encryption is under "encrypt"):`,
      '',
      '| Phase | Share of samples |',
      '|---|---:|',
      ...PHASES.map(
        ([label, fns]) =>
          `| ${label} | ${busy(Math.max(...fns.map((f) => pct.get(f) ?? 0))).toFixed(1)}% (max of ${fns.join(', ')}) |`,
      ),
      `| garbage collector (self) | ${busy(gc).toFixed(1)}% |`,
      '',
      'Hottest self-time frames:',
      '',
      '| Frame | Self |',
      '|---|---:|',
      ...summary.selfByFunction.map(
        (e: { name: string; pct: number }) => `| \`${e.name}\` | ${e.pct}% |`,
      ),
      '',
    ];
    sections.push({
      id: `profile-${enctype}`,
      title: `Profile ${enctype}`,
      rows: [],
      markdown: lines.join('\n'),
    } as Section);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await realm.kdc.stop();
  }
}
emit(sections);
