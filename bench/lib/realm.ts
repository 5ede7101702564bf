/**
 * Throwaway MIT realms for the benchmarks (test/harness/mit-kdc.ts) and the real tokens they
 * issue. One realm per enctype: HTTP/localhost holds only that enctype's key and the client's
 * session keys are restricted to it, so every token of a set exercises exactly one enctype.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMitKdc, type MitEnctype, type MitKdc } from '../../test/harness/mit-kdc.js';

export const BENCH_ENCTYPES: readonly MitEnctype[] = [
  'aes256-cts-hmac-sha1-96',
  'aes256-cts-hmac-sha384-192',
];

export interface BenchRealm {
  readonly kdc: MitKdc;
  readonly enctype: MitEnctype;
  /** Environment of a kinit'd client (KRB5_CONFIG, KRB5CCNAME). */
  readonly clientEnv: NodeJS.ProcessEnv;
  /** Make `count` distinct tokens for HTTP@localhost; returns base64 strings. */
  tokens(count: number, mech: 'krb5' | 'spnego'): string[];
  /** The same, written to a file (one per line) for child processes; returns the path. */
  tokenFile(count: number, mech: 'krb5' | 'spnego', name: string): string;
}

const SCRIPT = new URL('./make-tokens.py', import.meta.url).pathname;

export async function startBenchRealm(enctype: MitEnctype): Promise<BenchRealm> {
  const kdc = await startMitKdc({
    realm: enctype.includes('sha384') ? 'SHA384.TEST' : 'SHA1.TEST',
    enctypes: [enctype],
    principals: [
      { name: 'alice', password: 'alice-pw-1' },
      { name: 'HTTP/localhost', enctypes: [enctype] },
    ],
    // Tokens are made before a comparison starts and may be fed to servers minutes later; a
    // wide skew window keeps them valid for every peer alike (MIT reads clockskew from here).
    extraLibdefaults: ['clockskew = 3600'],
  });
  const { env } = kdc.kinit('alice', 'alice-pw-1', undefined, { tgsEnctypes: [enctype] });
  const tokens = (count: number, mech: 'krb5' | 'spnego'): string[] => {
    const result = spawnSync('/usr/bin/python3', [SCRIPT, String(count), mech, 'HTTP@localhost'], {
      env,
      encoding: 'utf8',
      maxBuffer: 1 << 30,
    });
    if (result.status !== 0) throw new Error(`token generation failed: ${result.stderr}`);
    const lines = result.stdout.split('\n').filter((line) => line.length > 0);
    if (lines.length !== count) throw new Error(`expected ${count} tokens, got ${lines.length}`);
    if (new Set(lines).size !== count) throw new Error('token generation produced duplicates');
    return lines;
  };
  return {
    kdc,
    enctype,
    clientEnv: env,
    tokens,
    tokenFile(count, mech, name) {
      const path = join(kdc.dir, `${name}.tokens`);
      writeFileSync(path, tokens(count, mech).join('\n') + '\n');
      return path;
    },
  };
}
