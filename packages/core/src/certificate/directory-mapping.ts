/**
 * The `directory` mapping rule: the account whose `altSecurityIdentities` names this certificate,
 * found in Active Directory, the way the KDC and IIS map a certificate to an account
 * (KB5014754). The strong forms are built from the certificate and looked up:
 *
 *   X509:<I>issuer<SR>serial   issuer's RDNs most significant first (`DC=test,DC=samdom,CN=CA`),
 *                              serial number bytes in reverse order (as certutil shows them)
 *   X509:<SKI>hex              the subject key identifier extension (RFC 5280 §4.2.1.2)
 *
 * With `byUpn` the UPN of the subjectAltName is looked up too (the implicit UPN mapping: weak,
 * needs `allowWeakMappings`). The account's SID must agree with the certificate's SID extension
 * when it carries one (KB5014754 full enforcement), and a disabled account maps to nothing.
 * `@httpauth/ldap`'s `ldapCertificateLookup` implements the lookup over LDAP.
 */
import { HttpAuthError } from '../errors.js';
import type { PathCertificate } from './chain.js';
import { decodeSubjectKeyIdentifier, OID_SUBJECT_KEY_IDENTIFIER } from './extensions.js';

/** What a certificate lookup is asked: the strong altSecurityIdentities values, maybe the UPN. */
export interface CertificateAccountQuery {
  /** Values to find in `altSecurityIdentities` (any of them; strong forms only). */
  readonly altSecurityIdentities: readonly string[];
  /** The subjectAltName UPN to find in `userPrincipalName` (only when the rule has `byUpn`). */
  readonly upn?: string;
}

/** The account a lookup found. */
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
  /** The account is disabled (userAccountControl ACCOUNTDISABLE): it maps to nothing. */
  readonly disabled: boolean;
}

/**
 * Finds the account of a certificate in a directory. Undefined: none, or more than one (an
 * ambiguous mapping names no account). Throws when the directory cannot answer: the logon is then
 * refused with ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED (503), never mapped by a later rule.
 */
export interface CertificateAccountLookup {
  /** The one account the query names (see above), or undefined. */
  findAccount(query: CertificateAccountQuery): Promise<DirectoryAccount | undefined>;
}

/** The issuer as AD spells it in `X509:<I>`: the RDNs from the most significant one. */
function issuerForAd(leaf: PathCertificate): string {
  // node:crypto prints one RDN per line in certificate order, most significant first.
  return leaf.x509.issuer.split('\n').join(',');
}

/** The serial number's bytes reversed, as `X509:<SR>` wants them (upper-case hex). */
function reversedSerial(serialHex: string): string {
  const bytes = serialHex.length % 2 === 0 ? serialHex : `0${serialHex}`;
  return Buffer.from(bytes, 'hex').reverse().toString('hex').toUpperCase();
}

/** The strong altSecurityIdentities values this certificate matches (KB5014754). */
export function strongAltSecurityIdentities(leaf: PathCertificate): string[] {
  const values = [`X509:<I>${issuerForAd(leaf)}<SR>${reversedSerial(leaf.parsed.serialHex)}`];
  const ski = leaf.parsed.extensions.get(OID_SUBJECT_KEY_IDENTIFIER);
  if (ski !== undefined) {
    values.push(`X509:<SKI>${decodeSubjectKeyIdentifier(ski.value).toString('hex').toUpperCase()}`);
  }
  return values;
}

/** The lookup's answer checked against the certificate: undefined when it names no account. */
export function acceptedAccount(
  account: DirectoryAccount | undefined,
  certificateSid: string | undefined,
): DirectoryAccount | undefined {
  if (account === undefined) return undefined;
  if (account.disabled) {
    // The certificate names this account: a weaker rule must not map it anyway.
    throw new HttpAuthError('ERR_HTTPAUTH_CERT_UNMAPPED', {
      reason: `${account.name} is disabled`,
    });
  }
  if (certificateSid !== undefined && certificateSid !== account.sid) {
    // KB5014754: a SID extension that names another account than the mapping found is refused.
    throw new HttpAuthError('ERR_HTTPAUTH_CERT_UNMAPPED', {
      reason: `the certificate's SID ${certificateSid} is not ${account.name}'s ${account.sid}`,
    });
  }
  return account;
}
