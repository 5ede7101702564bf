/**
 * A `CertificateAccountLookup` (core's `directory` certificate mapping rule) over Active
 * Directory's LDAP: the user account whose `altSecurityIdentities` holds one of the certificate's
 * strong forms (KB5014754: `X509:<I>…<SR>…`, `X509:<SKI>…`), or, when the rule asks, whose
 * `userPrincipalName` is the certificate's UPN; then its `tokenGroups` (every group SID, nested
 * ones included, MS-ADTS §3.1.1.4.5.19), which AD computes only for a base-scope search of the
 * account itself. Same connection rules as {@link ldapSidLookup}: TLS before the simple bind.
 *
 *   clientCertificate({
 *     trustAnchors,
 *     mapping: [{ type: 'directory', lookup: ldapCertificateLookup({ url, tls, bind }) }],
 *   })
 */
import type { CertificateAccountLookup, DirectoryAccount } from '@httpauth/core';
import { sidFromBytes } from '@httpauth/core/wire';
import { AndFilter, EqualityFilter, OrFilter } from 'ldapts';
import type { Entry, Filter } from 'ldapts';
import { first, sharedConnection, type LdapSidLookupOptions, type Session } from './connection.js';

/** The lookup {@link ldapCertificateLookup} returns. */
export interface LdapCertificateLookup extends CertificateAccountLookup {
  /** Unbinds and closes the shared LDAP connection. */
  close(): Promise<void>;
}

/** userAccountControl ACCOUNTDISABLE (MS-ADTS §2.2.16). */
const ACCOUNT_DISABLE = 0x2;
/** A certificate carries at most a handful of strong forms; more is not a real query. */
const MAX_VALUES = 8;
/** Values are built from certificate fields: bounded like any attribute value AD holds. */
const MAX_VALUE_LENGTH = 2048;

/** `DC=samdom,DC=test` -> `SAMDOM.TEST`: the Kerberos realm of the domain (MS-KILE §3.1.5.1). */
export function realmOfNamingContext(baseDn: string): string {
  return baseDn
    .split(',')
    .map((rdn) => rdn.trim())
    .filter((rdn) => rdn.toUpperCase().startsWith('DC='))
    .map((rdn) => rdn.slice(3))
    .join('.')
    .toUpperCase();
}

function usable(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && value.length <= MAX_VALUE_LENGTH;
}

/** `(&(objectCategory=person)(objectClass=user)(|(attr=value)…))`, values sent as they are. */
function accountFilter(attribute: string, values: readonly string[]): Filter {
  return new AndFilter({
    filters: [
      new EqualityFilter({ attribute: 'objectCategory', value: 'person' }),
      new EqualityFilter({ attribute: 'objectClass', value: 'user' }),
      new OrFilter({
        filters: values.map((value) => new EqualityFilter({ attribute, value })),
      }),
    ],
  });
}

async function findOne(
  session: Session,
  attribute: string,
  values: readonly string[],
): Promise<Entry | undefined> {
  const { searchEntries } = await session.client.search(session.baseDn, {
    scope: 'sub',
    filter: accountFilter(attribute, values),
    attributes: ['objectSid', 'sAMAccountName', 'userPrincipalName', 'userAccountControl'],
    explicitBufferAttributes: ['objectSid'],
    // Two are enough to see that a mapping is ambiguous.
    sizeLimit: 2,
  });
  // Two accounts naming one certificate name no single account.
  return searchEntries.length === 1 ? searchEntries[0] : undefined;
}

async function tokenGroups(session: Session, dn: string): Promise<string[]> {
  const { searchEntries } = await session.client.search(dn, {
    scope: 'base',
    attributes: ['tokenGroups'],
    explicitBufferAttributes: ['tokenGroups'],
  });
  const raw = searchEntries[0]?.tokenGroups;
  const values = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  const sids: string[] = [];
  for (const value of values) {
    const sid = Buffer.isBuffer(value) ? sidFromBytes(value) : undefined;
    if (sid !== undefined) sids.push(sid);
  }
  return sids;
}

async function accountOf(
  session: Session,
  entry: Entry,
  matchedBy: DirectoryAccount['matchedBy'],
): Promise<DirectoryAccount | undefined> {
  const rawSid = first(entry.objectSid);
  const sid = Buffer.isBuffer(rawSid) ? sidFromBytes(rawSid) : undefined;
  const account = first(entry.sAMAccountName);
  if (sid === undefined || typeof account !== 'string' || account === '') return undefined;
  const upn = first(entry.userPrincipalName);
  const control = Number(first(entry.userAccountControl) ?? 0);
  return {
    name: `${account}@${realmOfNamingContext(session.baseDn)}`,
    sid,
    groupSids: await tokenGroups(session, entry.dn),
    ...(typeof upn === 'string' && upn !== '' ? { upn } : {}),
    matchedBy,
    disabled: (control & ACCOUNT_DISABLE) !== 0,
  };
}

/**
 * Finds a certificate's account in Active Directory over LDAP (see above). Throws
 * `ERR_HTTPAUTH_INVALID_OPTIONS` on bad options; a lookup throws when the directory cannot answer.
 */
export function ldapCertificateLookup(options: LdapSidLookupOptions): LdapCertificateLookup {
  const connection = sharedConnection(options);
  return {
    async findAccount(query) {
      const strong = query.altSecurityIdentities.filter(usable).slice(0, MAX_VALUES);
      return connection.run(async (session) => {
        if (strong.length > 0) {
          const entry = await findOne(session, 'altSecurityIdentities', strong);
          if (entry !== undefined) return accountOf(session, entry, 'altSecurityIdentities');
        }
        if (!usable(query.upn)) return undefined;
        const entry = await findOne(session, 'userPrincipalName', [query.upn]);
        return entry === undefined ? undefined : accountOf(session, entry, 'upn');
      });
    },
    close: () => connection.close(),
  };
}
