/**
 * `fetch()` and `credentialCacheFor()` for a context holding the user's forwarded TGT (a Negotiate
 * client that delegated, e.g. `curl --negotiate --delegation always` or a browser allowed by
 * policy): each backend ticket comes from a TGS exchange with that TGT (RFC 4120 §3.3) at the
 * user's own realm, then goes through the same Negotiate client as constrained delegation
 * (negotiate-fetch.ts, mutual authentication required). The TGT is unconstrained by nature (the
 * user gave it); `forwardedTgt.allowedServices` narrows what it is used for, and a TGS
 * (krbtgt/...) is never asked for: fetch() and credentialCacheFor() hand out service tickets
 * only, never a further TGT. fetch() sends the ticket only to the host its SPN names, over https
 * (negotiate-fetch.ts).
 */
import { fail, HttpAuthError } from '../errors.js';
import type { Ccache, CcacheCredential } from '../kerberos/ccache.js';
import { makeKey } from '../kerberos/crypto/index.js';
import type { ClientTicket } from '../kerberos/client/as-exchange.js';
import type { SrvResolver } from '../kerberos/client/kdc-discovery.js';
import { kdcSender, type KdcSendTo } from '../kerberos/client/kdc-sender.js';
import { parsePrincipal } from '../kerberos/messages/principal-name.js';
import { servicePrincipalName } from '../kerberos/client/service-tgt.js';
import { requestServiceTicket, type ServiceTicket } from '../kerberos/client/tgs-exchange.js';
import { decodeTicket } from '../kerberos/messages/ticket.js';
import { delegatedTicketCcache, type DelegationMembers } from './delegation-members.js';
import { TICKET_REUSE_MARGIN_MS } from './ticket-cache.js';
import { delegatedTarget, isTgsComponents, negotiateFetch } from './negotiate-fetch.js';

/** AES first (RFC 8009, RFC 3962); RC4 is not offered for tickets made on a user's behalf. */
const ETYPES = [20, 19, 18, 17];

/**
 * The TGT of a delegated ccache: its `krbtgt/R@R` credential for the ccache's own principal, R
 * that principal's realm. The KRB-CRED's names come from the client (it encrypts them in a key it
 * knows), so anything else (another client, a cross-realm or foreign krbtgt) is ignored: the
 * realm picks the KDCs the server talks to, and it must be the one the client authenticated in.
 */
function tgtCredential(ccache: Ccache): CcacheCredential | undefined {
  const owner = ccache.defaultPrincipal;
  return ccache.credentials.find(
    (c) =>
      c.client.realm === owner.realm &&
      c.client.components.length === owner.components.length &&
      c.client.components.every((part, i) => part === owner.components[i]) &&
      c.server.realm === owner.realm &&
      c.server.components.length === 2 &&
      c.server.components[0] === 'krbtgt' &&
      c.server.components[1] === owner.realm,
  );
}

/** The ccache credential as the TGS exchange's client ticket (ccache times are seconds). */
function clientTicketOf(credential: CcacheCredential): ClientTicket {
  const ms = (seconds: number): number => seconds * 1000;
  return {
    crealm: credential.client.realm,
    cname: { nameType: credential.client.nameType, components: [...credential.client.components] },
    ticket: decodeTicket(credential.ticket),
    sessionKey: makeKey(credential.key.enctype, credential.key.value),
    part: {
      key: { keytype: credential.key.enctype, keyvalue: credential.key.value },
      lastReq: [],
      nonce: 0,
      keyExpiration: undefined,
      flags: credential.flags,
      authtime: ms(credential.authTime),
      starttime: credential.startTime === 0 ? undefined : ms(credential.startTime),
      endtime: ms(credential.endTime),
      renewTill: credential.renewTill === 0 ? undefined : ms(credential.renewTill),
      srealm: credential.server.realm,
      sname: {
        nameType: credential.server.nameType,
        components: [...credential.server.components],
      },
      encryptedPaData: [],
    },
  };
}

/**
 * `createImpersonation({ forwardedTgt })`: what a context holding the client's forwarded TGT may
 * ask tickets for, and how the TGT's realm's KDCs are reached. See docs/delegation.md.
 */
export interface ForwardedTgtOptions {
  /**
   * Backend SPNs the forwarded TGT may get tickets for: 'HTTP/api.example.test', or patterns
   * whose '*' stands for any characters but '/' ('HTTP/*.example.test'); `@REALM` optional;
   * compared without regard to case. Default: any service of the TGT's realm. A TGS
   * (krbtgt/...) is never asked for, listed or not.
   */
  readonly allowedServices?: readonly string[];
  /** The realm `kdcs` is for (required with `kdcs`). */
  readonly realm?: string;
  /** `realm`'s KDCs as 'host', 'host:port', 'tcp/host:port'. Default: krb5.conf, then DNS SRV. */
  readonly kdcs?: readonly string[];
  /** krb5.conf path. Default: KRB5_CONFIG, else /etc/krb5.conf. */
  readonly krb5Conf?: string;
  readonly dnsLookupKdc?: boolean;
  /** Per KDC and transport attempt, in ms. Default 3000. */
  readonly timeoutMs?: number;
  /** For tests: DNS SRV lookups. */
  readonly resolveSrv?: SrvResolver;
}

/** What createImpersonation builds once from ForwardedTgtOptions and every context shares. */
export interface ForwardedTgtSettings {
  /** Sends to a realm's KDCs: one sender for all contexts (its failover state is shared). */
  readonly sendTo: KdcSendTo;
  /** Whether a service ('http/api.example.test', no realm, lower case) may be asked for. */
  readonly allows: (service: string) => boolean;
  /** The clock tickets are judged by. */
  readonly now: () => number;
}

function servicePattern(entry: unknown): RegExp {
  if (typeof entry !== 'string' || entry === '' || entry.length > 512) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const parsed = parsePrincipal(entry);
  if (parsed.components.length < 2 || parsed.components.some((c) => c === '')) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  if (isTgsComponents(parsed.components)) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  const text = parsed.components.join('/').toLowerCase();
  const source = text
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]*');
  return new RegExp(`^${source}$`);
}

/** Checks the options (ERR_HTTPAUTH_INVALID_OPTIONS) and builds the shared settings. */
export function forwardedTgtSettings(
  options: ForwardedTgtOptions = {},
  now: () => number = Date.now,
): ForwardedTgtSettings {
  if (typeof options !== 'object' || options === null) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  if (options.kdcs !== undefined && options.realm === undefined) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const allowed = options.allowedServices;
  if (allowed !== undefined && (!Array.isArray(allowed) || allowed.length === 0)) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const patterns = allowed?.map(servicePattern);
  return {
    sendTo: kdcSender(options),
    allows: (service) => patterns === undefined || patterns.some((p) => p.test(service)),
    now,
  };
}

/**
 * The members, or undefined when the ccache holds no TGT (then the context refuses fetch as
 * before). `settings.sendTo` reaches the user's realm's KDCs (kdc-sender.ts).
 */
export function forwardedTgtMembers(args: {
  readonly ccache: Ccache;
  /** Throws once the context is disposed. */
  readonly live: () => void;
  /** Writes a private ccache that dispose() removes. */
  readonly writeCcache: (cache: Ccache) => Promise<string>;
  readonly settings: ForwardedTgtSettings;
}): DelegationMembers | undefined {
  const credential = tgtCredential(args.ccache);
  if (credential === undefined) return undefined;
  const realm = credential.server.components[1] as string;
  const { settings } = args;
  let tgt: ClientTicket | undefined;
  // One context serves one request: its tickets are kept for it, never shared with other users.
  const tickets = new Map<string, Promise<ServiceTicket>>();
  const send = (request: Buffer): Promise<Buffer> => settings.sendTo(realm, request);

  const ticketFor = async (service: string): Promise<ServiceTicket> => {
    const name = servicePrincipalName(service);
    // A backend of another realm would need a referral walk; only the TGT's realm is asked.
    if (name.realm !== undefined && name.realm !== realm) {
      throw new HttpAuthError('ERR_HTTPAUTH_DELEGATION_REFUSED', {
        reason: `${service}: not in the forwarded TGT's realm ${realm}`,
      });
    }
    const key = name.name.components.join('/').toLowerCase();
    // Never a TGS: a ticket to krbtgt/... from fetch() or credentialCacheFor() would be a TGT
    // (another realm's, or a renewed one) handed out beyond the one the client forwarded.
    if (isTgsComponents(name.name.components) || name.name.components.length < 2) {
      throw new HttpAuthError('ERR_HTTPAUTH_DELEGATION_TARGET_NOT_ALLOWED', {
        reason: `${service} is not a backend service`,
      });
    }
    if (!settings.allows(key)) {
      throw new HttpAuthError('ERR_HTTPAUTH_DELEGATION_TARGET_NOT_ALLOWED', {
        reason: `${service} is not in forwardedTgt.allowedServices`,
      });
    }
    const now = settings.now();
    const pending = tickets.get(key);
    if (pending !== undefined) {
      // A ticket near its end is not reused (RFC 4120 §3.3.3: the backend refuses it anyway).
      const ticket = await pending;
      if (ticket.part.endtime - settings.now() > TICKET_REUSE_MARGIN_MS) return ticket;
      if (tickets.get(key) === pending) tickets.delete(key);
      return ticketFor(service);
    }
    if (credential.endTime * 1000 - now <= 0) {
      throw new HttpAuthError('ERR_HTTPAUTH_DELEGATION_REFUSED', {
        reason: `the forwarded TGT of ${realm} has ended`,
      });
    }
    tgt ??= clientTicketOf(credential);
    const loading = requestServiceTicket({
      tgt,
      realm,
      sname: name.name,
      etypes: ETYPES,
      send,
      now: settings.now,
    });
    // A failed exchange is not kept: the next call asks again.
    loading.catch(() => {
      if (tickets.get(key) === loading) tickets.delete(key);
    });
    tickets.set(key, loading);
    return loading;
  };

  return {
    async fetch(url, init = {}) {
      args.live();
      const target = delegatedTarget(url, init);
      const ticket = await ticketFor(target.service);
      args.live();
      return negotiateFetch(target.url, init, ticket);
    },
    async credentialCacheFor(service) {
      args.live();
      const ticket = await ticketFor(service);
      args.live();
      return args.writeCcache(
        delegatedTicketCcache({ ...ticket, service: servicePrincipalName(service).name }),
      );
    },
  };
}
