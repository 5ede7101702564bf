/**
 * `directory.ldap`: names for the group SIDs of domain logons (a Kerberos PAC, a NETLOGON
 * answer), looked up in Active Directory over LDAPS or StartTLS, so rules and the groups header
 * can say `SAMDOM\WebUsers` instead of `S-1-5-21-…-1104`. The bind password is read from a file
 * only; a directory that cannot answer leaves the SIDs and never refuses a logon.
 */
import type { ConfigChecks } from './config-checks.js';
import type { DirectoryConfig } from './config-types.js';

const PATH = 'directory.ldap';

export function parseDirectory(raw: unknown, checks: ConfigChecks): DirectoryConfig {
  const { problems, str, num, file, section } = checks;
  const d = section(raw, 'directory', ['ldap']);
  const l = section(d['ldap'], PATH, [
    'url',
    'bindDn',
    'passwordFile',
    'caFile',
    'servername',
    'cacheTtlSec',
  ]);
  const url = str(l['url'], `${PATH}.url`);
  if (url !== '' && !/^ldaps?:\/\/[^/\s]+\/?$/i.test(url))
    problems.push(`${PATH}.url must be ldaps://host[:port] or ldap://host[:port] (StartTLS)`);
  return {
    url,
    bindDn: str(l['bindDn'], `${PATH}.bindDn`),
    passwordFile: file(l['passwordFile'], `${PATH}.passwordFile`),
    ...(l['caFile'] === undefined ? {} : { caFile: file(l['caFile'], `${PATH}.caFile`) }),
    ...(l['servername'] === undefined
      ? {}
      : { servername: str(l['servername'], `${PATH}.servername`) }),
    cacheTtlSec: num(l['cacheTtlSec'], `${PATH}.cacheTtlSec`, 600, 1, 86_400),
  };
}
