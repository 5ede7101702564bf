/**
 * Names of the well-known SIDs a PAC or a NETLOGON validation carries besides domain groups
 * (MS-DTYP §2.4.2.4). They live in no domain's directory partition, so no LDAP search finds them;
 * Windows shows them as below (`whoami /groups`).
 */
const WELL_KNOWN: ReadonlyMap<string, string> = new Map([
  ['S-1-1-0', 'Everyone'],
  ['S-1-2-0', 'LOCAL'],
  ['S-1-5-2', 'NT AUTHORITY\\NETWORK'],
  ['S-1-5-4', 'NT AUTHORITY\\INTERACTIVE'],
  ['S-1-5-6', 'NT AUTHORITY\\SERVICE'],
  ['S-1-5-7', 'NT AUTHORITY\\ANONYMOUS LOGON'],
  ['S-1-5-9', 'NT AUTHORITY\\ENTERPRISE DOMAIN CONTROLLERS'],
  ['S-1-5-11', 'NT AUTHORITY\\Authenticated Users'],
  ['S-1-5-15', 'NT AUTHORITY\\This Organization'],
  ['S-1-5-18', 'NT AUTHORITY\\SYSTEM'],
  ['S-1-5-64-10', 'NT AUTHORITY\\NTLM Authentication'],
  ['S-1-5-64-14', 'NT AUTHORITY\\SChannel Authentication'],
  ['S-1-5-64-21', 'NT AUTHORITY\\Digest Authentication'],
  ['S-1-5-1000', 'NT AUTHORITY\\Other Organization'],
  // MS-DTYP §2.4.2.4 and MS-PAC §4.1.2.2: the PAC's asserted-identity SIDs.
  ['S-1-18-1', 'Authentication authority asserted identity'],
  ['S-1-18-2', 'Service asserted identity'],
  ['S-1-16-4096', 'Mandatory Label\\Low Mandatory Level'],
  ['S-1-16-8192', 'Mandatory Label\\Medium Mandatory Level'],
  ['S-1-16-8448', 'Mandatory Label\\Medium Plus Mandatory Level'],
  ['S-1-16-12288', 'Mandatory Label\\High Mandatory Level'],
]);

/** The name of a well-known SID, or undefined. */
export function wellKnownSidName(sid: string): string | undefined {
  return WELL_KNOWN.get(sid);
}
