/**
 * Constrained delegation set up on a running Samba AD DC (samba-dc.ts), with the commands an
 * administrator types (docs/delegation.md shows the same ones):
 *
 *   samba-tool user create <account> --random-password      a backend's service account
 *   samba-tool spn add HTTP/<backend> <account>
 *   samba-tool domain exportkeytab <file> --principal=HTTP/<backend>
 *   samba-tool delegation for-any-protocol websvc on          protocol transition (S4U2Self
 *                                                             tickets forwardable: TRUSTED_TO_
 *                                                             AUTHENTICATE_FOR_DELEGATION)
 *   samba-tool delegation add-service websvc HTTP/<backend>   classic: msDS-AllowedToDelegateTo
 *   samba-tool delegation add-principal <account> websvc      resource-based: the backend's
 *                                                             msDS-AllowedToActOnBehalfOfOtherIdentity
 *                                                             (honoured by Samba 4.19 or later)
 *   samba-tool delegation del-principal <account> websvc      takes that back
 *   samba-tool user sensitive <user> on                       NOT_DELEGATED
 *
 * They run against the DC's sam.ldb directly (-H), as samba-dc.ts does before the start, which
 * the running KDC reads on every request.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { SambaDc } from './samba-dc.js';

const run = promisify(execFile);

export interface DelegationSetup {
  /** Run samba-tool against the DC's database. */
  tool(...args: string[]): Promise<string>;
  /** A service account holding `spn` (AES only), its keytab exported; resolves the keytab path. */
  addBackend(account: string, spn: string): Promise<string>;
}

export function sambaDelegation(dc: SambaDc): DelegationSetup {
  const conf = join(dc.dir, 'dc', 'etc', 'smb.conf');
  const samLdb = join(dc.dir, 'dc', 'private', 'sam.ldb');
  const tool = async (...args: string[]): Promise<string> => {
    const local = args[0] === 'domain' ? ['-s', conf] : ['-s', conf, '-H', samLdb];
    const { stdout } = await run('samba-tool', [...args, ...local], { timeout: 120_000 });
    return stdout;
  };
  return {
    tool,
    async addBackend(account, spn) {
      await tool('user', 'create', account, '--random-password');
      await tool('spn', 'add', spn, account);
      const { stdout } = await run('ldbsearch', [
        '-H',
        samLdb,
        `(sAMAccountName=${account})`,
        'dn',
      ]);
      const dn = /^dn: (.+)$/m.exec(stdout)?.[1];
      if (dn === undefined) throw new Error(`no dn for ${account}`);
      // AES only (0x08 | 0x10): otherwise AD issues RC4 tickets for a user account.
      const ldif = join(dc.dir, `aes-${account}.ldif`);
      await writeFile(
        ldif,
        `dn: ${dn}\nchangetype: modify\nreplace: msDS-SupportedEncryptionTypes\nmsDS-SupportedEncryptionTypes: 24\n`,
      );
      await run('ldbmodify', ['-H', samLdb, ldif]);
      const keytab = join(dc.dir, `${account}.keytab`);
      await tool('domain', 'exportkeytab', keytab, `--principal=${spn}`);
      return keytab;
    },
  };
}
