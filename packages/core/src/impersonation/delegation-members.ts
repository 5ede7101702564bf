/**
 * The members a context at level `delegate` gets from constrained delegation: `fetch()` to a
 * Kerberos-protected backend as the user, and `credentialCacheFor()`, a private ccache holding the
 * user's delegated ticket to one backend for a child process (kinit-free `curl --negotiate`,
 * `psql`, `klist`). Both ask constrained-delegation.ts, which refuses a backend not in
 * `allowedServices` before any KDC request.
 */
import type { Ccache } from '../kerberos/ccache.js';
import { KRB_NT_PRINCIPAL, KRB_NT_SRV_INST } from '../kerberos/ccache.js';
import type { Principal } from '../principal.js';
import type { ConstrainedDelegation, DelegationCredential } from './constrained-delegation.js';
import { negotiateFetch, serviceForUrl, type DelegatedFetchInit } from './negotiate-fetch.js';

export interface DelegationMembers {
  fetch(url: string | URL, init?: DelegatedFetchInit): Promise<Response>;
  credentialCacheFor(service: string): Promise<string>;
}

const seconds = (ms: number | undefined): number =>
  ms === undefined ? 0 : Math.max(0, Math.min(Math.floor(ms / 1000), 0xffffffff));

/** A ccache whose default principal is the user, holding one delegated service ticket. */
export function delegatedTicketCcache(credential: DelegationCredential): Ccache {
  const client = {
    nameType: KRB_NT_PRINCIPAL,
    realm: credential.crealm,
    components: [...credential.cname.components],
  };
  const part = credential.part;
  return {
    defaultPrincipal: client,
    credentials: [
      {
        client,
        server: {
          nameType: KRB_NT_SRV_INST,
          realm: part.srealm,
          components: [...part.sname.components],
        },
        key: { enctype: part.key.keytype, value: part.key.keyvalue },
        authTime: seconds(part.authtime),
        startTime: seconds(part.starttime ?? part.authtime),
        endTime: seconds(part.endtime),
        renewTill: seconds(part.renewTill),
        isSkey: false,
        flags: part.flags >>> 0,
        addresses: [],
        authData: [],
        ticket: credential.ticket.der,
        secondTicket: Buffer.alloc(0),
      },
    ],
  };
}

export function delegationMembers(args: {
  readonly principal: Principal;
  readonly delegation: ConstrainedDelegation;
  /** Throws once the context is disposed. */
  readonly live: () => void;
  /** Writes a private ccache that dispose() removes. */
  readonly writeCcache: (cache: Ccache) => Promise<string>;
}): DelegationMembers {
  const { principal, delegation, live } = args;
  return {
    async fetch(url, init = {}) {
      live();
      const target = typeof url === 'string' ? new URL(url) : url;
      const credential = await delegation.ticketFor(principal, serviceForUrl(target, init.service));
      live();
      return negotiateFetch(target, init, credential);
    },
    async credentialCacheFor(service) {
      live();
      const credential = await delegation.ticketFor(principal, service);
      live();
      return args.writeCcache(delegatedTicketCcache(credential));
    },
  };
}
