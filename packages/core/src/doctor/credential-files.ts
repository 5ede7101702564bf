/**
 * The credential-file checks: every line of a Digest, htdigest, htpasswd or smbpasswd file is
 * parsed on its own with the parser the server uses, so the operator learns which line is bad
 * and why, where the server itself only refuses the whole file (or, for smbpasswd, skips the
 * line). Line numbers and user names are printed; hashes never are.
 */
import { readFileSync } from 'node:fs';
import { hashScheme, parseHtpasswd } from '../basic/htpasswd.js';
import { parseDigestFile, parseHtdigest } from '../digest/sources.js';
import { parseSmbpasswd } from '../ntlm/smbpasswd.js';
import { finding, type Finding } from './findings.js';

/**
 * The credential file formats {@link checkCredentialFile} can check: the Digest source's own file,
 * Apache `htdigest`, Apache `htpasswd` (for Basic) and Samba `smbpasswd` (for NTLM).
 */
export type CredentialFileKind = 'digest' | 'htdigest' | 'htpasswd' | 'smbpasswd';

type LineVerdict = { user: string; warning?: string } | { error: string } | { skipped: string };

function field(line: string, index: number): string {
  return line.split(':')[index] ?? '';
}

const CHECK_LINE: Record<CredentialFileKind, (line: string) => LineVerdict> = {
  digest(line) {
    try {
      parseDigestFile(line);
      return { user: `${field(line, 0)} in realm ${field(line, 1)}` };
    } catch (error) {
      return { error: (error as Error).message };
    }
  },
  htdigest(line) {
    try {
      parseHtdigest(line);
      return { user: `${field(line, 0)} in realm ${field(line, 1)}` };
    } catch (error) {
      return { error: (error as Error).message };
    }
  },
  htpasswd(line) {
    try {
      parseHtpasswd(line);
    } catch (error) {
      return { error: (error as Error).message };
    }
    const user = field(line, 0);
    const scheme = hashScheme(line.slice(line.indexOf(':') + 1));
    if (scheme === 'unsupported') {
      return { user, warning: 'a hash scheme the server cannot verify (crypt, plain text?)' };
    }
    return { user };
  },
  smbpasswd(line) {
    const user = field(line, 0);
    // Machine (W), server (S) and interdomain (I) trust accounts belong in the file, not logons.
    if (/\[[A-Z ]*[WSI][A-Z ]*\]/.test(field(line, 4))) {
      return { skipped: `${user}: a machine or trust account, never used for logons` };
    }
    const accounts = parseSmbpasswd(line);
    const account = accounts.get(user.toLowerCase());
    if (account === undefined) {
      return {
        error:
          'not a usable account (needs user:uid:LM:NT:[U ...]:LCT-... with an NT hash and the U flag)',
      };
    }
    if (account.disabled)
      return { user, warning: 'disabled or locked ([D] or [L]): cannot log on' };
    return { user };
  },
};

/**
 * Reads a credential file and checks every line with the same parser the server uses: a line the
 * server would refuse is a `fail` finding with its line number, a user name repeated is a `fail` (a
 * `warn` for smbpasswd, where the first line wins), a hash the server cannot verify or a disabled
 * smbpasswd account is a `warn`. The first finding counts the accounts that can log on (`fail` when
 * none can). Findings name users and lines, never a hash.
 */
export function checkCredentialFile(kind: CredentialFileKind, path: string): Finding[] {
  const check = `${kind}-file`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return [
      finding(check, 'fail', `${path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`),
    ];
  }
  const out: Finding[] = [];
  const seen = new Map<string, number>();
  let usable = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const number = index + 1;
    const verdict = CHECK_LINE[kind](line);
    if ('error' in verdict) {
      out.push(finding(check, 'fail', `${path}:${number}: ${verdict.error}`));
      return;
    }
    if ('skipped' in verdict) {
      out.push(finding(check, 'info', `${path}:${number}: ${verdict.skipped}`));
      return;
    }
    const key = kind === 'smbpasswd' ? verdict.user.toLowerCase() : verdict.user;
    const first = seen.get(key);
    if (first !== undefined) {
      const effect = kind === 'smbpasswd' ? 'the first one is used' : 'the file is refused';
      out.push(
        finding(
          check,
          kind === 'smbpasswd' ? 'warn' : 'fail',
          `${path}:${number}: ${verdict.user} again (first on line ${first}): ${effect}`,
        ),
      );
      return;
    }
    seen.set(key, number);
    if (verdict.warning !== undefined) {
      out.push(finding(check, 'warn', `${path}:${number}: ${verdict.user}: ${verdict.warning}`));
      return;
    }
    usable++;
  });
  out.unshift(
    finding(
      check,
      usable === 0 ? 'fail' : 'ok',
      `${path}: ${usable} account${usable === 1 ? '' : 's'} that can log on`,
    ),
  );
  return out;
}
