/**
 * A throwaway MIT realm whose database is OpenLDAP (the `kldap` KDB module, Debian's
 * krb5-kdc-ldap) instead of DB2, for what only that back end stores: classic constrained
 * delegation targets, the `krbAllowedToDelegateTo` attribute of a principal's entry, which
 * krb5_ldap_check_allowed_to_delegate (src/plugins/kdb/ldap/libkdb_ldap/kdb_ldap.c) compares
 * with the S4U2Proxy target. kadmin has no command for it: it is written with ldapmodify.
 *
 * Phases: schema (MIT's kerberos.openldap.ldif from krb5-kdc-ldap's docs), start slapd
 * (slapd.ts), realm (`kdb5_ldap_util stashsrvpw` + `create -subtrees`), start krb5kdc with
 * `db_library = kldap` (mit-kdc.ts), stop (the KDC, then slapd, both by PID). The commands are
 * the ones docs/delegation.md shows.
 *
 *   const kdc = await startMitLdapKdc({ principals: [...] });
 *   kdc.allowDelegation('HTTP/localhost', ['HTTP/backend.example.test']);
 *   await kdc.stop();
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startMitKdc, type KdbBackend, type MitKdc, type MitKdcOptions } from './mit-kdc.js';
import { startSlapd, type Slapd } from './slapd.js';

const KERBEROS_SCHEMA = '/usr/share/doc/krb5-kdc-ldap/kerberos.openldap.ldif.gz';
const SUFFIX = 'dc=example,dc=test';

export interface MitLdapKdc extends MitKdc {
  readonly ldap: Slapd;
  /** The LDAP entry of a principal created by kadmin: under the realm's container. */
  principalDn(name: string): string;
  /**
   * Replace `principal`'s delegation targets (krbAllowedToDelegateTo, full names with the realm;
   * an empty list removes them); returns the LDIF given to ldapmodify.
   */
  allowDelegation(principal: string, targets: readonly string[]): string;
}

/** Phase schema: the cn=config form of MIT's LDAP schema, shipped gzipped in krb5-kdc-ldap. */
function kerberosSchema(): string {
  if (!existsSync(KERBEROS_SCHEMA)) {
    throw new Error(`${KERBEROS_SCHEMA} is missing: install krb5-kdc-ldap (with its docs)`);
  }
  return gunzipSync(readFileSync(KERBEROS_SCHEMA)).toString('utf8');
}

/** The KDB back end for mit-kdc.ts: kdc.conf's [dbmodules] and phase realm. */
function ldapBackend(ldap: Slapd): KdbBackend {
  const passwordFile = join(ldap.dir, 'service.keyfile');
  const admin = ['-D', ldap.adminDn, '-w', ldap.adminPassword, '-H', ldap.url];
  return {
    realmConf: 'database_module = openldap',
    // The KDC binds as the rootDN for brevity; a real KDC gets its own DN with read access.
    sections: `
[dbmodules]
    openldap = {
        db_library = kldap
        ldap_kerberos_container_dn = cn=krbContainer,${ldap.suffix}
        ldap_kdc_dn = ${ldap.adminDn}
        ldap_kadmind_dn = ${ldap.adminDn}
        ldap_service_password_file = ${passwordFile}
        ldap_servers = ${ldap.url}
        ldap_conns_per_server = 2
    }
`,
    create(env, realm, masterPassword) {
      const run = (args: readonly string[], input?: string): void => {
        const result = spawnSync('kdb5_ldap_util', [...admin, ...args], {
          env,
          input,
          encoding: 'utf8',
          timeout: 30_000,
        });
        if (result.status !== 0) {
          throw new Error(`kdb5_ldap_util ${args[0]} failed (${result.status}): ${result.stderr}`);
        }
      };
      // The bind password of ldap_kdc_dn, which krb5kdc and kadmin.local read from the file.
      const password = `${ldap.adminPassword}\n${ldap.adminPassword}\n`;
      run(['stashsrvpw', '-f', passwordFile, ldap.adminDn], password);
      run(['create', '-subtrees', ldap.suffix, '-r', realm, '-s', '-P', masterPassword]);
    },
  };
}

function delegationLdif(dn: string, targets: readonly string[]): string {
  return (
    `dn: ${dn}\nchangetype: modify\nreplace: krbAllowedToDelegateTo\n` +
    targets.map((target) => `krbAllowedToDelegateTo: ${target}\n`).join('')
  );
}

export async function startMitLdapKdc(options: MitKdcOptions): Promise<MitLdapKdc> {
  const ldap = await startSlapd({
    suffix: SUFFIX,
    schemas: { kerberos: kerberosSchema() },
    indexes: ['krbPrincipalName'],
  });
  let kdc: MitKdc;
  try {
    kdc = await startMitKdc({ ...options, database: ldapBackend(ldap) });
  } catch (error) {
    await ldap.stop();
    throw error;
  }
  const principalDn = (name: string): string =>
    `krbPrincipalName=${name}@${kdc.realm},cn=${kdc.realm},cn=krbContainer,${ldap.suffix}`;
  return {
    ...kdc,
    ldap,
    principalDn,
    allowDelegation(principal, targets) {
      const ldif = delegationLdif(principalDn(principal), targets);
      ldap.modify(ldif);
      return ldif;
    },
    async stop() {
      await kdc.stop();
      await ldap.stop();
    },
  };
}
