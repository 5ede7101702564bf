/**
 * The realm's KDCs as the server would find them (the `kdc` entries of krb5.conf, else DNS SRV,
 * RFC 4120 §7.2.3.2), probed with one AS-REQ without pre-authentication for the service
 * principal (§3.1.1). A KDC that serves the realm answers KDC_ERR_PREAUTH_REQUIRED or an AS-REP;
 * either way it answered for the realm. A KRB-ERROR carries the KDC's clock (stime/susec,
 * §5.9.1), which tells how far the local clock is off: beyond the 300 s skew (§1.6, MIT's and
 * AD's default clockskew) tickets are refused with KRB_AP_ERR_SKEW.
 */
import { randomBytes } from 'node:crypto';

import { isHttpAuthError } from '../errors.js';
import { discoverKdcs, type SrvResolver } from '../kerberos/client/kdc-discovery.js';
import { kdcErrorName, KdcErrorCode } from '../kerberos/client/kdc-errors.js';
import { readKdcReply } from '../kerberos/client/kdc-reply.js';
import { MSG_TYPE_AS_REP } from '../kerberos/client/kdc-rep.js';
import { encodeKdcReqBody, KdcOptions } from '../kerberos/client/kdc-req-body.js';
import { encodeKdcReq, MSG_TYPE_AS_REQ } from '../kerberos/client/kdc-req.js';
import { sendToKdcs, type KdcAddress } from '../kerberos/client/kdc-transport.js';
import { readKrb5Conf, type Krb5Conf } from '../kerberos/client/krb5-conf.js';
import type { Keytab } from '../kerberos/keytab.js';
import { NameType, parsePrincipal } from '../kerberos/messages/principal-name.js';
import { clockFinding } from './clock.js';
import { finding, type Finding } from './findings.js';
import { checkKeytabAgainstKdc } from './kdc-key.js';

/** AES256/AES128 SHA1 and SHA2 (RFC 3962, RFC 8009): any KDC of this century knows one. */
const PROBE_ETYPES = [20, 19, 18, 17];

/**
 * What {@link checkKdc} probes: the realm's KDCs, found as the server finds them (krb5.conf `kdc`
 * entries, else DNS SRV records), asked for an AS exchange naming `principal` as client.
 */
export interface KdcCheckOptions {
  readonly realm: string;
  /** The principal the AS-REQ names as client (the service principal), without realm. */
  readonly principal: string;
  /** krb5.conf path; default KRB5_CONFIG, else /etc/krb5.conf (a missing default is no error). */
  readonly krb5Conf?: string;
  readonly timeoutMs?: number;
  /** Injectable for tests; node:dns by default. */
  readonly resolveSrv?: SrvResolver;
  /**
   * The clock compared with the KDC's to report skew, in milliseconds since the epoch; `Date.now`
   * by default (injectable for tests).
   */
  readonly now?: () => number;
  /**
   * The service's keytab: when it has a key for the principal, an AS exchange with that key
   * checks it is the KDC's current one and reads the KDC's clock from the ticket (kdc-key.ts).
   */
  readonly keytab?: Keytab;
}

function readConf(options: KdcCheckOptions): Krb5Conf | undefined {
  const path = options.krb5Conf ?? process.env.KRB5_CONFIG ?? '/etc/krb5.conf';
  try {
    return readKrb5Conf(path);
  } catch {
    return undefined; // no krb5.conf: DNS alone, as MIT does
  }
}

function asReqWithoutPreauth(realm: string, principal: string, now: number): Buffer {
  const { components } = parsePrincipal(principal);
  return encodeKdcReq(
    MSG_TYPE_AS_REQ,
    [],
    encodeKdcReqBody({
      kdcOptions: KdcOptions.RENEWABLE_OK,
      cname: { nameType: NameType.PRINCIPAL, components },
      realm,
      sname: { nameType: NameType.SRV_INST, components: ['krbtgt', realm] },
      till: now + 3_600_000,
      rtime: undefined,
      // 31 bits, as in as-exchange.ts (RFC 4120 §5.2.4).
      nonce: randomBytes(4).readUInt32BE(0) & 0x7fffffff,
      etypes: PROBE_ETYPES,
      additionalTickets: [],
    }),
  );
}

function transportOptions(options: KdcCheckOptions): {
  timeoutMs: number;
  udpPreferenceLimit: number;
} {
  return { timeoutMs: options.timeoutMs ?? 3000, udpPreferenceLimit: 1465 };
}

/** Probes the KDCs one by one (so the report names the one that answered) in discovery order. */
export async function checkKdc(options: KdcCheckOptions): Promise<Finding[]> {
  const now = options.now ?? Date.now;
  const kdcs = await discoverKdcs(options.realm, {
    krb5Conf: readConf(options),
    resolveSrv: options.resolveSrv,
  });
  if (kdcs.length === 0) {
    return [
      finding(
        'kdc',
        'fail',
        `no KDC found for ${options.realm}: no kdc entry in krb5.conf and no _kerberos SRV record`,
      ),
    ];
  }
  const findings: Finding[] = [];
  for (const kdc of kdcs) {
    const result = await probe(kdc, options, now);
    findings.push(...result.findings);
    if (!result.answered) continue;
    if (options.keytab !== undefined) {
      const keyFindings = await checkKeytabAgainstKdc({
        realm: options.realm,
        principal: options.principal,
        keytab: options.keytab,
        send: (request) => sendToKdcs([kdc], request, transportOptions(options)),
        now,
      });
      // The authenticated clock reading (from the ticket) replaces the one from the probe.
      const authenticatedClock = keyFindings.some((f) => f.check === 'clock');
      return [
        ...(authenticatedClock ? findings.filter((f) => f.check !== 'clock') : findings),
        ...keyFindings,
      ];
    }
    return findings;
  }
  findings.push(finding('kdc', 'fail', `no KDC of ${options.realm} answered`));
  return findings;
}

async function probe(
  kdc: KdcAddress,
  options: KdcCheckOptions,
  now: () => number,
): Promise<{ answered: boolean; findings: Finding[] }> {
  const where = `${kdc.host}:${kdc.port}`;
  const started = performance.now();
  let reply: Buffer;
  try {
    reply = await sendToKdcs(
      [kdc],
      asReqWithoutPreauth(options.realm, options.principal, now()),
      transportOptions(options),
    );
  } catch (error) {
    const why = isHttpAuthError(error) ? (error.reason ?? error.code) : String(error);
    return { answered: false, findings: [finding('kdc', 'fail', `${where} unreachable: ${why}`)] };
  }
  const elapsed = Math.round(performance.now() - started);
  const localMs = now();
  let answer;
  try {
    answer = readKdcReply(reply, MSG_TYPE_AS_REP);
  } catch {
    return {
      answered: false,
      findings: [finding('kdc', 'fail', `${where} answered with something not Kerberos`)],
    };
  }
  if (answer.kind === 'reply') {
    return {
      answered: true,
      findings: [
        finding('kdc', 'ok', `${where} answered for ${options.realm} in ${elapsed} ms (AS-REP)`),
        finding('clock', 'info', 'an AS-REP carries no KDC time in clear: clock not compared'),
      ],
    };
  }
  const { error } = answer;
  const code = error.errorCode;
  const serves =
    code === KdcErrorCode.KDC_ERR_PREAUTH_REQUIRED || code === KdcErrorCode.KDC_ERR_ETYPE_NOSUPP;
  const realmFinding = serves
    ? finding(
        'kdc',
        'ok',
        `${where} answered for ${options.realm} in ${elapsed} ms (${kdcErrorName(code)})`,
      )
    : code === KdcErrorCode.KDC_ERR_C_PRINCIPAL_UNKNOWN
      ? finding(
          'kdc',
          'fail',
          `${where} answered in ${elapsed} ms: ${options.principal}@${options.realm} is unknown to the KDC`,
        )
      : finding(
          'kdc',
          'fail',
          `${where} answered in ${elapsed} ms: ${kdcErrorName(code)} for realm ${options.realm}`,
        );
  // stime is milliseconds here (readKerberosTime), susec the microseconds within the second.
  const kdcTime = error.stime + Math.floor(error.susec / 1000);
  return { answered: true, findings: [realmFinding, clockFinding(kdcTime, localMs)] };
}
