/**
 * The demo's configuration, a pure function of the environment (documented in README.md; the
 * variable names are a public interface: keep them stable).
 *
 * Each security package the demo can offer is one `PackageSetup`: it reads its own variables and
 * returns the package, or undefined when the environment does not enable it. Adding a package is
 * a few lines: write its setup and put it in SETUPS at the place of its challenge.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  basic,
  createSidResolver,
  digest,
  digestFile,
  htdigestFile,
  KeytabFile,
  negotiate,
  ntlm,
  smbpasswdFile,
  type NegotiatePackage,
  type SecurityPackage,
  type SidResolver,
} from '@httpauth/core';
import { ldapSidLookup } from '@httpauth/ldap';
import { clientCertificatesFromEnv, type ClientCertificateSetup } from './client-certificates.js';

export type Env = Readonly<Record<string, string | undefined>>;

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_REALM = 'httpauth-demo';
/** The committed demo users (alice/alicepw, bob/bobpw) for DEFAULT_REALM. */
export const DEMO_USERS_FILE = fileURLToPath(new URL('../demo-users.digest', import.meta.url));
/** The committed demo NTLM accounts (smbpasswd: alice/alicepw, bob/bobpw; carol disabled). */
export const DEMO_NTLM_FILE = fileURLToPath(new URL('../demo-users.smbpasswd', import.meta.url));
/** The NetBIOS domain NTLM principals belong to: /whoami says `DEMO\\alice`. */
export const DEFAULT_NTLM_DOMAIN = 'DEMO';

export interface DemoConfig {
  readonly host: string;
  readonly port: number;
  readonly realm: string;
  /** The security packages in challenge order. */
  readonly packages: readonly SecurityPackage[];
  /** One line per offered package, for the start-up log and GET /. */
  readonly offers: readonly string[];
  /** One line per package the demo does not offer, and why, for the start-up log and GET /. */
  readonly notOffered: readonly string[];
  /** Names for the group SIDs of domain users (HTTPAUTH_LDAP_*), when configured. */
  readonly directory?: SidResolver;
  /** Commands that work against this configuration, for GET / (`{base}` is the server URL). */
  readonly examples: readonly string[];
  /** HTTPAUTH_TLS_CERT and HTTPAUTH_TLS_KEY: serve HTTPS with this PEM certificate and key. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** HTTPAUTH_TLS_CLIENT_CA and HTTPAUTH_TLS_CRL: client certificates, asked before the packages. */
  readonly clientCertificates?: ClientCertificateSetup;
}

interface SetupContext {
  readonly realm: string;
  /** HTTPS (HTTPAUTH_TLS_CERT/KEY set): Basic needs it unless allowed insecure on loopback. */
  readonly tls: boolean;
  readonly host: string;
  /**
   * Whether the committed demo users may log on. Only while the environment names no user source
   * of its own: once an operator gives real credentials for any mechanism, alice/alicepw must not
   * stay open through another mechanism (a server run with a real user file must not also admit
   * the well-known demo passwords).
   */
  readonly demoUsers: boolean;
}

/** The variables that name a user source of the operator's own, one per mechanism. */
export const USER_SOURCE_VARIABLES = [
  'KRB5_KTNAME',
  'HTTPAUTH_NTLM_FILE',
  'HTTPAUTH_NTLM_MACHINE',
  'HTTPAUTH_NTLM_DC',
  'HTTPAUTH_DIGEST_FILE',
];

interface PackageOffer {
  readonly pkg: SecurityPackage;
  readonly offer: string;
  readonly examples: readonly string[];
}

/** A package the environment leaves off, with the reason said at start-up. */
interface NotOffered {
  readonly notOffered: string;
}

type PackageSetup = (env: Env, context: SetupContext) => PackageOffer | NotOffered;

const OWN_SOURCES_ONLY =
  'the demo users are off because the environment names a user source of its own';

/** A configuration error, said plainly at start-up. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

/**
 * Digest (RFC 7616). HTTPAUTH_DIGEST_FILE: an Apache htdigest file, which holds MD5 H(A1)s only,
 * so MD5 is all the demo can offer with it. Without it: the committed demo users, whose file
 * holds SHA-256 and MD5 H(A1)s, offered SHA-256 first.
 */
const digestSetup: PackageSetup = (env, { realm, demoUsers }) => {
  const file = nonEmpty(env, 'HTTPAUTH_DIGEST_FILE');
  if (file !== undefined) {
    return {
      pkg: digest({ realm, credentials: htdigestFile(file), algorithms: ['MD5'] }),
      offer: `Digest (MD5) for the users of ${file}`,
      examples: ['curl --digest -u USER:PASSWORD {base}/whoami'],
    };
  }
  if (!demoUsers) return { notOffered: `Digest: no HTTPAUTH_DIGEST_FILE (${OWN_SOURCES_ONLY})` };
  if (realm !== DEFAULT_REALM) {
    throw new ConfigError(
      `The demo users belong to realm "${DEFAULT_REALM}"; with HTTPAUTH_REALM="${realm}" set ` +
        'HTTPAUTH_DIGEST_FILE to an htdigest file for that realm.',
    );
  }
  return {
    pkg: digest({
      realm,
      credentials: digestFile(DEMO_USERS_FILE),
      algorithms: ['SHA-256', 'MD5'],
    }),
    offer: 'Digest (SHA-256, MD5) for the demo users alice/alicepw and bob/bobpw',
    examples: [
      'curl --digest -u alice:alicepw {base}/whoami',
      `python3 -c "import requests; from requests.auth import HTTPDigestAuth; ` +
        `print(requests.get('{base}/whoami', auth=HTTPDigestAuth('bob', 'bobpw')).text)"`,
    ],
  };
};

/**
 * NTLM pass-through to Active Directory (docs/ntlm.md, "Join a domain in five minutes"):
 * HTTPAUTH_NTLM_MACHINE (e.g. WEB1$) with HTTPAUTH_NTLM_MACHINE_PASSWORD_FILE, and
 * HTTPAUTH_NTLM_DC (comma-separated `host` or `host:port`; unset: DNS SRV for
 * HTTPAUTH_NTLM_DNS_DOMAIN).
 */
function domainControllerSetup(env: Env, domain: string, machineAccount: string): PackageOffer {
  const passwordFile = nonEmpty(env, 'HTTPAUTH_NTLM_MACHINE_PASSWORD_FILE');
  if (passwordFile === undefined) {
    throw new ConfigError(
      'HTTPAUTH_NTLM_MACHINE needs HTTPAUTH_NTLM_MACHINE_PASSWORD_FILE (the machine password)',
    );
  }
  const servers = nonEmpty(env, 'HTTPAUTH_NTLM_DC')
    ?.split(',')
    .map((server) => server.trim())
    .filter((server) => server !== '');
  const dnsDomain = nonEmpty(env, 'HTTPAUTH_NTLM_DNS_DOMAIN')?.trim();
  let pkg;
  try {
    pkg = ntlm({
      domain: dnsDomain === undefined ? domain : { netbios: domain, dns: dnsDomain },
      domainController: {
        machineAccount: machineAccount.trim(),
        machinePasswordFile: passwordFile,
        ...(servers === undefined ? {} : { servers }),
      },
    });
  } catch {
    throw new ConfigError(
      'HTTPAUTH_NTLM_MACHINE / _MACHINE_PASSWORD_FILE / HTTPAUTH_NTLM_DC: invalid ' +
        '(a readable password file, an account of at most 15 characters plus $, DCs as host[:port], ' +
        'or HTTPAUTH_NTLM_DNS_DOMAIN for a DNS SRV lookup)',
    );
  }
  return {
    pkg,
    offer: `NTLM (domain ${domain}) checked by the domain controller as ${machineAccount}`,
    examples: [`curl --ntlm -u '${domain}\\USER:PASSWORD' {base}/whoami`],
  };
}

/**
 * NTLM (MS-NLMP). HTTPAUTH_NTLM_FILE: a Samba smbpasswd file (NT hashes), default the committed
 * demo accounts; HTTPAUTH_NTLM_DOMAIN: the NetBIOS domain of those accounts (default DEMO).
 * NTLM authenticates the connection, so it is offered on HTTP/1.1 only.
 */
const ntlmSetup: PackageSetup = (env, { demoUsers }) => {
  const file = nonEmpty(env, 'HTTPAUTH_NTLM_FILE');
  const machineAccount = nonEmpty(env, 'HTTPAUTH_NTLM_MACHINE');
  const viaWinbind = nonEmpty(env, 'HTTPAUTH_NTLM_DC')?.trim() === 'winbind';
  if (file === undefined && machineAccount === undefined && !viaWinbind && !demoUsers) {
    return { notOffered: `NTLM: no HTTPAUTH_NTLM_FILE (${OWN_SOURCES_ONLY})` };
  }
  const domain = (nonEmpty(env, 'HTTPAUTH_NTLM_DOMAIN') ?? DEFAULT_NTLM_DOMAIN).trim();
  if (!/^[^\\/:*?"<>|]{1,15}$/.test(domain)) {
    throw new ConfigError(
      `HTTPAUTH_NTLM_DOMAIN must be a NetBIOS name (1 to 15 characters), not "${domain}"`,
    );
  }
  if (viaWinbind) {
    if (machineAccount !== undefined || file !== undefined) {
      throw new ConfigError(
        "HTTPAUTH_NTLM_DC=winbind checks NTLM through this host's winbind: leave " +
          'HTTPAUTH_NTLM_MACHINE and HTTPAUTH_NTLM_FILE unset',
      );
    }
    return {
      pkg: ntlm({ domain, winbind: true }),
      offer: `NTLM (domain ${domain}) checked by this host's winbind (ntlm_auth)`,
      examples: [`curl --ntlm -u '${domain}\\USER:PASSWORD' {base}/whoami`],
    };
  }
  if (machineAccount !== undefined) return domainControllerSetup(env, domain, machineAccount);
  let credentials;
  try {
    credentials = smbpasswdFile(file ?? DEMO_NTLM_FILE);
  } catch {
    throw new ConfigError(`HTTPAUTH_NTLM_FILE: cannot read the smbpasswd file "${file}"`);
  }
  return {
    pkg: ntlm({ domain, credentials }),
    offer:
      file === undefined
        ? `NTLM (domain ${domain}) for the demo users alice/alicepw and bob/bobpw`
        : `NTLM (domain ${domain}) for the users of ${file}`,
    examples:
      file === undefined
        ? ['curl --ntlm -u alice:alicepw {base}/whoami']
        : ['curl --ntlm -u USER:PASSWORD {base}/whoami'],
  };
};

/**
 * Negotiate (RFC 4559, SPNEGO with Kerberos). KRB5_KTNAME, as MIT reads it (`FILE:` prefix
 * allowed): the keytab holding the service's keys (HTTP/host@REALM). Without it, no Negotiate:
 * the demo never offers a scheme it cannot verify. The keytab is re-read when it changes.
 */
const negotiateSetup: PackageSetup = (env) => {
  const keytab = nonEmpty(env, 'KRB5_KTNAME');
  if (keytab === undefined) return { notOffered: 'Negotiate: no KRB5_KTNAME (no service keytab)' };
  let pkg: NegotiatePackage;
  try {
    pkg = negotiate({ kerberos: { keytab: keytab.trim() }, kerberosOnly: true });
    // Read it now, so a missing or unreadable keytab is said at start-up, not on the first request.
    pkg.kerberos?.keytab();
  } catch {
    throw new ConfigError(`KRB5_KTNAME: cannot read the keytab "${keytab}"`);
  }
  return {
    pkg,
    offer: `Negotiate (Kerberos) for the service keys in ${keytab}`,
    examples: [
      "kinit USER && curl --negotiate -u : http://HOST:PORT/whoami   # HOST: the host of the keytab's HTTP/HOST principal",
    ],
  };
};

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/**
 * Basic with Kerberos passwords (docs/basic.md, "Kerberos passwords"): HTTPAUTH_BASIC_KERBEROS=1
 * with KRB5_KTNAME (the service keytab the KDC is verified with) and KRB5_CONFIG (the realm's
 * `kdc` entries; else DNS SRV); HTTPAUTH_KERBEROS_REALM, default the keytab's realm. Offered over
 * HTTPS only, or over plain HTTP on a loopback HOST with HTTPAUTH_BASIC_INSECURE=1 (for tests).
 */
const basicKerberosSetup: PackageSetup = (env, { realm, tls, host }) => {
  if (nonEmpty(env, 'HTTPAUTH_BASIC_KERBEROS')?.trim() !== '1') {
    return { notOffered: 'Basic: HTTPAUTH_BASIC_KERBEROS is not 1' };
  }
  const keytab = nonEmpty(env, 'KRB5_KTNAME')?.trim();
  if (keytab === undefined) {
    throw new ConfigError('HTTPAUTH_BASIC_KERBEROS=1 needs KRB5_KTNAME (the service keytab)');
  }
  const insecure = nonEmpty(env, 'HTTPAUTH_BASIC_INSECURE')?.trim() === '1';
  if (insecure && !LOOPBACK.test(host)) {
    throw new ConfigError(
      `HTTPAUTH_BASIC_INSECURE=1 is for a loopback HOST only (passwords in clear), not "${host}"`,
    );
  }
  if (!tls && !insecure) {
    throw new ConfigError(
      'HTTPAUTH_BASIC_KERBEROS=1 sends domain passwords: set HTTPAUTH_TLS_CERT and ' +
        'HTTPAUTH_TLS_KEY (HTTPS), or HTTPAUTH_BASIC_INSECURE=1 on a loopback HOST for testing',
    );
  }
  let kerberosRealm = nonEmpty(env, 'HTTPAUTH_KERBEROS_REALM')?.trim();
  let pkg: SecurityPackage;
  try {
    kerberosRealm ??= new KeytabFile(keytab).current().entries[0]?.realm;
    if (kerberosRealm === undefined) throw new Error('empty keytab');
    const krb5Conf = nonEmpty(env, 'KRB5_CONFIG')?.trim();
    pkg = basic({
      realm,
      kerberos: { realm: kerberosRealm, keytab, ...(krb5Conf === undefined ? {} : { krb5Conf }) },
      allowInsecure: insecure,
    });
  } catch {
    throw new ConfigError(
      'HTTPAUTH_BASIC_KERBEROS=1: KRB5_KTNAME must be a readable keytab with a key of the realm, ' +
        'KRB5_CONFIG a readable krb5.conf, HTTPAUTH_KERBEROS_REALM a realm name',
    );
  }
  return {
    pkg,
    offer: `Basic with Kerberos passwords of ${kerberosRealm}, the KDC verified with ${keytab}${tls ? '' : ' (INSECURE: plain HTTP on loopback)'}`,
    examples: [`curl${tls ? ' -k' : ''} -u USER:PASSWORD {base}/whoami`],
  };
};

/**
 * Challenge order: the strongest scheme first, as browsers and curl --anyauth expect
 * (Negotiate, NTLM, Digest, then Basic).
 */
const SETUPS: readonly PackageSetup[] = [
  negotiateSetup,
  ntlmSetup,
  digestSetup,
  basicKerberosSetup,
];

/**
 * Names for the SIDs of domain users (docs/active-directory.md): HTTPAUTH_LDAP_URL (`ldaps://dc1`,
 * or `ldap://dc1` with StartTLS), HTTPAUTH_LDAP_BIND_DN and HTTPAUTH_LDAP_PASSWORD_FILE (an
 * account that may read objectSid), HTTPAUTH_LDAP_CA (a PEM file, for a private CA) and
 * HTTPAUTH_LDAP_SERVERNAME (the certificate's name, when the URL names an address). The bind is
 * over TLS only. Without them, /whoami shows group SIDs alone.
 */
function directoryFromEnv(env: Env): SidResolver | undefined {
  const url = nonEmpty(env, 'HTTPAUTH_LDAP_URL')?.trim();
  if (url === undefined) return undefined;
  const dn = nonEmpty(env, 'HTTPAUTH_LDAP_BIND_DN');
  const passwordFile = nonEmpty(env, 'HTTPAUTH_LDAP_PASSWORD_FILE');
  if (dn === undefined || passwordFile === undefined) {
    throw new ConfigError(
      'HTTPAUTH_LDAP_URL needs HTTPAUTH_LDAP_BIND_DN and HTTPAUTH_LDAP_PASSWORD_FILE',
    );
  }
  const read = (name: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch {
      throw new ConfigError(`${name}: cannot read "${file}"`);
    }
  };
  const password = read('HTTPAUTH_LDAP_PASSWORD_FILE', passwordFile).toString('utf8').trim();
  const caFile = nonEmpty(env, 'HTTPAUTH_LDAP_CA');
  const servername = nonEmpty(env, 'HTTPAUTH_LDAP_SERVERNAME')?.trim();
  const tls = {
    ...(caFile === undefined ? {} : { ca: read('HTTPAUTH_LDAP_CA', caFile) }),
    ...(servername === undefined ? {} : { servername }),
  };
  try {
    return createSidResolver({ lookup: ldapSidLookup({ url, bind: { dn, password }, tls }) });
  } catch {
    throw new ConfigError(`HTTPAUTH_LDAP_URL: not an ldaps:// or ldap:// URL: "${url}"`);
  }
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_PORT;
  if (!/^\d{1,5}$/.test(value.trim()) || Number(value) > 65535) {
    throw new ConfigError(`PORT must be a number from 0 to 65535, not "${value}"`);
  }
  return Number(value);
}

/** HTTPAUTH_TLS_CERT and HTTPAUTH_TLS_KEY (PEM files): both or neither. */
function tlsFromEnv(env: Env): { cert: Buffer; key: Buffer } | undefined {
  const certFile = nonEmpty(env, 'HTTPAUTH_TLS_CERT');
  const keyFile = nonEmpty(env, 'HTTPAUTH_TLS_KEY');
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    throw new ConfigError('HTTPAUTH_TLS_CERT and HTTPAUTH_TLS_KEY go together');
  }
  try {
    return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
  } catch {
    throw new ConfigError('HTTPAUTH_TLS_CERT / HTTPAUTH_TLS_KEY: cannot read the PEM files');
  }
}

export function configFromEnv(env: Env = process.env): DemoConfig {
  const realm = nonEmpty(env, 'HTTPAUTH_REALM') ?? DEFAULT_REALM;
  const demoUsers = USER_SOURCE_VARIABLES.every((name) => nonEmpty(env, name) === undefined);
  const tls = tlsFromEnv(env);
  const host = nonEmpty(env, 'HOST') ?? DEFAULT_HOST;
  const offers: PackageOffer[] = [];
  const notOffered: string[] = [];
  for (const setup of SETUPS) {
    const result = setup(env, { realm, demoUsers, tls: tls !== undefined, host });
    if ('pkg' in result) offers.push(result);
    else notOffered.push(result.notOffered);
  }
  const clientCertificates = clientCertificatesFromEnv(
    env,
    tls !== undefined,
    (message) => new ConfigError(message),
  );
  if (offers.length === 0 && clientCertificates === undefined) {
    throw new ConfigError('no security package is configured');
  }
  const directory = directoryFromEnv(env);
  return {
    host,
    port: parsePort(env.PORT),
    realm,
    packages: offers.map((o) => o.pkg),
    // The certificate is asked first: a client with one is never challenged.
    offers: [
      ...(clientCertificates === undefined ? [] : [clientCertificates.offer]),
      ...offers.map((o) => o.offer),
    ],
    notOffered,
    ...(directory === undefined ? {} : { directory }),
    examples: [...(clientCertificates?.examples ?? []), ...offers.flatMap((o) => o.examples)],
    ...(tls === undefined ? {} : { tls }),
    ...(clientCertificates === undefined ? {} : { clientCertificates }),
  };
}
