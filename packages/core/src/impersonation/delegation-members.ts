/**
 * The members a context at level `delegate` gets from constrained delegation: `fetch()` to a
 * Kerberos-protected backend as the user, and `credentialCacheFor()`, a private ccache holding the
 * user's delegated ticket to one backend for a child process (kinit-free `curl --negotiate`,
 * `psql`, `klist`). Both ask constrained-delegation.ts, which refuses a backend not in
 * `allowedServices` before any KDC request. With `localUser: 'optional'`, also the context of an
 * allowed principal without a local user (network delegation only).
 */
import type { ErrorCode } from '../errors.js';
import { fail, HttpAuthError } from '../errors.js';
import type { Ccache } from '../kerberos/ccache.js';
import { KRB_NT_PRINCIPAL, KRB_NT_SRV_INST } from '../kerberos/ccache.js';
import type { Principal } from '../principal.js';
import type {
  ClientEvidence,
  ConstrainedDelegation,
  DelegationCredential,
} from './constrained-delegation.js';
import type { ImpersonationContext, ImpersonationReason } from './context.js';
import { refusingActions } from './context.js';
import { delegatedTarget, negotiateFetch, type DelegatedFetchInit } from './negotiate-fetch.js';

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
  /** A Kerberos logon's own ticket to this service: S4U2Proxy evidence without S4U2Self. */
  readonly clientTicket?: ClientEvidence | undefined;
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
      const target = delegatedTarget(url, init);
      const credential = await delegation.ticketFor(principal, target.service, args.clientTicket);
      live();
      return negotiateFetch(target.url, init, credential);
    },
    async credentialCacheFor(service) {
      live();
      const credential = await delegation.ticketFor(principal, service, args.clientTicket);
      live();
      return args.writeCcache(delegatedTicketCcache(credential));
    },
  };
}

/** Why a principal has no local user: the cases `localUser: 'optional'` lets through. */
const NO_LOCAL_USER: ReadonlySet<string> = new Set([
  'unmapped',
  'lookup-failed',
  'server-unprivileged',
]);

/**
 * The context of `constrainedDelegation: { localUser: 'optional' }` for an allowed principal with
 * no local user this server can act as (unmapped, lookup failed, a server not running as root):
 * level delegate for the network only. fetch() and credentialCacheFor() work (the ccache is owned
 * by the server's own user); spawn, execFile, access and credentialCache refuse with `refusal`,
 * the reason the principal has no local user. Undefined when `reason` is another one (a system
 * account or a principal not allowed are never delegated).
 */
export function networkDelegateContext(args: {
  readonly principal: Principal;
  readonly clientTicket: ClientEvidence | undefined;
  readonly reason: ImpersonationReason | undefined;
  readonly refusal: ErrorCode;
  readonly delegation: ConstrainedDelegation;
  readonly writeCcache: (cache: Ccache) => Promise<string>;
  readonly removeCcache: (path: string) => Promise<void>;
}): ImpersonationContext | undefined {
  if (args.reason === undefined || !NO_LOCAL_USER.has(args.reason)) return undefined;
  const { principal, reason } = args;
  const written: string[] = [];
  let disposed = false;
  const live = (): void => {
    if (disposed) fail('ERR_HTTPAUTH_IMPERSONATION_DENIED');
  };
  const members = delegationMembers({
    principal,
    clientTicket: args.clientTicket,
    delegation: args.delegation,
    live,
    writeCcache: async (cache) => {
      const path = await args.writeCcache(cache);
      written.push(path);
      return path;
    },
  });
  return {
    principal,
    level: 'delegate',
    userSid: principal.userSid,
    groupSids: principal.groupSids,
    delegated: true,
    reason,
    ...refusingActions(args.refusal),
    fetch: members.fetch,
    credentialCacheFor: members.credentialCacheFor,
    async dispose() {
      if (disposed) return;
      disposed = true;
      for (const path of written) {
        try {
          await args.removeCcache(path);
        } catch (cause) {
          throw new HttpAuthError('ERR_HTTPAUTH_IMPERSONATION_FAILED', { cause });
        }
      }
    },
    toJSON: () => ({ level: 'delegate', delegated: true, localUser: false, reason }),
  };
}
