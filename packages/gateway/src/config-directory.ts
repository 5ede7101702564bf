/**
 * `directory.ldap`: names for the group SIDs of domain logons (a Kerberos PAC, a NETLOGON
 * answer), looked up in Active Directory over LDAPS or StartTLS, so rules and the groups header
 * can say `SAMDOM\WebUsers` instead of `S-1-5-21-…-1104`. The bind password is read from a file
 * only; a directory that cannot answer leaves the SIDs and never refuses a logon.
 */
import type { ConfigReader } from './config-checks.js';
import type { DirectoryConfig } from './config-types.js';

const PATH = 'directory.ldap';

/** The URL's form (ldaps:// or ldap:// for StartTLS, a host, no path) is the schema's. */
export function parseDirectory(raw: unknown, read: ConfigReader): DirectoryConfig {
  const l = read.section(read.section(raw)['ldap']);
  const caFile = read.optionalFile(l['caFile']);
  const servername = read.optionalStr(l['servername']);
  return {
    url: read.str(l['url'], `${PATH}.url`),
    bindDn: read.str(l['bindDn'], `${PATH}.bindDn`),
    passwordFile: read.file(l['passwordFile']),
    ...(caFile === undefined ? {} : { caFile }),
    ...(servername === undefined ? {} : { servername }),
    cacheTtlSec: read.num(l['cacheTtlSec'], `${PATH}.cacheTtlSec`),
  };
}
