/**
 * What `--check` says about Negotiate: the principals the gateway will accept tickets for (the
 * `principals` option, else every principal of the keytab, as core's acceptor does) and whether
 * the keytab has a key it can use for them. It runs the doctor's keytab check, so `--check` and
 * `httpauth doctor --keytab` read a keytab the same way.
 */
import { checkKeytab, describeKeytab } from '@httpauth/core/doctor';
import type { NegotiateConfig } from './config-types.js';

/** AES (RFC 3962, RFC 8009): the enctypes the acceptor always takes; RC4 (23) only with allowRc4. */
const AES_ENCTYPES = new Set([17, 18, 19, 20]);
const RC4_HMAC = 23;

export interface KeytabReport {
  /** Lines for stdout: the keytab, the accepted principals, each principal's kvno and enctypes. */
  readonly lines: readonly string[];
  /** Why `--check` fails (empty when the keytab is usable). */
  readonly problems: readonly string[];
}

export function negotiateKeytabReport(
  negotiate: NegotiateConfig,
  env: NodeJS.ProcessEnv,
): KeytabReport {
  // The acceptor's own default (packages/core/src/kerberos/acceptor.ts).
  const keytab = negotiate.keytab ?? env['KRB5_KTNAME'] ?? '/etc/krb5.keytab';
  const { entries, findings } = checkKeytab({ keytab, allowRc4: negotiate.allowRc4 });
  const problems = findings.filter((f) => f.level === 'fail').map((f) => f.message);
  if (entries.length === 0) return { lines: [], problems };
  const usable = entries.filter(
    (e) =>
      e.key !== undefined &&
      (AES_ENCTYPES.has(e.enctype) || (negotiate.allowRc4 && e.enctype === RC4_HMAC)),
  );
  const configured = negotiate.principals;
  if (configured !== undefined && configured.length > 0) {
    for (const spn of configured) {
      const report = checkKeytab({ keytab, spn, allowRc4: negotiate.allowRc4 });
      for (const f of report.findings)
        if (f.check === 'spn' && f.level === 'fail') problems.push(f.message);
    }
  } else if (usable.length === 0) {
    problems.push(
      `${keytab} has no key the gateway can use (AES${negotiate.allowRc4 ? ' or RC4' : ''})`,
    );
  }
  const accepted =
    configured !== undefined && configured.length > 0
      ? configured
      : [...new Set(usable.map((e) => e.principal))];
  return {
    lines: [
      `negotiate keytab ${keytab}: accepts ${accepted.join(', ') || 'nothing'}`,
      ...describeKeytab(entries).map((line) => `  ${line}`),
    ],
    problems,
  };
}
