/**
 * The last phase of accepting an AP-REQ: what goes back to the client. On success the context
 * keys and, for mutual authentication, an AP-REP with our subkey and first sequence number
 * (RFC 4120 §3.2.4, RFC 4121 §4.1, §4.2.6.1); on a failure the client can act on, a KRB-ERROR
 * (RFC 4120 §3.1.6, §7.5.9). Both are GSS-framed (RFC 4121 §4.1: token ids 02 00 and 03 00).
 */
import { randomBytesPooled } from '../crypto/random-pool.js';
import type { ErrorCode, HttpAuthError } from '../errors.js';
import { encryptionProfile, EncType, KeyUsage, makeKey, type KerberosKey } from './crypto/index.js';
import { GssFlags } from './gss-checksum.js';
import { encodeApRepGssToken, encodeEncApRepPartPresized } from './ap-rep-token.js';
import { encodeGssToken, TokenId } from './gss-token.js';
import type { KerberosAuthenticator } from './messages/ap-authenticator.js';
import { ApOptions, type ApReq } from './messages/ap-req.js';
import { encodeKrbError, KrbErrorCode } from './messages/krb-error.js';

/** The keys of an established context and the AP-REP that tells the client about ours. */
export interface EstablishedContext {
  /** GSS-framed AP-REP when the client asked for mutual authentication. */
  readonly responseToken: Buffer | undefined;
  /** Our acceptor subkey, else the initiator's subkey, else the ticket session key. */
  readonly contextKey: KerberosKey;
  readonly acceptorSubkey: boolean;
  /** Our first SND_SEQ: the AP-REP's seq-number, else the initiator's (as MIT's acceptor). */
  readonly acceptorSeqNumber: number;
}

/**
 * Settle the context key and, when the client asked for mutual authentication (GSS MUTUAL flag
 * or AP option MUTUAL-REQUIRED), build the AP-REP. `checkEnctype` refuses an initiator subkey of
 * an enctype we do not accept.
 */
export function establishContext(
  apReq: ApReq,
  authenticator: KerberosAuthenticator,
  sessionKey: KerberosKey,
  gssFlags: number,
  mechOid: string,
  checkEnctype: (enctype: number) => void,
): EstablishedContext {
  let acceptorSeqNumber = authenticator.seqNumber ?? 0;
  let contextKey = sessionKey;
  if (authenticator.subkey !== undefined) {
    checkEnctype(authenticator.subkey.keytype);
    contextKey = makeKey(authenticator.subkey.keytype, authenticator.subkey.keyvalue);
  }
  const mutual =
    (gssFlags & GssFlags.MUTUAL) !== 0 || (apReq.apOptions & ApOptions.MUTUAL_REQUIRED) !== 0;
  const sessionProfile = encryptionProfile(sessionKey.enctype);
  if (!mutual || sessionProfile === undefined) {
    return { responseToken: undefined, contextKey, acceptorSubkey: false, acceptorSeqNumber };
  }
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
  // Both written into pre-sized Buffers (ap-rep-token.ts): this runs once per request.
  const encPart = encodeEncApRepPartPresized({
    ctime: authenticator.ctime,
    cusec: authenticator.cusec,
    subkey: subkey === undefined ? undefined : { keytype: subkey.enctype, keyvalue: subkey.bytes },
    seqNumber: acceptorSeqNumber,
  });
  const cipher = sessionProfile.encrypt(sessionKey, KeyUsage.AP_REP_ENCPART, encPart);
  encPart.fill(0); // it held the subkey
  return {
    responseToken: encodeApRepGssToken(sessionKey.enctype, cipher, mechOid),
    contextKey: subkey ?? contextKey,
    acceptorSubkey: subkey !== undefined,
    acceptorSeqNumber,
  };
}

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

/**
 * The GSS-framed KRB-ERROR for a failure the client can act on (a new ticket, a fixed clock),
 * or undefined for the others and when the AP-REQ did not even decode (no realm to name).
 */
export function krbErrorReply(
  error: HttpAuthError,
  apReq: ApReq | undefined,
  mechOid: string,
  nowMs: number,
): Buffer | undefined {
  const code = KRB_ERROR_FOR[error.code];
  if (code === undefined || apReq === undefined) return undefined;
  const now = Number.isFinite(nowMs) ? Math.max(0, Math.floor(nowMs)) : Date.now();
  const krbError = encodeKrbError({
    stime: now - (now % 1000),
    susec: (now % 1000) * 1000,
    errorCode: code,
    realm: apReq.ticket.realm,
    sname: apReq.ticket.sname,
  });
  return encodeGssToken(TokenId.KRB_ERROR, krbError, mechOid);
}
