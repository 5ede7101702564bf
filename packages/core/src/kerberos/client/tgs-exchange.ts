/**
 * The TGS exchange (RFC 4120 §3.3): a service ticket from a TGT.
 *
 * The TGS-REQ carries PA-TGS-REQ (§5.4.1; key usages §7.5.1): an AP-REQ with the TGT
 * and an Authenticator encrypted in the TGT session key (usage 7) whose checksum covers the
 * DER of the KDC-REQ-BODY (keyed with the session key, usage 6), so the body cannot be altered on
 * the way. The TGS-REP's enc-part is encrypted in the TGT session key (usage 8; no subkey is sent).
 */
import { randomBytes } from 'node:crypto';

import { computeChecksum, encryptionProfile, KeyUsage, makeKey } from '../crypto/index.js';
import { encodeApReq } from '../messages/ap-req.js';
import { encodeKerberosAuthenticator } from '../messages/ap-authenticator.js';
import { sameComponents, type PrincipalName } from '../messages/principal-name.js';
import type { Ticket } from '../messages/ticket.js';
import type { ClientTicket } from './as-exchange.js';
import { errorFromKrbError, replyMismatch, type KdcPhase } from './kdc-errors.js';
import { checkReplyFitsRequest, decryptEncPart, readKdcReply } from './kdc-reply.js';
import { MSG_TYPE_TGS_REP } from './kdc-rep.js';
import { encodeKdcReqBody } from './kdc-req-body.js';
import { encodeKdcReq, MSG_TYPE_TGS_REQ } from './kdc-req.js';
import { PaDataType, type PaData } from './pa-data.js';

export interface TgsExchangeParams {
  readonly tgt: ClientTicket;
  /** The realm of the KDC asked: the realm the TGT is for (cross-realm.ts walks to others). */
  readonly realm: string;
  readonly sname: PrincipalName;
  readonly etypes: readonly number[];
  readonly send: (request: Buffer) => Promise<Buffer>;
  readonly now: () => number;
  readonly kdcOptions?: number;
  /**
   * Extra PA-DATA after PA-TGS-REQ (S4U's PA-FOR-USER, PA-S4U-X509-USER), built with the
   * request's nonce (PA-S4U-X509-USER repeats it). With it, the reply's client is the caller's
   * to check (S4U answers for another client than the TGT's).
   */
  readonly extraPadata?: (nonce: number) => readonly PaData[];
  readonly additionalTickets?: readonly Ticket[];
  /**
   * The request is for a cross-realm TGT (`krbtgt/TARGET@realm`): the KDC may answer with a TGT
   * for a realm on the way instead, `krbtgt/OTHER@realm` (RFC 4120 §3.3.1, RFC 6806 §8).
   */
  readonly crossRealmTgt?: boolean;
  /** How KRB-ERRORs are classified (kdc-errors.ts); default 'TGS'. */
  readonly phase?: KdcPhase;
}

/** krbtgt/REALM: a TGT's service name (RFC 4120 §7.3). */
export function isTgsName(sname: PrincipalName): boolean {
  return (
    sname.components.length === 2 && sname.components[0] === 'krbtgt' && sname.components[1] !== ''
  );
}

/** PA-TGS-REQ: the AP-REQ that authenticates a TGS-REQ whose body is `bodyDer`. */
export function paTgsReq(tgt: ClientTicket, bodyDer: Buffer, now: number): PaData {
  const key = tgt.sessionKey;
  const profile = encryptionProfile(key.enctype);
  if (profile === undefined) throw replyMismatch('TGT session key enctype unsupported');
  const cksum = {
    cksumtype: profile.checksumType,
    checksum: computeChecksum(
      profile.checksumType,
      key,
      KeyUsage.TGS_REQ_AUTHENTICATOR_CKSUM,
      bodyDer,
    ),
  };
  const authenticator = encodeKerberosAuthenticator({
    crealm: tgt.crealm,
    cname: tgt.cname,
    cksum,
    cusec: (now % 1000) * 1000,
    ctime: now - (now % 1000),
    subkey: undefined,
    seqNumber: undefined,
    authorizationData: [],
  });
  const apReq = encodeApReq({
    apOptions: 0,
    ticket: tgt.ticket,
    authenticator: {
      etype: key.enctype,
      kvno: undefined,
      cipher: profile.encrypt(key, KeyUsage.TGS_REQ_AUTHENTICATOR, authenticator),
    },
  });
  return { type: PaDataType.TGS_REQ, value: apReq };
}

/** A service ticket and the reply's PA-DATA (S4U checks the KDC's PA-S4U-X509-USER there). */
export interface ServiceTicket extends ClientTicket {
  readonly replyPadata: readonly PaData[];
  readonly nonce: number;
}

/** Gets a ticket for `sname` with `tgt`. Errors are HttpAuthErrors (kdc-errors.ts). */
export async function requestServiceTicket(params: TgsExchangeParams): Promise<ServiceTicket> {
  const now = params.now();
  const requestNonce = randomBytes(4).readUInt32BE(0) & 0x7fffffff;
  const body = encodeKdcReqBody({
    kdcOptions: params.kdcOptions ?? 0,
    cname: undefined,
    realm: params.realm,
    sname: params.sname,
    till: params.tgt.part.endtime,
    rtime: undefined,
    nonce: requestNonce,
    etypes: params.etypes,
    additionalTickets: params.additionalTickets ?? [],
  });
  const padata = [paTgsReq(params.tgt, body, now), ...(params.extraPadata?.(requestNonce) ?? [])];
  const reply = readKdcReply(
    await params.send(encodeKdcReq(MSG_TYPE_TGS_REQ, padata, body)),
    MSG_TYPE_TGS_REP,
  );
  if (reply.kind === 'error') throw errorFromKrbError(reply.error, params.phase ?? 'TGS');
  const { rep } = reply;
  const part = decryptEncPart(rep, params.tgt.sessionKey, KeyUsage.TGS_REP_ENCPART_SESSION);
  // Only the KDC that issued the TGT knows its session key.
  if (part === undefined) throw replyMismatch('TGS-REP does not decrypt with the TGT session key');
  // A referral names the realm on the way; checkReplyFitsRequest still wants the ticket and the
  // encrypted part to agree on it, and the realm to be the one asked.
  const referral = params.crossRealmTgt === true && isTgsName(rep.ticket.sname);
  checkReplyFitsRequest(rep, part, {
    nonce: requestNonce,
    realm: params.realm,
    sname: referral ? rep.ticket.sname : params.sname,
    etypes: params.etypes,
  });
  if (
    params.extraPadata === undefined &&
    (rep.crealm !== params.tgt.crealm ||
      !sameComponents(rep.cname.components, params.tgt.cname.components))
  ) {
    throw replyMismatch('client name differs from the TGT');
  }
  return {
    crealm: rep.crealm,
    cname: rep.cname,
    ticket: rep.ticket,
    sessionKey: makeKey(part.key.keytype, part.key.keyvalue),
    part,
    replyPadata: rep.padata,
    nonce: requestNonce,
  };
}
