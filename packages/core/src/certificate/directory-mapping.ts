/**
 * The `directory` mapping rule: the account whose `altSecurityIdentities` names this certificate,
 * found in Active Directory, the way the KDC and IIS map a certificate to an account
 * (KB5014754). The strong forms are built from the certificate as the KDC builds them
 * (kerberos.dll's KerbBuildX509AltSecId) and looked up:
 *
 *   X509:<I>issuer<SR>serial   the issuer as windows-name.ts spells it; the serial number's
 *                              content octets as encoded (a leading 00 kept) in reverse order,
 *                              as CERT_INFO.SerialNumber holds them (little-endian)
 *   X509:<SKI>hex              the subjectKeyIdentifier extension's value as the CA wrote it
 *                              (RFC 5280 §4.2.1.2); no such extension, no SKI form: Windows
 *                              neither computes one nor compares it with the key
 *   X509:<SHA1-PUKEY>hex       SHA-1 of the whole certificate (its thumbprint), despite the name
 *
 * The hex is upper-case; AD compares these String(Unicode) values ignoring case. With `byUpn`
 * the subjectAltName UPN is looked up too (the implicit UPN mapping: weak, needs
 * `allowWeakMappings`). Windows honours these mappings only for certificates whose issuing CA is
 * in the domain's NTAuth store; the rule's `issuers` is that list (mapping.ts checks it).
 * The found account is refused when two accounts claim the certificate, when its SID differs from
 * the certificate's SID extension (KB5014754), or when it is disabled, locked out or expired.
 * `@httpauth/ldap`'s `ldapCertificateLookup` implements the lookup over LDAP.
 */
import { createHash } from 'node:crypto';
import { HttpAuthError, type ErrorCode } from '../errors.js';
import type { PathCertificate } from './chain.js';
import { decodeSubjectKeyIdentifier, OID_SUBJECT_KEY_IDENTIFIER } from './extensions.js';
import { windowsNameString } from './windows-name.js';

/** What a certificate lookup is asked: the strong altSecurityIdentities values, maybe the UPN. */
export interface CertificateAccountQuery {
  /** Values to find in `altSecurityIdentities` (any of them; strong forms only). */
  readonly altSecurityIdentities: readonly string[];
  /** The subjectAltName UPN to find in `userPrincipalName` (only when the rule has `byUpn`). */
  readonly upn?: string;
}

/** An account a lookup found, with what the rule needs to decide whether it may log on. */
export interface DirectoryAccount {
  /** The account's name as the server's other logons name it: `alice@SAMDOM.TEST`. */
  readonly name: string;
  /** The account's SID (objectSid). */
  readonly sid: string;
  /** The SIDs of its groups, nested ones included (tokenGroups). */
  readonly groupSids: readonly string[];
  readonly upn?: string;
  /** Which value matched: `altSecurityIdentities` (strong) or `upn` (weak). */
  readonly matchedBy: 'altSecurityIdentities' | 'upn';
  /**
   * userAccountControl (MS-ADTS §2.2.16), or undefined when it could not be read: the account is
   * then refused, as a disabled one is.
   */
  readonly userAccountControl: number | undefined;
  /**
   * msDS-User-Account-Control-Computed (MS-ADTS §3.1.1.4.5.17), when the DC returns it: its
   * UF_LOCKOUT bit says whether the account is locked out now (lockoutTime within the domain's
   * lockoutDuration).
   */
  readonly computedAccountControl?: number;
  /** lockoutTime in ms since 1970; used when computedAccountControl is absent: non-zero is locked. */
  readonly lockoutTime?: number;
  /** accountExpires in ms since 1970; undefined when the account never expires. */
  readonly accountExpires?: number;
}

/**
 * Finds the accounts of a certificate in a directory. Throws when the directory cannot answer:
 * the logon is then refused with ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED (503), never mapped by a
 * later rule.
 */
export interface CertificateAccountLookup {
  /**
   * The accounts the query names: those whose altSecurityIdentities holds one of the values; only
   * when there is none, those whose userPrincipalName is the UPN. Two are enough to show that the
   * mapping is ambiguous (the rule then refuses the certificate).
   */
  findAccounts(query: CertificateAccountQuery): Promise<readonly DirectoryAccount[]>;
  /**
   * The CA certificates (DER) of the forest's NTAuth store: the `cACertificate` values of
   * CN=NTAuthCertificates,CN=Public Key Services,CN=Services in the configuration partition;
   * an empty list when the object is absent. Needed by a rule with `issuers: 'ntauth'`.
   */
  ntAuthCertificates?(): Promise<readonly Buffer[]>;
}

/** userAccountControl ACCOUNTDISABLE (MS-ADTS §2.2.16). */
const UF_ACCOUNT_DISABLE = 0x2;
/** userAccountControl / msDS-User-Account-Control-Computed LOCKOUT (MS-ADTS §2.2.16). */
const UF_LOCKOUT = 0x10;

/** The serial number's encoded octets in reverse order, as `X509:<SR>` holds them. */
function reversedSerial(octets: Buffer): string {
  return Buffer.from(octets).reverse().toString('hex').toUpperCase();
}

/** The strong altSecurityIdentities values this certificate matches (KB5014754). */
export function strongAltSecurityIdentities(leaf: PathCertificate): string[] {
  const issuer = windowsNameString(leaf.parsed.issuerDer);
  const values = [`X509:<I>${issuer}<SR>${reversedSerial(leaf.parsed.serialOctets)}`];
  const ski = leaf.parsed.extensions.get(OID_SUBJECT_KEY_IDENTIFIER);
  if (ski !== undefined) {
    values.push(`X509:<SKI>${decodeSubjectKeyIdentifier(ski.value).toString('hex').toUpperCase()}`);
  }
  const thumbprint = createHash('sha1').update(leaf.parsed.der).digest('hex').toUpperCase();
  values.push(`X509:<SHA1-PUKEY>${thumbprint}`);
  return values;
}

function refuse(code: ErrorCode, account: DirectoryAccount, why: string): never {
  throw new HttpAuthError(code, { reason: `${account.name} ${why}` });
}

/** Refuses an account that may not log on now: disabled (or unreadable), locked out, expired. */
function checkAccountState(account: DirectoryAccount, now: number): void {
  const control = account.userAccountControl;
  if (typeof control !== 'number' || !Number.isInteger(control)) {
    refuse('ERR_HTTPAUTH_CERT_ACCOUNT_DISABLED', account, 'has no readable userAccountControl');
  }
  if ((control & UF_ACCOUNT_DISABLE) !== 0) {
    refuse('ERR_HTTPAUTH_CERT_ACCOUNT_DISABLED', account, 'is disabled');
  }
  const computed = account.computedAccountControl;
  const locked =
    (control & UF_LOCKOUT) !== 0 ||
    (typeof computed === 'number'
      ? (computed & UF_LOCKOUT) !== 0
      : // Without the computed flag the lockout duration is unknown: any lockoutTime counts.
        account.lockoutTime !== undefined && account.lockoutTime !== 0);
  if (locked) refuse('ERR_HTTPAUTH_CERT_ACCOUNT_LOCKED', account, 'is locked out');
  if (account.accountExpires !== undefined && !(account.accountExpires > now)) {
    refuse('ERR_HTTPAUTH_CERT_ACCOUNT_EXPIRED', account, 'has expired');
  }
}

/**
 * The lookup's answer checked against the certificate: undefined when it names no account;
 * throws when it names two, another account than the SID extension, or one that may not log on.
 */
export function acceptedAccount(
  accounts: readonly DirectoryAccount[],
  certificateSid: string | undefined,
  now: number,
): DirectoryAccount | undefined {
  if (!Array.isArray(accounts)) throw new TypeError('findAccounts must answer a list');
  const [account, second] = accounts;
  if (account === undefined) return undefined;
  if (second !== undefined) {
    // Two accounts claim the certificate: neither is it, and no weaker rule may pick one.
    throw new HttpAuthError('ERR_HTTPAUTH_CERT_MAPPING_AMBIGUOUS', {
      reason: `${accounts.map((a) => a.name).join(', ')} all map this certificate`,
    });
  }
  if (certificateSid !== undefined && certificateSid !== account.sid) {
    // KB5014754: a SID extension that names another account than the mapping found is refused.
    refuse(
      'ERR_HTTPAUTH_CERT_UNMAPPED',
      account,
      `has SID ${account.sid}, not the certificate's ${certificateSid}`,
    );
  }
  checkAccountState(account, now);
  return account;
}
