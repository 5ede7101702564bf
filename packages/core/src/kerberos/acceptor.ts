/**
 * The Kerberos GSS-API acceptor (RFC 4120 §3.2.3, RFC 4121, MS-KILE): verifies an AP-REQ against
 * a keytab and answers who the client is, with an AP-REP for mutual authentication or a KRB-ERROR
 * the client can act on. It keeps no per-connection state: Kerberos over HTTP is one round trip.
 *
 * Public API (the Negotiate package codes against these names):
 *
 *   new KerberosAcceptor(options?: KerberosAcceptorOptions)
 *     keytab        path ('FILE:' prefix allowed) or a Keytab; default KRB5_KTNAME, else
 *                   /etc/krb5.keytab; the file is re-read when it changes
 *     principals    accepted service principals ('HTTP/host@REALM' or 'HTTP/host' for any realm);
 *                   default: any principal in the keytab (MIT's GSS_C_NO_NAME acceptor)
 *     clockSkewMs   default 300_000
 *     allowRc4      RC4-HMAC tickets and session keys only when true; DES never
 *     channelBinding { mode: 'none' | 'allow' | 'require' } (default 'allow')
 *     ticketCacheSize decrypted, PAC-verified tickets kept for reuse (default 10_000; 0 = off)
 *
 *   acceptor.accept(token, { store, now, channelBinding }) -> Promise<KerberosAcceptResult>
 *     token: a GSS initial context token (0x60, krb5 OID, 01 00, AP-REQ) or a bare AP-REQ
 *     ok:    principal, mechOid, responseToken (GSS-framed AP-REP, 02 00, when the client asked for
 *            mutual authentication), sessionKey (for MIC tokens: our acceptor subkey, else the
 *            initiator's subkey, else the ticket session key), acceptorSubkey, gssFlags,
 *            delegatedCredential (a forwarded TGT), acceptorSeqNumber (our first SND_SEQ for MIC
 *            tokens), initiatorSeqNumber, servicePrincipal
 *     not ok: error (HttpAuthError) and, for failures the client can act on, a GSS-framed
 *            KRB-ERROR (03 00) responseToken
 *
 *   gssGetMic / gssVerifyMic (gss-mic.ts): RFC 4121 MIC tokens for SPNEGO's mechListMIC.
 *
 * accept() never throws: every failure is in the result (a non-HttpAuthError is a bug, reported as
 * ERR_HTTPAUTH_INTERNAL).
 */
import { timingSafeEqual } from 'node:crypto';
import { randomBytesPooled } from '../crypto/random-pool.js';
import { channelBindingHash, type ChannelBindingMode } from '../channel-binding.js';
import { fail, HttpAuthError, isHttpAuthError, type ErrorCode } from '../errors.js';
import type { Principal } from '../principal.js';
import type { KeyValueStore } from '../store/types.js';
import { encryptionProfile, EncType, KeyUsage, makeKey, type KerberosKey } from './crypto/index.js';
import {
  decodeGssChecksum,
  GSS_CHECKSUM_TYPE,
  GssFlags,
  isZeroBinding,
  type GssChecksum,
} from './gss-checksum.js';
import { decodeGssToken, encodeGssToken, KRB5_OID, TokenId } from './gss-token.js';
import { Keytab, KeytabFile } from './keytab.js';
import { ApOptions, AP_REQ_TAG, decodeApReq, type ApReq } from './messages/ap-req.js';
import { encodeApRep } from './messages/ap-rep.js';
import {
  apOptionsFromAuthorizationData,
  KERB_AP_OPTIONS_CBT,
} from './messages/authorization-data.js';
import { decodeKerberosAuthenticator, type KerberosAuthenticator } from './messages/ap-authenticator.js';
import { encodeEncApRepPart } from './messages/enc-ap-rep-part.js';
import {
  decodeEncTicketPart,
  TicketFlags,
  type EncTicketPart,
} from './messages/enc-ticket-part.js';
import { encodeKrbError, KrbErrorCode } from './messages/krb-error.js';
import {
  parsePrincipal,
  sameComponents,
  unparsePrincipal,
  type PrincipalName,
} from './messages/principal-name.js';
import { checkTicketSanity, clientPrincipal, verifyPac, type PacFacts } from './client-identity.js';
import { sharedKeyAliases } from './keytab-aliases.js';
import { recordAuthenticator } from './replay-cache.js';
import { TicketCache } from './ticket-cache.js';
import { decodeDelegation, type DelegatedCredential } from './delegation.js';

export type { DelegatedCredential, DelegatedTicket, KerberosPrincipalName } from './delegation.js';

export interface KerberosAcceptorOptions {
  readonly keytab?: string | Keytab;
  readonly principals?: readonly string[];
  readonly clockSkewMs?: number;
  readonly allowRc4?: boolean;
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

export interface KerberosAcceptContext {
  readonly store: KeyValueStore;
  /** Current time in ms (injectable for tests). */
  readonly now: number;
  /** RFC 5929 tls-server-end-point application data of this connection, when known. */
  readonly channelBinding: Buffer | undefined;
}

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

/** Errors the client can act on and the KRB-ERROR code that tells it (RFC 4120 §7.5.9). */
const KRB_ERROR_FOR: Partial<Record<ErrorCode, number>> = {
  ERR_HTTPAUTH_KRB_SKEW: KrbErrorCode.KRB_AP_ERR_SKEW,
  ERR_HTTPAUTH_KRB_MODIFIED: KrbErrorCode.KRB_AP_ERR_MODIFIED,
  ERR_HTTPAUTH_KRB_REPLAY: KrbErrorCode.KRB_AP_ERR_REPEAT,
  ERR_HTTPAUTH_KRB_TICKET_EXPIRED: KrbErrorCode.KRB_AP_ERR_TKT_EXPIRED,
  ERR_HTTPAUTH_KRB_TICKET_NOT_YET_VALID: KrbErrorCode.KRB_AP_ERR_TKT_NYV,
  ERR_HTTPAUTH_KRB_WRONG_SERVICE: KrbErrorCode.KRB_AP_ERR_NOT_US,
  ERR_HTTPAUTH_KRB_BAD_MATCH: KrbErrorCode.KRB_AP_ERR_BADMATCH,
  ERR_HTTPAUTH_KRB_NO_KEY: KrbErrorCode.KRB_AP_ERR_NOKEY,
  ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED: KrbErrorCode.KDC_ERR_ETYPE_NOSUPP,
};

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

/** A ticket that decrypted and whose PAC verified. */
interface DecryptedTicket {
  readonly encTicket: EncTicketPart;
  readonly sessionKey: KerberosKey;
  readonly pac: PacFacts | undefined;
}

/** A list of realm names from the options: non-empty strings, else ERR_HTTPAUTH_INVALID_OPTIONS. */
function realmList(realms: unknown): string[] {
  if (!Array.isArray(realms) || realms.some((r) => typeof r !== 'string' || r === '')) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  return realms as string[];
}

export class KerberosAcceptor {
  readonly #keytabSource: Keytab | KeytabFile;
  readonly #allowed: readonly AllowedPrincipal[] | undefined;
  readonly #skewMs: number;
  readonly #enctypes: ReadonlySet<number>;
  readonly #bindingMode: ChannelBindingMode;
  readonly #tickets: TicketCache<DecryptedTicket>;
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

  async accept(token: Buffer, ctx: KerberosAcceptContext): Promise<KerberosAcceptResult> {
    let mechOid = KRB5_OID;
    let apReq: ApReq | undefined;
    try {
      let message = token;
      if (Buffer.isBuffer(token) && token[0] !== AP_REQ_TAG) {
        const gss = decodeGssToken(token);
        if (gss.tokenId !== TokenId.AP_REQ) fail('ERR_HTTPAUTH_GSS_MALFORMED');
        mechOid = gss.mechOid;
        message = gss.message;
      }
      apReq = decodeApReq(message);
      return await this.#verify(apReq, mechOid, ctx);
    } catch (error) {
      const httpError =
        isHttpAuthError(error)
          ? error
          : new HttpAuthError('ERR_HTTPAUTH_INTERNAL', { cause: error });
      const code = KRB_ERROR_FOR[httpError.code];
      if (code === undefined || apReq === undefined) return { ok: false, error: httpError };
      const now = Number.isFinite(ctx.now) ? Math.max(0, Math.floor(ctx.now)) : Date.now();
      const krbError = encodeKrbError({
        stime: now - (now % 1000),
        susec: (now % 1000) * 1000,
        errorCode: code,
        realm: apReq.ticket.realm,
        sname: apReq.ticket.sname,
      });
      return {
        ok: false,
        error: httpError,
        responseToken: encodeGssToken(TokenId.KRB_ERROR, krbError, mechOid),
      };
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

  #checkEnctype(enctype: number): void {
    if (!this.#enctypes.has(enctype) || encryptionProfile(enctype) === undefined) {
      fail('ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED');
    }
  }

  async #verify(
    apReq: ApReq,
    mechOid: string,
    ctx: KerberosAcceptContext,
  ): Promise<KerberosAcceptResult> {
    const { ticket } = apReq;
    // User-to-user tickets are encrypted in a TGT session key we do not hold.
    if ((apReq.apOptions & ApOptions.USE_SESSION_KEY) !== 0) fail('ERR_HTTPAUTH_KRB_NO_KEY');

    // 1. The service key: principal allowed and in the keytab, enctype allowed (RFC 4120 §3.2.3).
    if (!this.#accepts(ticket.sname, ticket.realm)) fail('ERR_HTTPAUTH_KRB_WRONG_SERVICE');
    const servicePrincipal = unparsePrincipal(ticket.sname, ticket.realm);
    const keytab = this.keytab(ctx.now);
    this.#inspectKeytab(keytab);
    if (keytab.entriesFor(servicePrincipal).length === 0) fail('ERR_HTTPAUTH_KRB_WRONG_SERVICE');
    this.#checkEnctype(ticket.encPart.etype);
    const serviceKey = keytab.find(servicePrincipal, ticket.encPart.etype, ticket.encPart.kvno);
    if (serviceKey === undefined) fail('ERR_HTTPAUTH_KRB_NO_KEY');

    // 2. The ticket (usage 2, authenticated encryption) and its PAC, or the same ticket already
    //    decrypted and verified by an earlier request.
    this.#tickets.bind(keytab);
    const cacheKey = TicketCache.keyOf(ticket.der);
    let decrypted = this.#tickets.get(cacheKey, ctx.now);
    if (decrypted === undefined) {
      decrypted = this.#decryptTicket(apReq, serviceKey);
      this.#tickets.set(cacheKey, decrypted, decrypted.encTicket.endtime + this.#skewMs);
    }
    const { encTicket, sessionKey, pac } = decrypted;

    // 3. The authenticator (usage 11) with the ticket session key.
    if (apReq.authenticator.etype !== sessionKey.enctype) fail('ERR_HTTPAUTH_KRB_MODIFIED');
    const sessionProfile = encryptionProfile(sessionKey.enctype);
    if (sessionProfile === undefined) fail('ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED');
    const authenticator = decodeKerberosAuthenticator(
      sessionProfile.decrypt(sessionKey, KeyUsage.AP_REQ_AUTHENTICATOR, apReq.authenticator.cipher),
    );

    // 4. The authenticator's client is the ticket's client.
    if (
      authenticator.crealm !== encTicket.crealm ||
      !sameComponents(authenticator.cname.components, encTicket.cname.components)
    ) {
      fail('ERR_HTTPAUTH_KRB_BAD_MATCH');
    }

    // 5. Times: authenticator within the skew; ticket valid now, allowing for the skew.
    const authenticatorTime = authenticator.ctime + Math.floor(authenticator.cusec / 1000);
    if (Math.abs(ctx.now - authenticatorTime) > this.#skewMs) fail('ERR_HTTPAUTH_KRB_SKEW');
    const start = encTicket.starttime ?? encTicket.authtime;
    if (start - this.#skewMs > ctx.now || (encTicket.flags & TicketFlags.INVALID) !== 0) {
      fail('ERR_HTTPAUTH_KRB_TICKET_NOT_YET_VALID');
    }
    if (encTicket.endtime + this.#skewMs < ctx.now) fail('ERR_HTTPAUTH_KRB_TICKET_EXPIRED');

    // 6. The GSS checksum: flags, channel binding, delegation (RFC 4121 §4.1.1).
    let checksum: GssChecksum | undefined;
    if (authenticator.cksum !== undefined) {
      if (authenticator.cksum.cksumtype !== GSS_CHECKSUM_TYPE) fail('ERR_HTTPAUTH_GSS_MALFORMED');
      checksum = decodeGssChecksum(authenticator.cksum.checksum);
    }
    const gssFlags = checksum?.flags ?? 0;
    const channelBound = this.#checkChannelBinding(checksum, authenticator, ctx.channelBinding);

    // 7. Delegation: the forwarded TGT.
    let delegatedCredential: DelegatedCredential | undefined;
    if ((gssFlags & GssFlags.DELEG) !== 0 && checksum?.delegation !== undefined) {
      delegatedCredential = decodeDelegation(
        checksum.delegation,
        sessionKey,
        authenticator,
        encTicket,
      );
    }

    // 8. Replay cache, last, so that failed attempts do not fill it (RFC 4120 §3.2.3). Keyed on
    //    the authenticator ciphertext alone: the ticket's sname is cleartext (replay-cache.ts).
    await recordAuthenticator(
      ctx.store,
      apReq.authenticator.cipher,
      unparsePrincipal(encTicket.cname, encTicket.crealm),
      2 * this.#skewMs,
    );

    // 9. Mutual authentication: AP-REP with our subkey and sequence number (RFC 4121 §4.1).
    let responseToken: Buffer | undefined;
    let acceptorSeqNumber = authenticator.seqNumber ?? 0;
    let contextKey: KerberosKey = sessionKey;
    let acceptorSubkey = false;
    if (authenticator.subkey !== undefined) {
      this.#checkEnctype(authenticator.subkey.keytype);
      contextKey = makeKey(authenticator.subkey.keytype, authenticator.subkey.keyvalue);
    }
    const mutual =
      (gssFlags & GssFlags.MUTUAL) !== 0 || (apReq.apOptions & ApOptions.MUTUAL_REQUIRED) !== 0;
    if (mutual) {
      let subkey: KerberosKey | undefined;
      // One draw for the subkey and the sequence number.
      const profile = encryptionProfile(contextKey.enctype);
      const keyBytes = profile === undefined ? 0 : profile.keyBytes;
      const random = randomBytesPooled(keyBytes + 4);
      // RFC 4121 §2: an acceptor subkey for the newer enctypes (RC4 keeps the RFC 1964 tokens).
      if (contextKey.enctype !== EncType.RC4_HMAC && profile !== undefined) {
        subkey = makeKey(contextKey.enctype, random.subarray(0, keyBytes));
      }
      // MIT keeps sequence numbers below 2^30 so peers that treat them as signed agree.
      acceptorSeqNumber = random.readUInt32BE(keyBytes) & 0x3fffffff;
      const encPart = encodeEncApRepPart({
        ctime: authenticator.ctime,
        cusec: authenticator.cusec,
        subkey:
          subkey === undefined ? undefined : { keytype: subkey.enctype, keyvalue: subkey.bytes },
        seqNumber: acceptorSeqNumber,
      });
      const apRep = encodeApRep({
        encPart: {
          etype: sessionKey.enctype,
          kvno: undefined,
          cipher: sessionProfile.encrypt(sessionKey, KeyUsage.AP_REP_ENCPART, encPart),
        },
      });
      responseToken = encodeGssToken(TokenId.AP_REP, apRep, mechOid);
      if (subkey !== undefined) {
        contextKey = subkey;
        acceptorSubkey = true;
      }
    }

    const principal: Principal = clientPrincipal({
      encTicket,
      pac,
      localRealm: this.#localRealms(keytab).has(encTicket.crealm),
      delegated: delegatedCredential !== undefined,
      channelBound,
    });
    return {
      ok: true,
      principal,
      mechOid,
      responseToken,
      sessionKey: contextKey,
      acceptorSubkey,
      gssFlags,
      servicePrincipal,
      acceptorSeqNumber,
      initiatorSeqNumber: authenticator.seqNumber,
      ...(delegatedCredential === undefined ? {} : { delegatedCredential }),
    };
  }

  /** Decrypt and decode the ticket, and verify its PAC (MS-PAC) with the service key. */
  #decryptTicket(apReq: ApReq, serviceKey: KerberosKey): DecryptedTicket {
    const ticketProfile = encryptionProfile(serviceKey.enctype);
    if (ticketProfile === undefined) fail('ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED');
    const encTicket = decodeEncTicketPart(
      ticketProfile.decrypt(serviceKey, KeyUsage.KDC_REP_TICKET, apReq.ticket.encPart.cipher),
    );
    this.#checkEnctype(encTicket.key.keytype);
    const sessionKey = makeKey(encTicket.key.keytype, encTicket.key.keyvalue);
    checkTicketSanity(encTicket, this.#transitedRealms);
    const pac = verifyPac(encTicket, serviceKey);
    // Keep only what later checks read: the authorization data and addresses are views into the
    // decrypted ticket (a large AD PAC is tens of KiB), which a cache entry must not pin.
    const slim: EncTicketPart = {
      ...encTicket,
      transited: { trType: encTicket.transited.trType, contents: Buffer.alloc(0) },
      caddr: undefined,
      authorizationData: [],
    };
    return { encTicket: slim, sessionKey, pac };
  }

  /**
   * Channel bindings, as IIS's Extended Protection: `none` ignores them; `allow` checks a binding
   * the client sent, and refuses a missing one only when the client said it supports them
   * (MS-KILE KERB_AP_OPTIONS_CBT); `require` refuses a missing one. Returns true when bound.
   */
  #checkChannelBinding(
    checksum: GssChecksum | undefined,
    authenticator: KerberosAuthenticator,
    serverBinding: Buffer | undefined,
  ): boolean {
    if (this.#bindingMode === 'none') return false;
    const sent = checksum !== undefined && !isZeroBinding(checksum.bindings);
    if (!sent) {
      if (this.#bindingMode === 'require') fail('ERR_HTTPAUTH_CHANNEL_BINDING_MISSING');
      const cbtSupported =
        (apOptionsFromAuthorizationData(authenticator.authorizationData) & KERB_AP_OPTIONS_CBT) !==
        0;
      if (cbtSupported && serverBinding !== undefined) fail('ERR_HTTPAUTH_CHANNEL_BINDING_MISSING');
      return false;
    }
    if (serverBinding === undefined) {
      // A binding over a connection we cannot bind (plain HTTP): nothing to compare it with.
      if (this.#bindingMode === 'require') fail('ERR_HTTPAUTH_CHANNEL_BINDING_MISMATCH');
      return false;
    }
    const expected = channelBindingHash(serverBinding);
    if (!timingSafeEqual(expected, checksum.bindings))
      fail('ERR_HTTPAUTH_CHANNEL_BINDING_MISMATCH');
    return true;
  }
}
