/**
 * The KerberosAcceptor's options, per-request context and result types (acceptor.ts re-exports
 * them): kept apart so the acceptor's phases stay readable in one file.
 */
import type { ChannelBindingMode } from '../channel-binding.js';
import type { HttpAuthError } from '../errors.js';
import type { Principal } from '../principal.js';
import type { KeyValueStore } from '../store/types.js';
import type { KerberosKey } from './crypto/index.js';
import type { Keytab } from './keytab.js';
import type { DelegatedCredential } from './delegation.js';
import type { Ticket } from './messages/ticket.js';

/**
 * Options of {@link KerberosAcceptor} and the Kerberos part of `negotiate()`'s: keytab (default
 * `KRB5_KTNAME`, then `/etc/krb5.keytab`), allowed service principals, clock skew (default 5 min),
 * RC4 (off: AES only), channel binding (default `allow`), ticket cache, local realms.
 */
export interface KerberosAcceptorOptions {
  /** Path ('FILE:' allowed) or a Keytab; default KRB5_KTNAME, else /etc/krb5.keytab (re-read when it changes). */
  readonly keytab?: string | Keytab;
  /** Accepted service principals ('HTTP/host@REALM', or 'HTTP/host' for any realm); default any in the keytab. */
  readonly principals?: readonly string[];
  /** Allowed clock difference (RFC 4120 §1.6), default 300_000 ms. */
  readonly clockSkewMs?: number;
  /** RC4-HMAC tickets and session keys only when true (RFC 8429); DES never. */
  readonly allowRc4?: boolean;
  /** TLS channel binding in the authenticator's checksum: 'none' | 'allow' (default) | 'require'. */
  readonly channelBinding?: { readonly mode: ChannelBindingMode };
  /**
   * Decrypted tickets kept for reuse (ticket-cache.ts), default 10_000; 0 disables. Clients reuse
   * a service ticket for hours, so this skips the ticket decryption and PAC verification on all
   * but the first request of each ticket.
   */
  readonly ticketCacheSize?: number;
  /**
   * The realms whose users are this server's own (compared exactly: Kerberos realms are
   * case-sensitive). Only their principals get a bare `user` ('alice'); a client of any other
   * realm the KDC trusts keeps its full name ('alice@PARTNER.TEST') and its PAC's SIDs are
   * filtered as across a trust (pac/sid-filter.ts). Default: the realms of the keytab's keys.
   */
  readonly localRealms?: readonly string[];
  /**
   * Realms trusted as intermediates on a ticket's transited path when no KDC checked it
   * (TRANSITED-POLICY-CHECKED unset, RFC 4120 §3.3.3.2), compared exactly. Default none: such a
   * ticket with a non-empty path is refused (ERR_HTTPAUTH_KRB_TRANSITED_UNCHECKED).
   */
  readonly transitedRealms?: readonly string[];
}

/**
 * What {@link KerberosAcceptor.accept} needs besides the token: the replay-cache store (RFC 4120
 * §3.2.3), the current time and the connection's TLS channel binding.
 */
export interface KerberosAcceptContext {
  readonly store: KeyValueStore;
  /** Current time in ms (injectable for tests). */
  readonly now: number;
  /** RFC 5929 tls-server-end-point application data of this connection, when known. */
  readonly channelBinding: Buffer | undefined;
}

/**
 * The outcome of {@link KerberosAcceptor.accept}. On success: the client {@link Principal} (with
 * the PAC's groups when the KDC sent one), the session key and sequence numbers for per-message
 * tokens, a delegated credential when the client forwarded a TGT, and the AP-REP to return when the
 * client asked for mutual authentication. On failure: the error and, when the client can act on it
 * (clock skew, replay, expired ticket, unknown key or service), a KRB-ERROR (RFC 4120 §5.9.1) to
 * send back as the response token.
 */
export type KerberosAcceptResult =
  | {
      readonly ok: true;
      readonly principal: Principal;
      readonly mechOid: string;
      readonly responseToken: Buffer | undefined;
      readonly sessionKey: KerberosKey;
      readonly acceptorSubkey: boolean;
      readonly gssFlags: number;
      readonly delegatedCredential?: DelegatedCredential;
      /** The client's ticket and its FORWARDABLE flag: S4U2Proxy's evidence (MS-SFU §3.2.5.2). */
      readonly clientTicket: { readonly ticket: Ticket; readonly forwardable: boolean };
      /** The accepted service principal ('HTTP/host@REALM'). */
      readonly servicePrincipal: string;
      /**
       * The acceptor's first sequence number for per-message tokens (RFC 4121 §4.2.6.1 SND_SEQ):
       * the seq-number of our AP-REP, or without one the initiator's (as MIT's acceptor does).
       */
      readonly acceptorSeqNumber: number;
      /** The initiator's first sequence number (the authenticator's seq-number), when it sent one. */
      readonly initiatorSeqNumber: number | undefined;
    }
  | { readonly ok: false; readonly error: HttpAuthError; readonly responseToken?: Buffer };
