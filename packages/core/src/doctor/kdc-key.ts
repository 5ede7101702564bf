/**
 * The keytab against the KDC: one AS exchange (RFC 4120 §3.1) for the service principal with
 * the keytab's key instead of a password, as `kinit -k` does. A reply that decrypts proves the
 * keytab holds the key the KDC has now (a stale keytab, after a password or kvno change, is the
 * most common reason every ticket is refused), and its authtime is the KDC's clock, read from an
 * answer only the KDC could have made (the KRB-ERROR's stime is in clear and unauthenticated).
 */
import { isHttpAuthError } from '../errors.js';
import { requestInitialTicket, type LongTermKey } from '../kerberos/client/as-exchange.js';
import { servicePrincipalName } from '../kerberos/client/service-tgt.js';
import type { Keytab } from '../kerberos/keytab.js';
import { clockFinding } from './clock.js';
import { enctypeName } from './enctypes.js';
import { finding, type Finding } from './findings.js';

/** Strongest first, as the acceptor prefers them (RFC 8009, RFC 3962, RFC 4757 last). */
const ETYPE_PREFERENCE = [20, 19, 18, 17, 23];

export interface KeytabKdcCheck {
  readonly realm: string;
  /** Service principal without realm ('HTTP/host'). */
  readonly principal: string;
  readonly keytab: Keytab;
  readonly send: (request: Buffer) => Promise<Buffer>;
  readonly now: () => number;
}

/**
 * Findings `keytab-kdc` (does the keytab's key decrypt the KDC's AS-REP) and, when it does,
 * `clock` from the ticket's authtime. An empty list when the keytab has no key for the principal.
 */
export async function checkKeytabAgainstKdc(check: KeytabKdcCheck): Promise<Finding[]> {
  const fullName = `${check.principal}@${check.realm}`;
  const key: LongTermKey = (etype) => check.keytab.find(fullName, etype, undefined);
  const etypes = ETYPE_PREFERENCE.filter((etype) => key(etype, '', undefined) !== undefined);
  if (etypes.length === 0) return [];
  const started = check.now();
  try {
    const ticket = await requestInitialTicket({
      realm: check.realm,
      cname: servicePrincipalName(check.principal).name,
      key,
      etypes,
      send: check.send,
      now: check.now,
      lifetimeMs: 600_000,
    });
    const etype = ticket.part.key.keytype;
    // The KDC stamps authtime with its clock when it answers (§5.4.2), in whole seconds:
    // compare with the middle of the exchange.
    const localMs = (started + check.now()) / 2;
    return [
      finding(
        'keytab-kdc',
        'ok',
        `the keytab's key for ${fullName} is the KDC's current one (AS exchange, session key ${enctypeName(etype)})`,
      ),
      // authtime has whole seconds (KerberosTime, §5.2.3).
      clockFinding(ticket.part.authtime, localMs, "its ticket's authtime", 1000),
    ];
  } catch (error) {
    if (isHttpAuthError(error) && error.code === 'ERR_HTTPAUTH_BAD_CREDENTIALS') {
      return [
        finding(
          'keytab-kdc',
          'fail',
          `the keytab's key for ${fullName} does not decrypt the KDC's answer: the keytab is stale (the account's password or kvno changed); export it again`,
        ),
      ];
    }
    const why = isHttpAuthError(error) ? (error.reason ?? error.code) : String(error);
    return [
      finding('keytab-kdc', 'warn', `AS exchange for ${fullName} with the keytab failed: ${why}`),
    ];
  }
}
