/**
 * The service's own TGT, from its keytab (RFC 4120 §3.1 with a long-term key instead of a
 * password), kept in memory and obtained again before it ends: S4U requests are made with it.
 * Concurrent callers share one AS exchange.
 */
import type { KerberosKey } from '../crypto/index.js';
import type { Keytab, KeytabFile } from '../keytab.js';
import { Keytab as KeytabClass } from '../keytab.js';
import { NameType, parsePrincipal, type PrincipalName } from '../messages/principal-name.js';
import { requestInitialTicket, type ClientTicket, type LongTermKey } from './as-exchange.js';
import { replyMismatch } from './kdc-errors.js';
import { KdcOptions } from './kdc-req-body.js';

export interface ServiceTgtParams {
  readonly realm: string;
  /** 'HTTP/host@REALM' or 'HTTP/host'; must have keys in the keytab. */
  readonly servicePrincipal: string;
  /**
   * The client name of the AS exchange when it is not the service principal: AD issues TGTs to
   * an account's sAMAccountName ('websvc', 'WEB01$'), not to its SPNs. An account has one set
   * of keys for all its names, so the keytab's keys for `servicePrincipal` are used.
   */
  readonly accountName?: string | undefined;
  readonly keytab: Keytab | KeytabFile;
  readonly etypes: readonly number[];
  readonly send: (request: Buffer) => Promise<Buffer>;
  readonly now: () => number;
  /** Get a new TGT when less than this remains (default 5 minutes). */
  readonly refreshBeforeMs?: number;
}

/** The principal name of a service ('HTTP/host' is name-type SRV-HST, RFC 4120 §6.2). */
export function servicePrincipalName(text: string): {
  name: PrincipalName;
  realm: string | undefined;
} {
  const parsed = parsePrincipal(text);
  return {
    name: {
      nameType: parsed.components.length > 1 ? NameType.SRV_HST : NameType.PRINCIPAL,
      components: parsed.components,
    },
    realm: parsed.realm,
  };
}

export class ServiceTgt {
  readonly #params: ServiceTgtParams;
  readonly #name: PrincipalName;
  readonly #clientName: PrincipalName;
  #current: ClientTicket | undefined;
  #pending: Promise<ClientTicket> | undefined;

  constructor(params: ServiceTgtParams) {
    this.#params = params;
    this.#name = servicePrincipalName(params.servicePrincipal).name;
    this.#clientName =
      params.accountName === undefined
        ? this.#name
        : { nameType: NameType.PRINCIPAL, components: [params.accountName] };
  }

  /** The principal name the TGT is for. */
  get name(): PrincipalName {
    return this.#name;
  }

  #keytab(): Keytab {
    const source = this.#params.keytab;
    return source instanceof KeytabClass ? source : source.current(this.#params.now());
  }

  /** A TGT with more than `refreshBeforeMs` left, from the cache or a new AS exchange. */
  async get(): Promise<ClientTicket> {
    const margin = this.#params.refreshBeforeMs ?? 5 * 60_000;
    const current = this.#current;
    if (current !== undefined && current.part.endtime - this.#params.now() > margin) return current;
    this.#pending ??= this.#request().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #request(): Promise<ClientTicket> {
    const keytab = this.#keytab();
    const principal = `${this.#name.components.join('/')}@${this.#params.realm}`;
    const key: LongTermKey = (etype): KerberosKey | undefined =>
      keytab.find(principal, etype, undefined);
    // Offer only the enctypes the keytab has keys for: the KDC answers in one of them.
    const etypes = this.#params.etypes.filter((etype) => key(etype, '', undefined) !== undefined);
    if (etypes.length === 0) throw replyMismatch(`no keytab key for ${principal}`);
    const tgt = await requestInitialTicket({
      realm: this.#params.realm,
      cname: this.#clientName,
      key,
      etypes,
      send: this.#params.send,
      now: this.#params.now,
      lifetimeMs: 10 * 3600_000,
      // MIT and AD make S4U2Self tickets forwardable (for S4U2Proxy) only from a forwardable TGT.
      kdcOptions: KdcOptions.FORWARDABLE,
    });
    this.#current = tgt;
    return tgt;
  }
}
