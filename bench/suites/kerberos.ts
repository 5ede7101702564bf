/**
 * Comparison 1: Kerberos AP-REQ acceptance in process, one core (sequential accepts).
 * httpauth's KerberosAcceptor vs MIT GSSAPI through the `kerberos` addon, on the same real tokens
 * from MIT's client, per enctype; MIT with its default replay cache (a fresh file per pass) and
 * with KRB5RCACHETYPE=none; ours with its in-memory replay cache. Each pass is its own process and
 * the variants alternate within a round, so drift of the shared machine hits them alike.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { runJson } from '../lib/child.mjs';
import { BENCH_ENCTYPES, startBenchRealm } from '../lib/realm.js';
import { quick, emit, type Row, type Section } from '../lib/suite.js';

const WORKER = new URL('./kerberos-worker.mjs', import.meta.url).pathname;
const rounds = quick ? 2 : 5;
const timed = quick ? 400 : 3000;
const warmup = quick ? 100 : 300;

const sections: Section[] = [];
for (const enctype of BENCH_ENCTYPES) {
  const realm = await startBenchRealm(enctype);
  try {
    const tokens = realm.tokenFile(timed + warmup, 'krb5', 'accept');
    const keytab = realm.kdc.keytabPath;
    const samples: Record<string, number[]> = { ours: [], mitRcache: [], mitNone: [], mitPool: [] };
    for (let round = 0; round < rounds; round++) {
      const pass = async (key: string, args: string[], env: NodeJS.ProcessEnv) => {
        const result = (await runJson(process.execPath, [WORKER, ...args], { env })) as {
          rate: number;
          failures: number;
        };
        if (result.failures !== 0)
          throw new Error(`${key}: ${result.failures} tokens not accepted`);
        samples[key]!.push(result.rate);
      };
      const rcacheDir = mkdtempSync(join(realm.kdc.dir, 'rcache-'));
      await pass('ours', ['ours', tokens, keytab, String(warmup)], realm.kdc.env);
      await pass('mitRcache', ['mit', tokens, keytab, String(warmup), '1'], {
        ...realm.kdc.env,
        KRB5RCACHEDIR: rcacheDir,
      });
      await pass('mitNone', ['mit', tokens, keytab, String(warmup), '1'], {
        ...realm.kdc.env,
        KRB5RCACHETYPE: 'none',
      });
      // For reference only: the addon's async step runs on libuv's pool, so with 8 accepts in
      // flight it uses more than one core (not the one-core comparison of the target).
      await pass('mitPool', ['mit', tokens, keytab, String(warmup), '8'], {
        ...realm.kdc.env,
        KRB5RCACHEDIR: mkdtempSync(join(realm.kdc.dir, 'rcache-')),
      });
    }
    const rows: Row[] = [
      {
        label: 'httpauth KerberosAcceptor (in-memory replay cache)',
        unit: 'accepts/s',
        samples: samples.ours!,
        ratioTo: 'MIT via `kerberos` addon, default replay cache',
        target: { min: 2, text: '≥ 2x addon' },
      },
      {
        label: 'httpauth vs MIT with KRB5RCACHETYPE=none',
        unit: 'accepts/s',
        samples: samples.ours!,
        ratioTo: 'MIT via `kerberos` addon, KRB5RCACHETYPE=none',
        target: { min: 2, text: '≥ 2x addon' },
      },
      {
        label: 'MIT via `kerberos` addon, default replay cache',
        unit: 'accepts/s',
        samples: samples.mitRcache!,
      },
      {
        label: 'MIT via `kerberos` addon, KRB5RCACHETYPE=none',
        unit: 'accepts/s',
        samples: samples.mitNone!,
      },
      {
        label: 'MIT via `kerberos` addon, 8 in flight (thread pool, >1 core; reference)',
        unit: 'accepts/s',
        samples: samples.mitPool!,
        ratioTo: 'MIT via `kerberos` addon, default replay cache',
      },
    ];
    sections.push({
      id: `kerberos-${enctype}`,
      title: `1. Kerberos AP-REQ acceptance, one core, ${enctype}`,
      note: `${timed} distinct AP-REQs for HTTP/localhost from MIT's client (python3-gssapi), mutual auth (both sides build the AP-REP), ${warmup} warm-up tokens per pass, ${rounds} rounds, one process per pass.`,
      rows,
    });
  } finally {
    await realm.kdc.stop();
  }
}
emit(sections);
