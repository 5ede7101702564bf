/**
 * `basic({ kerberos: { realm, keytab } })`: Basic passwords checked by the realm's KDC, the KDC
 * itself verified with the server's keytab (kerberos/client/password-verifier.ts).
 *
 * KDCs come from the `kdcs` option (for `realm`), else the realm's `kdc` entries in krb5.conf
 * (`krb5Conf`, else KRB5_CONFIG, else /etc/krb5.conf), else DNS SRV records; a trusted realm's
 * and any realm on the way to it from krb5.conf or DNS (kdc-sender.ts, shared by every logon).
 * The list is looked up again once a minute, so a changed krb5.conf or DNS needs no restart.
 */
import { fail } from '../errors.js';
import { Keytab, KeytabFile } from '../kerberos/keytab.js';
import type { SrvResolver } from '../kerberos/client/kdc-discovery.js';
import { isRealmName, kdcSender } from '../kerberos/client/kdc-sender.js';
import {
  offeredEnctypes,
  verifyKerberosPassword,
  type VerifiedKerberosUser,
} from '../kerberos/client/password-verifier.js';
import { ServiceTgt } from '../kerberos/client/service-tgt.js';

/**
 * Options of `basic({ kerberos })`: check Basic passwords with the realm's KDC (an AS exchange),
 * the KDC itself verified with a ticket for a principal in the server's keytab.
 */
export interface BasicKerberosOptions {
  /** The server's Kerberos realm ('EXAMPLE.TEST'), and that of user names without one; case-sensitive. */
  readonly realm: string;
  /**
   * Other realms whose users may log on, as 'alice@PARTNER.TEST', over a cross-realm trust with
   * `realm` (their KDCs from krb5.conf or DNS SRV). Default none.
   */
  readonly trustedRealms?: readonly string[];
  /** The server's keytab: a path ('FILE:' allowed) or a Keytab. Default: KRB5_KTNAME. */
  readonly keytab?: string | Keytab;
  /** The principal the KDC is verified with (must be in the keytab). Default: the first of `realm`. */
  readonly servicePrincipal?: string;
  /** `realm`'s KDCs as 'host', 'host:port', 'tcp/host:port'. Default: krb5.conf, then DNS SRV. */
  readonly kdcs?: readonly string[];
  /** krb5.conf path. Default: KRB5_CONFIG, else /etc/krb5.conf (a missing file is no error). */
  readonly krb5Conf?: string;
  /** Look KDCs up in DNS SRV when krb5.conf lists none. Default: krb5.conf's dns_lookup_kdc, else true. */
  readonly dnsLookupKdc?: boolean;
  /** Per KDC and transport attempt, in ms. Default 3000. */
  readonly timeoutMs?: number;
  /** Offer RC4-HMAC to the KDC (used only for users with no AES key). Default false. */
  readonly allowRc4?: boolean;
  /** For tests: DNS SRV lookups. */
  readonly resolveSrv?: SrvResolver;
}

export type KerberosPasswordCheck = (
  user: string,
  password: string,
) => Promise<VerifiedKerberosUser>;

function invalid(): never {
  fail('ERR_HTTPAUTH_INVALID_OPTIONS');
}

/** Validates the options and returns the password check. Throws ERR_HTTPAUTH_INVALID_OPTIONS. */
export function kerberosPasswordCheck(options: BasicKerberosOptions): KerberosPasswordCheck {
  if (typeof options !== 'object' || options === null) invalid();
  const { realm } = options;
  if (!isRealmName(realm)) invalid();
  const trustedRealms = options.trustedRealms ?? [];
  if (!Array.isArray(trustedRealms) || !trustedRealms.every(isRealmName)) invalid();
  const keytabOption = options.keytab ?? process.env.KRB5_KTNAME;
  if (keytabOption === undefined || keytabOption === '') invalid();
  const keytab = keytabOption instanceof Keytab ? keytabOption : new KeytabFile(keytabOption);
  if (options.servicePrincipal !== undefined && typeof options.servicePrincipal !== 'string') {
    invalid();
  }
  // One sender for every logon: KDC lists and failover state are shared (kdc-sender.ts).
  const sendTo = kdcSender(options);

  // The service's own TGTs, for FAST armor; kept and renewed (service-tgt.ts).
  const serviceTgts = new Map<string, ServiceTgt>();
  const armorTgt = (servicePrincipal: string) => {
    let tgt = serviceTgts.get(servicePrincipal);
    if (tgt === undefined) {
      tgt = new ServiceTgt({
        realm,
        servicePrincipal,
        keytab,
        etypes: offeredEnctypes(options.allowRc4 === true),
        send: (request) => sendTo(realm, request),
        now: Date.now,
      });
      serviceTgts.set(servicePrincipal, tgt);
    }
    return tgt.get();
  };

  return async (user, password) =>
    verifyKerberosPassword(
      {
        realm,
        trustedRealms,
        keytab,
        servicePrincipal: options.servicePrincipal,
        allowRc4: options.allowRc4 === true,
        sendTo,
        armorTgt,
        now: Date.now,
      },
      user,
      password,
    );
}
