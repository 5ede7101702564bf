/**
 * `fetch()` and `credentialCacheFor()` for a context holding the user's forwarded TGT (a Negotiate
 * client that delegated, e.g. `curl --negotiate --delegation always` or a browser allowed by
 * policy): each backend ticket comes from a TGS exchange with that TGT (RFC 4120 §3.3) at the
 * user's own realm, then goes through the same Negotiate client as constrained delegation
 * (negotiate-fetch.ts, mutual authentication required). The TGT is unconstrained by nature (the
 * user gave it), so no allow-list applies here beyond the context's level; a server that wants one
 * configures constrainedDelegation instead, whose allowedServices then rule every logon.
 */
import { HttpAuthError } from '../errors.js';
import type { Ccache, CcacheCredential } from '../kerberos/ccache.js';
import { makeKey } from '../kerberos/crypto/index.js';
import type { ClientTicket } from '../kerberos/client/as-exchange.js';
import { kdcSender } from '../kerberos/client/kdc-sender.js';
import { servicePrincipalName } from '../kerberos/client/service-tgt.js';
import { requestServiceTicket, type ServiceTicket } from '../kerberos/client/tgs-exchange.js';
import { decodeTicket } from '../kerberos/messages/ticket.js';
import { delegatedTicketCcache, type DelegationMembers } from './delegation-members.js';
import { negotiateFetch, serviceForUrl } from './negotiate-fetch.js';

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
 * The members, or undefined when the ccache holds no TGT (then the context refuses fetch as
 * before). `send` is injectable for tests; by default the user's realm's KDCs from krb5.conf or
 * DNS SRV (kdc-sender.ts).
 */
export function forwardedTgtMembers(args: {
  readonly ccache: Ccache;
  /** Throws once the context is disposed. */
  readonly live: () => void;
  /** Writes a private ccache that dispose() removes. */
  readonly writeCcache: (cache: Ccache) => Promise<string>;
  readonly send?: (request: Buffer) => Promise<Buffer>;
}): DelegationMembers | undefined {
  const credential = tgtCredential(args.ccache);
  if (credential === undefined) return undefined;
  const realm = credential.server.components[1] as string;
  let tgt: ClientTicket | undefined;
  let send = args.send;
  // One context serves one request: its tickets are kept for it, never shared with other users.
  const tickets = new Map<string, Promise<ServiceTicket>>();

  const ticketFor = (service: string): Promise<ServiceTicket> => {
    const name = servicePrincipalName(service);
    // A backend of another realm would need a referral walk; only the TGT's realm is asked.
    if (name.realm !== undefined && name.realm !== realm) {
      throw new HttpAuthError('ERR_HTTPAUTH_DELEGATION_REFUSED', {
        reason: `${service}: not in the forwarded TGT's realm ${realm}`,
      });
    }
    const key = name.name.components.join('/').toLowerCase();
    let pending = tickets.get(key);
    if (pending === undefined) {
      tgt ??= clientTicketOf(credential);
      send ??= kdcSender({ realm });
      pending = requestServiceTicket({
        tgt,
        realm,
        sname: name.name,
        etypes: ETYPES,
        send,
        now: Date.now,
      });
      // A failed exchange is not kept: the next call asks again.
      pending.catch(() => tickets.delete(key));
      tickets.set(key, pending);
    }
    return pending;
  };

  return {
    async fetch(url, init = {}) {
      args.live();
      const target = typeof url === 'string' ? new URL(url) : url;
      const service = serviceForUrl(target, init.service);
      const ticket = await ticketFor(service);
      args.live();
      return negotiateFetch(target, init, ticket);
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
