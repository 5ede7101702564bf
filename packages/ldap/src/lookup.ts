/**
 * A `SidNameLookup` (see @httpauth/core createSidResolver) over Active Directory's LDAP:
 *
 *   const directory = createSidResolver({
 *     lookup: ldapSidLookup({
 *       url: 'ldaps://dc1.samdom.test',
 *       tls: { ca: readFileSync('/etc/ssl/samdom-ca.pem') },
 *       bind: { dn: 'CN=httpauth,CN=Users,DC=samdom,DC=test', password: process.env.LDAP_PW! },
 *     }),
 *   });
 *
 * One connection is kept and shared by concurrent lookups; it is bound with the configured
 * account by a simple bind, only over TLS (ldaps://, or ldap:// with StartTLS, RFC 4513 §3.1.1
 * and §5.1.2: a simple bind sends the password as is). A simple bind in clear needs
 * `allowInsecureBind: true`, which warns. Each batch is one subtree search under the domain's
 * naming context for `(|(objectSid=…)…)` asking for objectSid and sAMAccountName only; names
 * are `NETBIOS\sAMAccountName`, with BUILTIN for the S-1-5-32 aliases (MS-DTYP §2.4.2.4).
 */
import { sidFromBytes } from '@httpauth/core/wire';
import type { SidNameLookup } from '@httpauth/core';
import { first, sharedConnection, type LdapSidLookupOptions, type Session } from './connection.js';
import { objectSidFilter } from './filter.js';

export type { LdapBind, LdapSidLookupOptions } from './connection.js';

/** The SID-name lookup {@link ldapSidLookup} returns, for `createSidResolver({ lookup })`. */
export interface LdapSidLookup extends SidNameLookup {
  /** Unbinds and closes the shared LDAP connection. */
  close(): Promise<void>;
}

/** MS-DTYP §2.4.2.4: the BUILTIN domain's aliases. */
const BUILTIN_PREFIX = 'S-1-5-32-';

/**
 * Names SIDs through Active Directory's LDAP: one shared connection, bound over TLS (ldaps:// or
 * StartTLS), and one search per batch for `objectSid`; names are `NETBIOS\sAMAccountName` (BUILTIN
 * for S-1-5-32 aliases). Throws `ERR_HTTPAUTH_INVALID_OPTIONS` on bad options.
 */
export function ldapSidLookup(options: LdapSidLookupOptions): LdapSidLookup {
  const connection = sharedConnection(options);

  async function search(current: Session, sids: readonly string[]): Promise<Map<string, string>> {
    const { searchEntries } = await current.client.search(current.baseDn, {
      scope: 'sub',
      filter: objectSidFilter(sids),
      attributes: ['objectSid', 'sAMAccountName'],
      explicitBufferAttributes: ['objectSid'],
      sizeLimit: sids.length,
    });
    const names = new Map<string, string>();
    for (const entry of searchEntries) {
      const raw = first(entry.objectSid);
      const sid = Buffer.isBuffer(raw) ? sidFromBytes(raw) : undefined;
      const account = first(entry.sAMAccountName);
      if (sid === undefined || typeof account !== 'string' || account === '') continue;
      const domain = sid.startsWith(BUILTIN_PREFIX) ? 'BUILTIN' : current.domain;
      names.set(sid, `${domain}\\${account}`);
    }
    return names;
  }

  return {
    async lookupSids(sids, signal) {
      if (sids.length === 0) return new Map();
      return connection.run((current) => search(current, sids), signal);
    },
    close: () => connection.close(),
  };
}
