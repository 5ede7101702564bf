#!/usr/bin/env node
/**
 * The `httpauth` command: `httpauth doctor [options]` (see `httpauth doctor --help`). Exit status
 * 0 when every check passed, 1 when one failed, 2 for a usage error.
 */
import { parseArgs } from 'node:util';
import type { CredentialFileKind } from './doctor/credential-files.js';
import { renderFindings } from './doctor/findings.js';
import { runDoctor } from './doctor/index.js';

const USAGE = `usage: httpauth doctor [options]

  --keytab NAME        keytab to read (default: KRB5_KTNAME, else /etc/krb5.keytab)
  --spn HTTP/host      the service principal clients ask tickets for; must be in the keytab
  --token BASE64       an Authorization: Negotiate token to try against the keytab
  --realm REALM        probe the realm's KDCs (krb5.conf, then DNS SRV): answer and clock skew
  --kdc                probe the KDCs of the SPN's or the keytab's realm
  --allow-rc4          the server accepts RC4 tickets (negotiate's allowRc4)
  --host NAME          the host name in the clients' URLs: forward and reverse DNS
  --digest FILE        check an httpauth Digest file (repeatable; likewise the next three)
  --htdigest FILE      check an Apache htdigest file
  --htpasswd FILE      check an Apache htpasswd file
  --smbpasswd FILE     check a Samba smbpasswd file
  --json               print the findings as JSON
`;

const FILE_KINDS: readonly CredentialFileKind[] = ['digest', 'htdigest', 'htpasswd', 'smbpasswd'];

async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] !== 'doctor') {
    process.stderr.write(USAGE);
    return 2;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: argv.slice(1),
      options: {
        keytab: { type: 'string' },
        spn: { type: 'string' },
        token: { type: 'string' },
        realm: { type: 'string' },
        kdc: { type: 'boolean' },
        'allow-rc4': { type: 'boolean' },
        host: { type: 'string' },
        digest: { type: 'string', multiple: true },
        htdigest: { type: 'string', multiple: true },
        htpasswd: { type: 'string', multiple: true },
        smbpasswd: { type: 'string', multiple: true },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const files = FILE_KINDS.flatMap((kind) => (values[kind] ?? []).map((path) => ({ kind, path })));
  const report = await runDoctor({
    ...(values.keytab === undefined ? {} : { keytab: values.keytab }),
    ...(values.spn === undefined ? {} : { spn: values.spn }),
    ...(values.token === undefined ? {} : { token: values.token }),
    ...(values.host === undefined ? {} : { host: values.host }),
    ...(values.realm === undefined ? {} : { realm: values.realm }),
    ...(values.kdc === true ? { kdc: true } : {}),
    ...(values['allow-rc4'] === true ? { allowRc4: true } : {}),
    files,
  });
  if (report.findings.length === 0) {
    process.stderr.write(`nothing to check\n${USAGE}`);
    return 2;
  }
  process.stdout.write(
    values.json === true
      ? `${JSON.stringify(report, null, 2)}\n`
      : `${renderFindings(report.findings)}\n${report.passed ? 'doctor: ok' : 'doctor: problems found'}\n`,
  );
  return report.passed ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
