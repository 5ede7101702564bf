/**
 * Constrained delegation (MS-SFU), what IIS does for an intranet application that calls a
 * backend as the user: `createImpersonation({ constrainedDelegation: { keytab, allowedServices } })`.
 *
 *  1. The service's own TGT from its keytab, refreshed before it ends (service-tgt.ts).
 *  2. S4U2Self (MS-SFU §3.2.5.1): a ticket to the service itself in the user's name, whatever the
 *     user logged on with (NTLM, Digest, Basic, a certificate, Kerberos): "protocol transition".
 *     Checked with the keytab; cached per user until shortly before it ends.
 *  3. S4U2Proxy (§3.2.5.2): with that ticket as evidence, a ticket to the backend in the user's
 *     name; cached per user and backend.
 *
 * A backend not in `allowedServices` is refused here, before any KDC request
 * (ERR_HTTPAUTH_DELEGATION_TARGET_NOT_ALLOWED); the KDC then applies the directory's own rules
 * (msDS-AllowedToDelegateTo, resource-based msDS-AllowedToActOnBehalfOfOtherIdentity, sensitive
 * accounts), and its refusals keep their own stable codes (s4u2proxy.ts).
 */
import { fail, HttpAuthError } from '../errors.js';
import type { Principal } from '../principal.js';
import { Keytab, KeytabFile } from '../kerberos/keytab.js';
import {
  NameType,
  parsePrincipal,
  type PrincipalName,
} from '../kerberos/messages/principal-name.js';
import type { SrvResolver } from '../kerberos/client/kdc-discovery.js';
import { isRealmName, kdcSender } from '../kerberos/client/kdc-sender.js';
import { offeredEnctypes } from '../kerberos/client/password-verifier.js';
import { requestS4u2Proxy, type DelegatedTicket } from '../kerberos/client/s4u2proxy.js';
import { requestS4u2Self, type S4u2SelfTicket } from '../kerberos/client/s4u2self.js';
import { ServiceTgt } from '../kerberos/client/service-tgt.js';
import type { Ticket } from '../kerberos/messages/ticket.js';
import { isTgsComponents } from './negotiate-fetch.js';
import { TicketCache } from './ticket-cache.js';

/**
 * `createImpersonation({ constrainedDelegation })`: what the server needs to ask the KDC for
 * tickets to backends on a user's behalf (S4U2Self then S4U2Proxy, MS-SFU §3.2.5.1-2) with its
 * own keytab, and which backends it may ask for. See docs/delegation.md.
 */
export interface ConstrainedDelegationOptions {
  /** The service's keytab: a path ('FILE:' allowed) or a Keytab. Default: KRB5_KTNAME. */
  readonly keytab?: string | Keytab;
  /** The realm of the service and its users ('EXAMPLE.TEST'). */
  readonly realm: string;
  /** The service's own principal ('HTTP/web.example.test'). Default: the keytab's first of `realm`. */
  readonly servicePrincipal?: string;
  /**
   * Active Directory: the service account's sAMAccountName ('websvc', or 'WEB01$' for a computer
   * account). AD issues TGTs to account names, not SPNs. Default: the service principal (MIT).
   */
  readonly accountName?: string;
  /**
   * Backend services this server may delegate to, as SPNs: 'HTTP/api.example.test',
   * 'MSSQLSvc/db.example.test:1433' (`@REALM` optional). Compared without regard to case, as AD
   * does. Nothing else is ever asked for.
   */
  readonly allowedServices: readonly string[];
  /** KDCs as 'host', 'host:port', 'tcp/host:port'. Default: krb5.conf, then DNS SRV. */
  readonly kdcs?: readonly string[];
  /** krb5.conf path. Default: KRB5_CONFIG, else /etc/krb5.conf. */
  readonly krb5Conf?: string;
  readonly dnsLookupKdc?: boolean;
  /** Per KDC and transport attempt, in ms. Default 3000. */
  readonly timeoutMs?: number;
  /** Offer RC4-HMAC to the KDC. Default false. */
  readonly allowRc4?: boolean;
  /** Get the service's TGT again when less than this remains. Default 5 minutes. */
  readonly refreshBeforeMs?: number;
  /**
   * 'required' (default): only principals with a local user the policy may impersonate reach
   * level delegate, as for every level. 'optional': an allowed principal (the `allow` list, by
   * name, SID or the principal's own groups) that maps to no local user, or whom a server not
   * running as root cannot act as, still gets a delegate context for the network: fetch() and
   * credentialCacheFor() work, spawn/execFile/access refuse. System accounts never do.
   */
  readonly localUser?: 'required' | 'optional';
  /** Users whose S4U tickets are kept in memory (least recently used go first). Default 10000. */
  readonly maxCachedUsers?: number;
  /**
   * S4U2Self also for logons a local credential source checked (Digest; Basic without
   * `kerberos`, whose realm is not `realm`): such a user gets the tickets of the domain account
   * of the same name, whatever the file or callback knew of it. Default false; warns once.
   */
  readonly transitionLocalLogons?: boolean;
  /** For tests: DNS SRV lookups. */
  readonly resolveSrv?: SrvResolver;
}

export { TICKET_REUSE_MARGIN_MS, TicketCache } from './ticket-cache.js';

/** 'HTTP/Host.Example.Test@REALM' -> 'http/host.example.test' (the realm is checked apart). */
function serviceKey(spn: string, realm: string): string | undefined {
  if (typeof spn !== 'string' || spn === '' || spn.length > 512) return undefined;
  const parsed = parsePrincipal(spn);
  if (parsed.realm !== undefined && parsed.realm.toUpperCase() !== realm.toUpperCase()) {
    return undefined;
  }
  if (parsed.components.length < 2 || parsed.components.some((c) => c === '')) return undefined;
  // A TGS is no backend: a ticket to krbtgt/... is a TGT in the user's name (RFC 4120 §7.3).
  if (isTgsComponents(parsed.components)) return undefined;
  return parsed.components.join('/').toLowerCase();
}

/** process.emitWarning code of `transitionLocalLogons: true`. */
export const TRANSITION_LOCAL_LOGONS_WARNING = 'HTTPAUTH_S4U_TRANSITION_LOCAL_LOGONS';

/**
 * A logon whose password a local source checked, not the directory: Digest (its user files and
 * callbacks), and Basic without `kerberos` (its principal's realm is the Basic realm, where
 * `basic({ kerberos })` names the Kerberos realm).
 */
function checkedLocally(principal: Principal, realm: string): boolean {
  return (
    principal.mechanism === 'Digest' ||
    (principal.mechanism === 'Basic' && principal.realm !== realm)
  );
}

/** The client's ticket to this service from a Kerberos logon (the acceptor's `clientTicket`). */
export interface ClientEvidence {
  readonly ticket: Ticket;
  readonly forwardable: boolean;
}

/** The acceptor's `clientTicket` in a security context, when it is one. */
export function clientEvidence(
  context: { readonly [key: string]: unknown } | undefined,
): ClientEvidence | undefined {
  const value = context?.clientTicket as Partial<ClientEvidence> | undefined;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof value.forwardable !== 'boolean' ||
    typeof value.ticket !== 'object' ||
    !Buffer.isBuffer(value.ticket?.der)
  ) {
    return undefined;
  }
  return value as ClientEvidence;
}

export interface DelegationCredential extends DelegatedTicket {
  /** The backend's principal name as asked ('HTTP/api.example.test'). */
  readonly service: PrincipalName;
}

/** What the impersonation factory shows of its S4U client (metrics, tests). */
export interface ConstrainedDelegationStatus {
  /** KDC requests made so far (AS for the service's TGT, S4U2Self, S4U2Proxy). */
  readonly kdcRequests: number;
  /** Users with a cached S4U2Self ticket. */
  readonly cachedUsers: number;
}

export class ConstrainedDelegation implements ConstrainedDelegationStatus {
  readonly realm: string;
  readonly #allowed: ReadonlySet<string>;
  readonly #keytab: Keytab | KeytabFile;
  readonly #tgt: ServiceTgt;
  readonly #keyPrincipal: string;
  readonly #etypes: readonly number[];
  readonly #send: (request: Buffer) => Promise<Buffer>;
  readonly #evidence: TicketCache<S4u2SelfTicket>;
  readonly #delegated: TicketCache<DelegationCredential>;
  /** KDC requests made (S4U2Self and S4U2Proxy exchanges, the service TGT's AS exchanges). */
  kdcRequests = 0;

  readonly #now: () => number;
  readonly #transitionLocal: boolean;

  /** `now` is the clock tickets are judged by (injectable for tests). */
  constructor(options: ConstrainedDelegationOptions, now: () => number = Date.now) {
    if (typeof options !== 'object' || options === null) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    this.#now = now;
    if (!isRealmName(options.realm)) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    const transitionLocal = options.transitionLocalLogons ?? false;
    if (typeof transitionLocal !== 'boolean') fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    this.#transitionLocal = transitionLocal;
    if (transitionLocal) {
      process.emitWarning(
        'constrainedDelegation.transitionLocalLogons: users of local credential sources get the domain account of the same name',
        { code: TRANSITION_LOCAL_LOGONS_WARNING },
      );
    }
    const sendTo = kdcSender(options);
    this.realm = options.realm;
    const allowed = options.allowedServices;
    if (!Array.isArray(allowed) || allowed.length === 0) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    this.#allowed = new Set(
      allowed.map((spn) => serviceKey(spn, options.realm) ?? fail('ERR_HTTPAUTH_INVALID_OPTIONS')),
    );
    const keytabOption = options.keytab ?? process.env.KRB5_KTNAME;
    if (keytabOption === undefined || keytabOption === '') fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    this.#keytab = keytabOption instanceof Keytab ? keytabOption : new KeytabFile(keytabOption);
    const keytab = this.#currentKeytab();
    const servicePrincipal =
      options.servicePrincipal ??
      keytab.principals().find((p) => keytab.entriesFor(p)[0]?.realm === options.realm);
    if (typeof servicePrincipal !== 'string') fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    const accountName = options.accountName;
    if (
      accountName !== undefined &&
      (typeof accountName !== 'string' || !/^[^\s@/\\]{1,256}$/.test(accountName))
    ) {
      fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    }
    const realmSuffix = servicePrincipal.includes('@') ? '' : `@${options.realm}`;
    this.#keyPrincipal = `${servicePrincipal}${realmSuffix}`;
    if (options.localUser !== undefined && !['required', 'optional'].includes(options.localUser)) {
      fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    }
    const max = options.maxCachedUsers ?? 10_000;
    if (!Number.isInteger(max) || max < 1) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    this.#etypes = offeredEnctypes(options.allowRc4 === true);
    this.#send = (request) => {
      this.kdcRequests += 1;
      return sendTo(options.realm, request);
    };
    this.#tgt = new ServiceTgt({
      realm: options.realm,
      servicePrincipal,
      accountName,
      keytab: this.#keytab,
      etypes: this.#etypes,
      send: this.#send,
      now,
      ...(options.refreshBeforeMs === undefined
        ? {}
        : { refreshBeforeMs: options.refreshBeforeMs }),
    });
    this.#evidence = new TicketCache(max);
    this.#delegated = new TicketCache(max);
  }

  #currentKeytab(): Keytab {
    return this.#keytab instanceof Keytab ? this.#keytab : this.#keytab.current();
  }

  /**
   * Whether `spn` is one of the allowed backends (the local check, no KDC request). Throws
   * ERR_HTTPAUTH_DELEGATION_TARGET_NOT_ALLOWED otherwise; returns its principal name.
   */
  checkService(spn: string): PrincipalName {
    const key = serviceKey(spn, this.realm);
    if (key === undefined || !this.#allowed.has(key)) {
      throw new HttpAuthError('ERR_HTTPAUTH_DELEGATION_TARGET_NOT_ALLOWED', {
        reason: `${String(spn)} is not in constrainedDelegation.allowedServices`,
      });
    }
    const components = parsePrincipal(spn).components;
    return { nameType: NameType.SRV_INST, components };
  }

  /** The user's Kerberos name for S4U2Self, from however they logged on. */
  userName(principal: Principal): PrincipalName {
    // Protocol transition vouches for a directory account: only logons the directory checked.
    if (!this.#transitionLocal && checkedLocally(principal, this.realm)) {
      throw new HttpAuthError('ERR_HTTPAUTH_DELEGATION_REFUSED', {
        reason: `${principal.name}: a ${principal.mechanism} logon checked by a local credential source (constrainedDelegation.transitionLocalLogons)`,
      });
    }
    let account = principal.user;
    if (principal.mechanism === 'Kerberos' || account.includes('@')) {
      const parsed = parsePrincipal(principal.mechanism === 'Kerberos' ? principal.name : account);
      // Only users of this realm: cross-realm S4U2Self needs referrals (MS-SFU §3.1.5.1.1.1).
      // A ticket's realm is exact (MIT realms are case-sensitive: 'example.test' is another
      // realm); a typed UPN suffix ('alice@example.test') is matched in any case.
      const sameRealm =
        principal.mechanism === 'Kerberos'
          ? parsed.realm === this.realm
          : parsed.realm?.toUpperCase() === this.realm.toUpperCase();
      if (parsed.realm !== undefined && !sameRealm) {
        throw new HttpAuthError('ERR_HTTPAUTH_DELEGATION_REFUSED', {
          reason: `${principal.name} is not a user of ${this.realm}`,
        });
      }
      account = parsed.components.join('/');
    } else if (principal.localRealm === false) {
      throw new HttpAuthError('ERR_HTTPAUTH_DELEGATION_REFUSED', {
        reason: `${principal.name} is not a user of ${this.realm}`,
      });
    }
    if (account === '' || account.includes('/')) {
      throw new HttpAuthError('ERR_HTTPAUTH_DELEGATION_REFUSED', {
        reason: `${principal.name} is not a user name`,
      });
    }
    return { nameType: NameType.PRINCIPAL, components: [account] };
  }

  /**
   * A ticket to `spn` in `principal`'s name, from the cache if fresh. Evidence for S4U2Proxy: the
   * client's own forwardable ticket to this service when a Kerberos logon brought one
   * (`clientTicket`, so "Kerberos only" delegation works without protocol transition), else an
   * S4U2Self ticket.
   */
  async ticketFor(
    principal: Principal,
    spn: string,
    clientTicket?: ClientEvidence,
  ): Promise<DelegationCredential> {
    const service = this.checkService(spn);
    const user = this.userName(principal);
    const userKey = user.components.join('/');
    const now = this.#now();
    const own =
      clientTicket !== undefined && clientTicket.forwardable && principal.mechanism === 'Kerberos'
        ? clientTicket.ticket
        : undefined;
    return this.#delegated.get(`${userKey}\0${service.components.join('/')}`, now, async () => {
      if (own !== undefined) {
        const delegated = await requestS4u2Proxy({
          serviceTgt: await this.#tgt.get(),
          evidence: { ticket: own, forwardable: true, cname: user, crealm: this.realm },
          target: service,
          etypes: this.#etypes,
          send: this.#send,
          now: this.#now,
        });
        return { value: { ...delegated, service }, endtime: delegated.part.endtime };
      }
      const evidence = await this.#evidence.get(userKey, now, async () => {
        const ticket = await requestS4u2Self(
          {
            serviceTgt: await this.#tgt.get(),
            user,
            userRealm: this.realm,
            etypes: this.#etypes,
            send: this.#send,
            now: this.#now,
            keyPrincipal: this.#keyPrincipal,
          },
          this.#currentKeytab(),
        );
        return { value: ticket, endtime: ticket.part.endtime };
      });
      const delegated = await requestS4u2Proxy({
        serviceTgt: await this.#tgt.get(),
        evidence: {
          ticket: evidence.ticket,
          forwardable: evidence.forwardable,
          cname: evidence.encTicket.cname,
          crealm: evidence.encTicket.crealm,
        },
        target: service,
        etypes: this.#etypes,
        send: this.#send,
        now: this.#now,
      });
      return { value: { ...delegated, service }, endtime: delegated.part.endtime };
    });
  }

  /** Users with a cached S4U2Self ticket. */
  get cachedUsers(): number {
    return this.#evidence.size;
  }
}
