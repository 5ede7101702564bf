/**
 * `httpauth doctor`: the checks an operator runs when a logon fails and the client only sees 401.
 * Each check is a function returning findings, so the gateway's `--check` and tests use the same
 * code as the command line.
 *
 * @module @httpauth/core/doctor
 */
import { Keytab } from '../kerberos/keytab.js';
import { checkCredentialFile, type CredentialFileKind } from './credential-files.js';
import { finding, passed, type Finding } from './findings.js';
import { checkHost } from './host.js';
import { checkKdc } from './kdc.js';
import { checkKeytab } from './keytab.js';
import { checkTicket } from './ticket.js';

export { checkCredentialFile, type CredentialFileKind } from './credential-files.js';
export { renderFindings, passed, type Finding, type FindingLevel } from './findings.js';
export { checkHost, type HostCheckOptions } from './host.js';
export { checkKdc, type KdcCheckOptions } from './kdc.js';
export {
  checkKeytab,
  describeKeytab,
  type KeytabCheck,
  type KeytabCheckOptions,
} from './keytab.js';
export { checkTicket, type TicketCheckOptions } from './ticket.js';

/**
 * What {@link runDoctor} (and `npx httpauth doctor`) checks. Only the checks whose inputs are given
 * run: the keytab when `keytab`, `spn`, `token`, `realm` or `kdc` is set; the ticket when `token`
 * is set; the KDC probe when `realm` or `kdc` is set; DNS when `host` is set; each of `files`.
 */
export interface DoctorOptions {
  /** Keytab name; default KRB5_KTNAME, else /etc/krb5.keytab. Checked when set or with spn/token. */
  readonly keytab?: string;
  readonly spn?: string;
  /** The host name clients use in URLs. */
  readonly host?: string;
  /** An `Authorization: Negotiate` token to try against the keytab. */
  readonly token?: string;
  /**
   * Probe this realm's KDCs (reachability, answer time, clock skew). Set `kdc` to probe the
   * realm of the SPN or of the keytab's first principal.
   */
  readonly realm?: string;
  /** Probe the KDCs even without `realm` (the realm then comes from the SPN or the keytab). */
  readonly kdc?: boolean;
  readonly allowRc4?: boolean;
  readonly files?: readonly { readonly kind: CredentialFileKind; readonly path: string }[];
}

/**
 * The outcome of {@link runDoctor}: every finding in check order, and `passed`, false when any
 * finding is a `fail` (the CLI then exits non-zero).
 */
export interface DoctorReport {
  readonly findings: readonly Finding[];
  readonly passed: boolean;
}

/**
 * The keytab the server uses when none is configured, as MIT Kerberos chooses it: `KRB5_KTNAME`
 * from the given environment when set and non-empty, else `/etc/krb5.keytab`.
 */
export function defaultKeytab(env: NodeJS.ProcessEnv = process.env): string {
  return env.KRB5_KTNAME !== undefined && env.KRB5_KTNAME !== ''
    ? env.KRB5_KTNAME
    : '/etc/krb5.keytab';
}

/**
 * Runs the checks {@link DoctorOptions} asks for, in order: keytab (and the SPN in it), the
 * client's ticket against the keytab, the KDCs of the realm, DNS for the host, then the credential
 * files. The KDC probe uses `realm`, else the SPN's realm, else the realm of the keytab's first
 * principal. Never throws for a bad keytab, token or file: each problem is a finding.
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const findings: Finding[] = [];
  const wantsKdc = options.realm !== undefined || options.kdc === true;
  const wantsKerberos =
    options.keytab !== undefined ||
    options.spn !== undefined ||
    options.token !== undefined ||
    wantsKdc;
  let keytabPrincipal: { principal: string; realm: string } | undefined;
  let keytabKeys: Keytab | undefined;
  if (wantsKerberos) {
    const keytab = options.keytab ?? defaultKeytab();
    const report = checkKeytab({
      keytab,
      ...(options.spn === undefined ? {} : { spn: options.spn }),
      ...(options.allowRc4 === undefined ? {} : { allowRc4: options.allowRc4 }),
    });
    findings.push(...report.findings);
    if (report.entries.length > 0) keytabKeys = new Keytab(report.entries);
    const first = report.entries[0];
    if (first !== undefined)
      keytabPrincipal = { principal: first.components.join('/'), realm: first.realm };
    if (options.token !== undefined && report.entries.length > 0) {
      findings.push(
        ...(await checkTicket({
          keytab,
          token: options.token,
          entries: report.entries,
          ...(options.allowRc4 === undefined ? {} : { allowRc4: options.allowRc4 }),
        })),
      );
    }
  }
  if (wantsKdc) findings.push(...(await kdcFindings(options, keytabPrincipal, keytabKeys)));
  if (options.host !== undefined) {
    findings.push(
      ...(await checkHost({
        host: options.host,
        ...(options.spn === undefined ? {} : { spn: options.spn }),
      })),
    );
  }
  for (const file of options.files ?? [])
    findings.push(...checkCredentialFile(file.kind, file.path));
  return { findings, passed: passed(findings) };
}

/** The KDC probe's realm and client name: --realm, else the SPN's realm, else the keytab's. */
async function kdcFindings(
  options: DoctorOptions,
  keytabPrincipal: { principal: string; realm: string } | undefined,
  keytab: Keytab | undefined,
): Promise<Finding[]> {
  const spn = options.spn === undefined ? undefined : splitRealm(options.spn);
  const realm = options.realm ?? spn?.realm ?? keytabPrincipal?.realm;
  const principal = spn?.name ?? keytabPrincipal?.principal;
  if (realm === undefined || principal === undefined) {
    return [
      finding(
        'kdc',
        'fail',
        'no realm to probe: give --realm with --spn, or a keytab that has keys',
      ),
    ];
  }
  return checkKdc({ realm, principal, ...(keytab === undefined ? {} : { keytab }) });
}

function splitRealm(spn: string): { name: string; realm: string | undefined } {
  const at = spn.lastIndexOf('@');
  return at < 0
    ? { name: spn, realm: undefined }
    : { name: spn.slice(0, at), realm: spn.slice(at + 1) };
}
