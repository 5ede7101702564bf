/**
 * A `CertificateAccountLookup` (core's `directory` certificate mapping rule) over Active
 * Directory's LDAP: the user accounts whose `altSecurityIdentities` holds one of the certificate's
 * strong forms (KB5014754: `X509:<I>…<SR>…`, `X509:<SKI>…`, `X509:<SHA1-PUKEY>…`; AD compares
 * them ignoring case), or, only when none does and the rule asks, whose `userPrincipalName` is
 * the certificate's UPN; at most two (two or more: ambiguous, core refuses). For each: its state
 * (userAccountControl, accountExpires, lockoutTime) and, from a base-scope search of the account
 * itself, which is where AD computes them, `tokenGroups` (every group SID, nested ones included,
 * MS-ADTS §3.1.1.4.5.19) and `msDS-User-Account-Control-Computed` (UF_LOCKOUT, §3.1.1.4.5.17).
 * The account's realm is that of its own DN. Same connection rules as {@link ldapSidLookup}: TLS
 * before the simple bind.
 *
 *   clientCertificate({
 *     ca, revocation,
 *     mapping: [{ type: 'directory', issuers: [usersCaPem], lookup: ldapCertificateLookup(ldap) }],
 *   })
 */
import type { CertificateAccountLookup, DirectoryAccount } from '@httpauth/core';
import { sidFromBytes } from '@httpauth/core/wire';
import { AndFilter, EqualityFilter, NoSuchObjectError, OrFilter } from 'ldapts';
import type { Entry, Filter } from 'ldapts';
import { first, sharedConnection, type LdapSidLookupOptions, type Session } from './connection.js';

/** The lookup {@link ldapCertificateLookup} returns. */
export interface LdapCertificateLookup extends CertificateAccountLookup {
  /** The forest's NTAuth store (for `issuers: 'ntauth'`): DER CA certificates, none if absent. */
  ntAuthCertificates(): Promise<Buffer[]>;
  /** Unbinds and closes the shared LDAP connection. */
  close(): Promise<void>;
}

/** A certificate carries at most a handful of strong forms; more is not a real query. */
const MAX_VALUES = 8;
/** Values are built from certificate fields: bounded like any attribute value AD holds. */
const MAX_VALUE_LENGTH = 2048;
/** FILETIME of 1970-01-01 (100 ns intervals since 1601, MS-DTYP §2.3.3). */
const FILETIME_UNIX_EPOCH = 116_444_736_000_000_000n;
/** accountExpires' "never" values (MS-ADA1 §2.5: 0 or 0x7FFFFFFFFFFFFFFF). */
const NEVER = new Set(['0', '9223372036854775807']);

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

/**
 * The accounts whose `attribute` holds one of `values`: two at most (ldapts returns the entries
 * a sizeLimitExceeded result came with, RFC 4511 §4.5.1), which is enough to be ambiguous.
 */
async function findEntries(
  session: Session,
  attribute: string,
  values: readonly string[],
): Promise<Entry[]> {
  const { searchEntries } = await session.client.search(session.baseDn, {
    scope: 'sub',
    filter: accountFilter(attribute, values),
    attributes: [
      'objectSid',
      'sAMAccountName',
      'userPrincipalName',
      'userAccountControl',
      'accountExpires',
      'lockoutTime',
    ],
    explicitBufferAttributes: ['objectSid'],
    sizeLimit: 2,
  });
  return searchEntries;
}

/** A decimal integer attribute, or undefined when absent or not one. */
function integerOf(value: Entry[string] | undefined): number | undefined {
  const text = first(value);
  return typeof text === 'string' && /^-?\d{1,10}$/.test(text) ? Number(text) : undefined;
}

/**
 * A FILETIME attribute (accountExpires, lockoutTime) in ms since 1970; `never` for 0 and
 * 0x7FFFFFFFFFFFFFFF (for lockoutTime: not locked). A value that cannot be read is the epoch:
 * an accountExpires long past, a lockoutTime that is not zero, so it refuses.
 */
function filetimeOf(value: Entry[string] | undefined): number | 'never' | undefined {
  const text = first(value);
  if (text === undefined) return undefined;
  if (typeof text !== 'string' || !/^\d{1,19}$/.test(text)) return 0;
  if (NEVER.has(text)) return 'never';
  return Number((BigInt(text) - FILETIME_UNIX_EPOCH) / 10_000n);
}

/** tokenGroups and msDS-User-Account-Control-Computed: constructed, so asked of the entry itself. */
async function constructed(
  session: Session,
  dn: string,
): Promise<{ groupSids: string[]; computed: number | undefined }> {
  const { searchEntries } = await session.client.search(dn, {
    scope: 'base',
    attributes: ['tokenGroups', 'msDS-User-Account-Control-Computed'],
    explicitBufferAttributes: ['tokenGroups'],
  });
  const entry = searchEntries[0];
  const raw = entry?.tokenGroups;
  const values = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  const groupSids: string[] = [];
  for (const value of values) {
    const sid = Buffer.isBuffer(value) ? sidFromBytes(value) : undefined;
    if (sid !== undefined) groupSids.push(sid);
  }
  return { groupSids, computed: integerOf(entry?.['msDS-User-Account-Control-Computed']) };
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
  const { groupSids, computed } = await constructed(session, entry.dn);
  const expires = filetimeOf(entry.accountExpires);
  const lockout = filetimeOf(entry.lockoutTime);
  return {
    // The account's own domain (its DN), which is not the search base's in a forest.
    name: `${account}@${realmOfNamingContext(entry.dn)}`,
    sid,
    groupSids,
    ...(typeof upn === 'string' && upn !== '' ? { upn } : {}),
    matchedBy,
    userAccountControl: integerOf(entry.userAccountControl),
    ...(computed === undefined ? {} : { computedAccountControl: computed }),
    ...(typeof lockout === 'number' ? { lockoutTime: lockout } : {}),
    ...(typeof expires === 'number' ? { accountExpires: expires } : {}),
  };
}

async function accountsOf(
  session: Session,
  entries: readonly Entry[],
  matchedBy: DirectoryAccount['matchedBy'],
): Promise<DirectoryAccount[]> {
  const accounts: DirectoryAccount[] = [];
  for (const entry of entries) {
    const account = await accountOf(session, entry, matchedBy);
    if (account !== undefined) accounts.push(account);
  }
  return accounts;
}

/**
 * Where AD keeps the NTAuth store, under the configuration partition: a certificationAuthority
 * object whose cACertificate values (MS-ADA1 §2.95, multi-valued octet strings) are the DER CA
 * certificates trusted for logon (MS-WCCE, "NTAuthCertificates Object").
 */
const NTAUTH_RDNS = 'CN=NTAuthCertificates,CN=Public Key Services,CN=Services';

/**
 * The forest's NTAuth store: the `cACertificate` values (DER) of the NTAuthCertificates object,
 * which `certutil -dspublish -f ca.crt NTAuthCA` writes; none when the object does not exist.
 */
async function ntAuthCertificates(session: Session): Promise<Buffer[]> {
  if (session.configurationDn === '') {
    throw new Error('the server named no configurationNamingContext');
  }
  try {
    const { searchEntries } = await session.client.search(
      `${NTAUTH_RDNS},${session.configurationDn}`,
      { scope: 'base', attributes: ['cACertificate'], explicitBufferAttributes: ['cACertificate'] },
    );
    const raw = searchEntries[0]?.cACertificate;
    const values = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
    return values.filter((value): value is Buffer => Buffer.isBuffer(value));
  } catch (error) {
    if (error instanceof NoSuchObjectError) return [];
    throw error;
  }
}

/**
 * Finds a certificate's accounts in Active Directory over LDAP (see above). Throws
 * `ERR_HTTPAUTH_INVALID_OPTIONS` on bad options; a lookup throws when the directory cannot answer.
 */
export function ldapCertificateLookup(options: LdapSidLookupOptions): LdapCertificateLookup {
  const connection = sharedConnection(options);
  return {
    async findAccounts(query) {
      const strong = query.altSecurityIdentities.filter(usable).slice(0, MAX_VALUES);
      return connection.run(async (session) => {
        if (strong.length > 0) {
          const entries = await findEntries(session, 'altSecurityIdentities', strong);
          // Found by a strong form: the UPN is not asked (no fall-through on two accounts).
          if (entries.length > 0) return accountsOf(session, entries, 'altSecurityIdentities');
        }
        if (!usable(query.upn)) return [];
        const entries = await findEntries(session, 'userPrincipalName', [query.upn]);
        return accountsOf(session, entries, 'upn');
      });
    },
    ntAuthCertificates: () => connection.run(ntAuthCertificates),
    close: () => connection.close(),
  };
}
