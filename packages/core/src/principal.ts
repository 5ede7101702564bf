/**
 * Who the client proved to be. Every security package produces one; adapters attach it to the
 * request. Fields beyond `name`/`user`/`mechanism` are filled only when the token proved them.
 */
export type Mechanism = 'Kerberos' | 'NTLM' | 'Digest' | 'Basic' | 'Session' | 'Certificate';

/** How a TLS client certificate became this principal (the certificate package, docs/certificates.md). */
export interface CertificateMapping {
  /**
   * 'strong' when the certificate names the account unforgeably (the SID extension, an explicit
   * issuer+serial or thumbprint entry), 'weak' when by a name any certificate could carry (UPN,
   * e-mail, subject), in the sense of Microsoft's KB5014754.
   */
  readonly strength: 'strong' | 'weak';
  /** The rule that matched: 'sid', 'issuer-serial', 'thumbprint', 'upn', 'email' or 'subject'. */
  readonly rule: string;
  /** SHA-256 of the certificate's DER, upper-case hex with colons (as node:crypto prints it). */
  readonly fingerprint256: string;
  /** Issuer and subject in RFC 4514 form, and the serial number in hex. */
  readonly issuer: string;
  readonly subject: string;
  readonly serialNumber: string;
}

/**
 * What a domain controller or a PAC said about the logon besides the SIDs (MS-PAC §2.5
 * KERB_VALIDATION_INFO): logon domain and server, full name, primary group and user flags.
 */
export interface LogonInfo {
  /** NetBIOS name of the logon domain (MS-PAC KERB_VALIDATION_INFO LogonDomainName). */
  readonly logonDomainName?: string;
  /** Logon server (MS-PAC LogonServer). */
  readonly logonServer?: string;
  /** Full name of the account (MS-PAC FullName). */
  readonly fullName?: string;
  /** Primary group SID (MS-PAC PrimaryGroupId resolved against the domain SID). */
  readonly primaryGroupSid?: string;
  /** MS-PAC UserFlags. */
  readonly userFlags?: number;
}

/**
 * Who the client proved to be: `auth.principal` on every authenticated request. `name`, `user`,
 * `realm` and `mechanism` are always set; SIDs, groups, UPN and the rest only when the token or the
 * credential source proved them.
 */
export interface Principal {
  /** Canonical name: `user@REALM` (Kerberos), `DOMAIN\user` (NTLM), or the user name (Digest, Basic). */
  readonly name: string;
  /**
   * The user part alone ('alice') for a principal of a local realm (see `localRealm`) and for
   * Digest and Basic; the full `name` for a principal of any other realm or domain.
   */
  readonly user: string;
  /** Kerberos realm, NTLM domain, or Digest/Basic realm. */
  readonly realm?: string;
  /**
   * True when `realm` is one of this server's local realms (Kerberos: `localRealms`, by default
   * the keytab's realms; NTLM: the configured domain). Only then is `user` the bare account name;
   * a principal of any other realm has `user === name`, and maps to no local user unless a mapping
   * rule names it.
   */
  readonly localRealm?: boolean;
  /** Which security package authenticated the request. */
  readonly mechanism: Mechanism;
  /** NTLM: the workstation name the client reported (not proven). */
  readonly workstation?: string;
  /** Windows SID of the user, when a PAC or a domain controller proved it. */
  readonly userSid?: string;
  /** Group SIDs proven by a PAC or a domain controller (includes extra SIDs and resource groups). */
  readonly groupSids?: readonly string[];
  /** Group names, when the credential source knows them. */
  readonly groups?: readonly string[];
  /**
   * User principal name from the PAC UPN_DNS_INFO buffer, only when the PAC does not mark it as
   * constructed (MS-PAC §2.10) and its domain is the client's realm.
   */
  readonly upn?: string;
  /** DNS domain name from the PAC UPN_DNS_INFO buffer. */
  readonly dnsDomain?: string;
  /** More of what the PAC LOGON_INFO buffer said. */
  readonly logonInfo?: LogonInfo;
  /** End of validity of what was proven (Kerberos ticket end time). Sessions never outlive it. */
  readonly expiresAt?: Date;
  /** True when the client delegated credentials (a forwarded TGT) with this authentication. */
  readonly delegated?: boolean;
  /** True when the client's token carried a channel binding that matched this connection. */
  readonly channelBound?: boolean;
  /** Certificate: how the client certificate was mapped. */
  readonly certificate?: CertificateMapping;
}

/** Split `user@REALM` at the last unescaped `@`, as krb5_parse_name does. */
export function splitKerberosName(name: string): { user: string; realm?: string } {
  for (let i = name.length - 1; i >= 0; i--) {
    if (name[i] === '@' && (i === 0 || name[i - 1] !== '\\')) {
      return { user: name.slice(0, i), realm: name.slice(i + 1) };
    }
  }
  return { user: name };
}
