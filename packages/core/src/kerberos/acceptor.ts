/**
 * The Kerberos GSS-API acceptor (RFC 4120 §3.2.3, RFC 4121, MS-KILE): verifies an AP-REQ against
 * a keytab and answers who the client is, with an AP-REP for mutual authentication or a KRB-ERROR
 * the client can act on. It keeps no per-connection state: Kerberos over HTTP is one round trip.
 *
 * Negotiate drives it through kerberos/mechanism-context.ts (a MechanismContext); its options and
 * result are documented on KerberosAcceptorOptions and KerberosAcceptResult below.
 *
 * accept() never throws: every failure is in the result (a non-HttpAuthError is a bug, reported as
 * ERR_HTTPAUTH_INTERNAL).
 *
 * The phases of RFC 4120 §3.2.3 live in their own modules, in the order accept() runs them:
 * ticket-decryption.ts (ticket and PAC), authenticator-checks.ts (client, times, GSS checksum,
 * channel binding), delegation.ts, replay-cache.ts, ap-reply.ts (AP-REP or KRB-ERROR).
 */
import { type ChannelBindingMode } from '../channel-binding.js';
import { fail, HttpAuthError, isHttpAuthError } from '../errors.js';
import type { Principal } from '../principal.js';
import { establishContext, krbErrorReply } from './ap-reply.js';
import {
  checkAuthenticatorAndTimes,
  checkChannelBinding,
  decryptAuthenticator,
  gssChecksumOf,
} from './authenticator-checks.js';
import { encryptionProfile, EncType } from './crypto/index.js';
import { GssFlags } from './gss-checksum.js';
import { decodeGssToken, KRB5_OID, TokenId } from './gss-token.js';
import { Keytab, KeytabFile } from './keytab.js';
import type { KerberosAuthenticator } from './messages/ap-authenticator.js';
import { ApOptions, AP_REQ_TAG, decodeApReq, type ApReq } from './messages/ap-req.js';
import { TicketFlags } from './messages/enc-ticket-part.js';
import {
  parsePrincipal,
  sameComponents,
  unparsePrincipal,
  type PrincipalName,
} from './messages/principal-name.js';
import { clientPrincipal } from './client-identity.js';
import { sharedKeyAliases } from './keytab-aliases.js';
import { recordAuthenticator } from './replay-cache.js';
import { TicketCache } from './ticket-cache.js';
import { decryptTicket, type DecryptedTicket } from './ticket-decryption.js';
import { decodeDelegation, type DelegatedCredential } from './delegation.js';
import { kerberosFailure, type AcceptProgress } from './failure-detail.js';

export type { DelegatedCredential, DelegatedTicket, KerberosPrincipalName } from './delegation.js';
export type {
  KerberosAcceptContext,
  KerberosAcceptorOptions,
  KerberosAcceptResult,
} from './acceptor-types.js';
import type {
  KerberosAcceptContext,
  KerberosAcceptorOptions,
  KerberosAcceptResult,
} from './acceptor-types.js';

/** A decrypted ticket with the names every request of it needs, computed once per ticket. */
interface AcceptedTicket extends DecryptedTicket {
  /** The ticket's service principal, 'HTTP/host@REALM'. */
  readonly servicePrincipal: string;
  /** The ticket's client, 'user@REALM' (krb5_unparse_name form). */
  readonly clientName: string;
}

type Accepted = KerberosAcceptResult & { readonly ok: true };

/** What step 7 needs from the checks before it (RFC 4120 §3.2.3 steps 1-6). */
interface CheckedRequest {
  readonly apReq: ApReq;
  readonly mechOid: string;
  readonly keytab: Keytab;
  readonly ticket: AcceptedTicket;
  readonly authenticator: KerberosAuthenticator;
  readonly gssFlags: number;
  readonly channelBound: boolean;
  readonly delegatedCredential: DelegatedCredential | undefined;
}

/** A failed accept as its result: the error, and the KRB-ERROR when the client can act on it. */
function refused(
  error: unknown,
  progress: AcceptProgress,
  mechOid: string,
  now: number,
): KerberosAcceptResult {
  const httpError = isHttpAuthError(error)
    ? kerberosFailure(error, progress)
    : new HttpAuthError('ERR_HTTPAUTH_INTERNAL', { cause: error });
  const responseToken = krbErrorReply(httpError, progress.apReq, mechOid, now);
  return responseToken === undefined
    ? { ok: false, error: httpError }
    : { ok: false, error: httpError, responseToken };
}

/** process.emitWarning code for an allowlist that separates names sharing a key. */
export const KEYTAB_SHARED_KEY_WARNING = 'HTTPAUTH_KEYTAB_SHARED_KEY';

const AES_ENCTYPES: readonly number[] = [
  EncType.AES128_CTS_HMAC_SHA1_96,
  EncType.AES256_CTS_HMAC_SHA1_96,
  EncType.AES128_CTS_HMAC_SHA256_128,
  EncType.AES256_CTS_HMAC_SHA384_192,
];

interface AllowedPrincipal {
  readonly components: readonly string[];
  readonly realm: string | undefined;
}

/** A list of realm names from the options: non-empty strings, else ERR_HTTPAUTH_INVALID_OPTIONS. */
function realmList(realms: unknown): string[] {
  if (!Array.isArray(realms) || realms.some((r) => typeof r !== 'string' || r === '')) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  return realms as string[];
}

/**
 * Verifies a client's AP-REQ (RFC 4120 §3.2.3): the service key from the keytab, the PAC signature
 * (MS-PAC §2.8), the authenticator's time and replay, the channel binding. `negotiate()` builds
 * one; construct one yourself to accept raw Kerberos tokens outside HTTP.
 */
export class KerberosAcceptor {
  readonly #keytabSource: Keytab | KeytabFile;
  readonly #allowed: readonly AllowedPrincipal[] | undefined;
  readonly #skewMs: number;
  readonly #enctypes: ReadonlySet<number>;
  readonly #bindingMode: ChannelBindingMode;
  readonly #tickets: TicketCache<AcceptedTicket>;
  readonly #configuredLocalRealms: ReadonlySet<string> | undefined;
  readonly #transitedRealms: ReadonlySet<string>;
  /** The keytab last checked for aliases and its realms (the default local realms). */
  #checkedKeytab: Keytab | undefined;
  #keytabRealms: ReadonlySet<string> = new Set();

  constructor(options: KerberosAcceptorOptions = {}) {
    const keytab = options.keytab ?? process.env.KRB5_KTNAME ?? '/etc/krb5.keytab';
    this.#keytabSource = keytab instanceof Keytab ? keytab : new KeytabFile(keytab);
    if (options.principals !== undefined) {
      if (!Array.isArray(options.principals) || options.principals.length === 0) {
        fail('ERR_HTTPAUTH_INVALID_OPTIONS');
      }
      this.#allowed = options.principals.map((text) => {
        if (typeof text !== 'string' || text.length === 0) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
        return parsePrincipal(text);
      });
    }
    const skew = options.clockSkewMs ?? 300_000;
    if (!Number.isFinite(skew) || skew < 0) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    this.#skewMs = skew;
    this.#enctypes = new Set(
      options.allowRc4 === true ? [...AES_ENCTYPES, EncType.RC4_HMAC] : AES_ENCTYPES,
    );
    const mode = options.channelBinding?.mode ?? 'allow';
    if (mode !== 'none' && mode !== 'allow' && mode !== 'require') {
      fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    }
    this.#bindingMode = mode;
    const cacheSize = options.ticketCacheSize ?? 10_000;
    if (!Number.isInteger(cacheSize) || cacheSize < 0) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    this.#tickets = new TicketCache(cacheSize);
    if (options.localRealms !== undefined) {
      this.#configuredLocalRealms = new Set(realmList(options.localRealms));
    }
    this.#transitedRealms = new Set(realmList(options.transitedRealms ?? []));
    if (keytab instanceof Keytab) this.#inspectKeytab(keytab);
  }

  /**
   * Once per keytab (and again after it changed on disk): its realms, and a warning when the
   * `principals` allowlist separates names that share one key. The ticket's sname is cleartext
   * that no key protects (RFC 4120 §5.3), so a ticket for one of those names decrypts under any
   * other: the allowlist cannot tell them apart, and the configuration suggests it does.
   */
  #inspectKeytab(keytab: Keytab): void {
    if (this.#checkedKeytab === keytab) return;
    this.#checkedKeytab = keytab;
    this.#keytabRealms = new Set(keytab.entries.map((entry) => entry.realm));
    if (this.#allowed === undefined) return;
    const split = sharedKeyAliases(keytab).filter((names) => {
      const accepted = names.filter((n) => this.#accepts(n.sname, n.realm));
      return accepted.length > 0 && accepted.length < names.length;
    });
    if (split.length === 0) return;
    const groups = split.map((names) => names.map((n) => n.principal).join(', ')).join('; ');
    process.emitWarning(
      `The Kerberos principals allowlist accepts some but not all of the names that share a key ` +
        `in the keytab (${groups}): a ticket for any of them is accepted as the allowed one. ` +
        `Give the service its own key, or list every name. See docs/kerberos.md.`,
      { code: KEYTAB_SHARED_KEY_WARNING },
    );
  }

  /** The realms whose users are local: `localRealms`, else the keytab's realms. */
  #localRealms(keytab: Keytab): ReadonlySet<string> {
    this.#inspectKeytab(keytab);
    return this.#configuredLocalRealms ?? this.#keytabRealms;
  }

  /** The keytab in use (re-read when the file changed). Throws ERR_HTTPAUTH_KEYTAB_INVALID. */
  keytab(now = Date.now()): Keytab {
    const source = this.#keytabSource;
    return source instanceof Keytab ? source : source.current(now);
  }

  /** Verifies a GSS-framed token or a bare AP-REQ; a refusal is `{ ok: false }`, not a throw. */
  async accept(token: Buffer, ctx: KerberosAcceptContext): Promise<KerberosAcceptResult> {
    return this.acceptNow(token, ctx);
  }

  /**
   * {@link accept}, answered at once when nothing in it waits: with an in-process MemoryStore as
   * the replay cache the result comes without a promise (the engine's hot path); with any other
   * store (Redis) it is a promise that settles once the store answered. Never throws or rejects.
   */
  acceptNow(
    token: Buffer,
    ctx: KerberosAcceptContext,
  ): KerberosAcceptResult | Promise<KerberosAcceptResult> {
    let mechOid = KRB5_OID;
    const progress: AcceptProgress = {};
    try {
      let message = token;
      if (Buffer.isBuffer(token) && token[0] !== AP_REQ_TAG) {
        const gss = decodeGssToken(token);
        if (gss.tokenId !== TokenId.AP_REQ) fail('ERR_HTTPAUTH_GSS_MALFORMED');
        mechOid = gss.mechOid;
        message = gss.message;
      }
      const apReq = decodeApReq(message);
      progress.apReq = apReq;
      const verified = this.#verify(apReq, mechOid, ctx, progress);
      if (verified instanceof Promise) {
        return verified.catch((error: unknown) => refused(error, progress, mechOid, ctx.now));
      }
      return verified;
    } catch (error) {
      return refused(error, progress, mechOid, ctx.now);
    }
  }

  #accepts(sname: PrincipalName, realm: string): boolean {
    if (this.#allowed === undefined) return true;
    return this.#allowed.some(
      (p) =>
        (p.realm === undefined || p.realm === realm) &&
        sameComponents(p.components, sname.components),
    );
  }

  /** Refuses an enctype not allowed (DES, RC4 unless `allowRc4`); an arrow: phases call it. */
  readonly #checkEnctype = (enctype: number): void => {
    if (!this.#enctypes.has(enctype) || encryptionProfile(enctype) === undefined) {
      fail('ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED');
    }
  };

  /** Step 2 for a ticket not seen before: its service key, then the ticket and its PAC. */
  #decryptTicket(apReq: ApReq, keytab: Keytab): AcceptedTicket {
    const { ticket } = apReq;
    const servicePrincipal = unparsePrincipal(ticket.sname, ticket.realm);
    if (keytab.entriesFor(servicePrincipal).length === 0) fail('ERR_HTTPAUTH_KRB_WRONG_SERVICE');
    this.#checkEnctype(ticket.encPart.etype);
    const serviceKey = keytab.find(servicePrincipal, ticket.encPart.etype, ticket.encPart.kvno);
    if (serviceKey === undefined) fail('ERR_HTTPAUTH_KRB_NO_KEY');
    const decrypted = decryptTicket(apReq, serviceKey, this.#checkEnctype, this.#transitedRealms);
    const { cname, crealm } = decrypted.encTicket;
    return { ...decrypted, servicePrincipal, clientName: unparsePrincipal(cname, crealm) };
  }

  /** Steps 1-6 of RFC 4120 §3.2.3, then #establish; a promise only when the replay store waits. */
  #verify(
    apReq: ApReq,
    mechOid: string,
    ctx: KerberosAcceptContext,
    progress: AcceptProgress,
  ): Accepted | Promise<Accepted> {
    const { ticket } = apReq;
    // User-to-user tickets are encrypted in a TGT session key we do not hold.
    if ((apReq.apOptions & ApOptions.USE_SESSION_KEY) !== 0) fail('ERR_HTTPAUTH_KRB_NO_KEY');

    // 1. The service principal allowed (RFC 4120 §3.2.3), and the keytab.
    if (!this.#accepts(ticket.sname, ticket.realm)) fail('ERR_HTTPAUTH_KRB_WRONG_SERVICE');
    const keytab = this.keytab(ctx.now);
    progress.keytab = keytab;
    this.#inspectKeytab(keytab);

    // 2. The ticket (usage 2) and its PAC, or the same ticket decrypted and verified earlier: the
    //    cache key covers its whole DER (sname, realm, etype, kvno, cipher) and the cache is
    //    dropped when the keytab changes, so #decryptTicket's key checks would pass again.
    this.#tickets.bind(keytab);
    const cacheKey = TicketCache.keyOf(ticket.der);
    let decrypted = this.#tickets.get(cacheKey, ctx.now);
    if (decrypted === undefined) {
      decrypted = this.#decryptTicket(apReq, keytab);
      this.#tickets.set(cacheKey, decrypted, decrypted.encTicket.endtime + this.#skewMs);
    }
    const { encTicket, sessionKey, clientName } = decrypted;
    progress.clientRealm = encTicket.crealm;

    // 3. The authenticator (usage 11): the ticket's client, within the skew, ticket valid now.
    const authenticator = decryptAuthenticator(apReq, sessionKey);
    checkAuthenticatorAndTimes(authenticator, encTicket, ctx.now, this.#skewMs);

    // 4. The GSS checksum: flags, channel binding, delegation (RFC 4121 §4.1.1).
    const checksum = gssChecksumOf(authenticator);
    const gssFlags = checksum?.flags ?? 0;
    const channelBound = checkChannelBinding(
      this.#bindingMode,
      checksum,
      authenticator,
      ctx.channelBinding,
    );

    // 5. Delegation: the forwarded TGT.
    let delegatedCredential: DelegatedCredential | undefined;
    if ((gssFlags & GssFlags.DELEG) !== 0 && checksum?.delegation !== undefined) {
      delegatedCredential = decodeDelegation(
        checksum.delegation,
        sessionKey,
        authenticator,
        encTicket,
      );
    }

    // 6. Replay cache, last, so that failed attempts do not fill it (RFC 4120 §3.2.3). Keyed on
    //    the authenticator ciphertext alone: the ticket's sname is cleartext (replay-cache.ts).
    //    An in-process store answers at once; a shared one (Redis) is awaited before step 7.
    const checked: CheckedRequest = {
      apReq,
      mechOid,
      keytab,
      ticket: decrypted,
      authenticator,
      gssFlags,
      channelBound,
      delegatedCredential,
    };
    const recorded = recordAuthenticator(
      ctx.store,
      apReq.authenticator.cipher,
      clientName,
      2 * this.#skewMs,
    );
    if (recorded === undefined) return this.#establish(checked);
    return recorded.then(() => this.#establish(checked));
  }

  /** Step 7 and the result, once every check passed and the authenticator is recorded. */
  #establish(checked: CheckedRequest): Accepted {
    const { apReq, mechOid, keytab, authenticator, gssFlags, channelBound, delegatedCredential } =
      checked;
    const { encTicket, sessionKey, pac, servicePrincipal, clientName } = checked.ticket;

    // 7. Mutual authentication: AP-REP with our subkey and sequence number (RFC 4121 §4.1).
    const established = establishContext(
      apReq,
      authenticator,
      sessionKey,
      gssFlags,
      mechOid,
      this.#checkEnctype,
    );

    const principal: Principal = clientPrincipal({
      name: clientName,
      encTicket,
      pac,
      localRealm: this.#localRealms(keytab).has(encTicket.crealm),
      delegated: delegatedCredential !== undefined,
      channelBound,
    });
    return {
      ok: true as const,
      principal,
      mechOid,
      responseToken: established.responseToken,
      sessionKey: established.contextKey,
      acceptorSubkey: established.acceptorSubkey,
      gssFlags,
      servicePrincipal,
      acceptorSeqNumber: established.acceptorSeqNumber,
      initiatorSeqNumber: authenticator.seqNumber,
      clientTicket: {
        ticket: apReq.ticket,
        forwardable: (encTicket.flags & TicketFlags.FORWARDABLE) !== 0,
      },
      ...(delegatedCredential === undefined ? {} : { delegatedCredential }),
    };
  }
}
