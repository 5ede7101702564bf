/**
 * The gateway's directory (config `directory.ldap`): a cached, batched SID-to-name resolver over
 * Active Directory's LDAP, so `X-Remote-Groups` and group rules can use `DOMAIN\Group` names.
 */
import { createSidResolver } from '@httpauth/core';
import type { SidResolver } from '@httpauth/core';
import { ldapSidLookup, type LdapSidLookupOptions } from '@httpauth/ldap';
import type { DirectoryConfig } from './config-types.js';
import { readConfiguredFile, readSecret } from './packages.js';

/** The LDAP connection settings of `directory.ldap` (the bind password read now). */
export function ldapOptionsOf(config: DirectoryConfig): LdapSidLookupOptions {
  const password = readSecret(config.passwordFile, 'directory.ldap.passwordFile', 1).toString(
    'utf8',
  );
  const ca =
    config.caFile === undefined
      ? undefined
      : readConfiguredFile(config.caFile, 'directory.ldap.caFile');
  const tls = {
    ...(ca === undefined ? {} : { ca }),
    ...(config.servername === undefined ? {} : { servername: config.servername }),
  };
  return { url: config.url, bind: { dn: config.bindDn, password }, tls };
}

export function buildDirectory(config: DirectoryConfig | undefined): SidResolver | undefined {
  if (config === undefined) return undefined;
  return createSidResolver({
    lookup: ldapSidLookup(ldapOptionsOf(config)),
    ttlMs: config.cacheTtlSec * 1000,
  });
}
