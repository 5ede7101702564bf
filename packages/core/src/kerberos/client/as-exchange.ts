/**
 * The AS exchange (RFC 4120 §3.1): the client's TGT, with a password or a keytab key.
 *
 *  1. AS-REQ without pre-authentication. Most KDCs answer KDC_ERR_PREAUTH_REQUIRED with
 *     METHOD-DATA listing ETYPE-INFO2 (RFC 4120 §5.2.7.5): the enctype, salt and s2kparams of the
 *     user's keys.
 *  2. The key from the password (string-to-key of that enctype, RFC 3962 §4 / RFC 8009 §4), and
 *     a second AS-REQ with PA-ENC-TIMESTAMP (§5.2.7.2): the current time encrypted in that key
 *     under key usage 1, proving the password to the KDC.
 *  3. The AS-REP's enc-part decrypts with the same key (usage 3) only if the password is right;
 *     its nonce, realm and service name must be those of the request.
 *
 * A KDC that does not require pre-authentication answers step 1 with an AS-REP directly; its
 * PA-ETYPE-INFO2 (or the default salt) then gives the key. Either way the AS-REP alone proves
 * nothing about the KDC: whoever answered chose the key. The caller verifies the KDC with a
 * service ticket (password-verifier.ts).
 */
import { randomBytes } from 'node:crypto';

import { HttpAuthError } from '../../errors.js';
import { encryptionProfile, KeyUsage, makeKey, type KerberosKey } from '../crypto/index.js';
import { NameType, sameComponents, type PrincipalName } from '../messages/principal-name.js';
import type { Ticket } from '../messages/ticket.js';
import type { EncKdcRepPart } from './enc-kdc-rep-part.js';
import { KdcErrorCode, errorFromKrbError, replyMismatch } from './kdc-errors.js';
import { checkReplyFitsRequest, decryptEncPart, readKdcReply } from './kdc-reply.js';
import { MSG_TYPE_AS_REP, type KdcRep } from './kdc-rep.js';
import { encodeKdcReqBody, KdcOptions } from './kdc-req-body.js';
import { encodeKdcReq, MSG_TYPE_AS_REQ } from './kdc-req.js';
import {
  decodeEtypeInfo2,
  decodeMethodData,
  encodePaEncTsEnc,
  findPaData,
  PaDataType,
  type EtypeInfo2Entry,
  type PaData,
} from './pa-data.js';
import { encodeEncryptedData } from '../messages/encrypted-data.js';

/** A ticket and what the client needs to use it. */
export interface ClientTicket {
  readonly crealm: string;
  readonly cname: PrincipalName;
  readonly ticket: Ticket;
  readonly sessionKey: KerberosKey;
  readonly part: EncKdcRepPart;
}

/**
 * The client's long-term key for an enctype and the KDC's salt and s2kparams for it: from a
 * password (string-to-key, asynchronous: PBKDF2 runs off the event loop) or from a keytab (the
 * salt is then irrelevant). Undefined: no key.
 */
export type LongTermKey = (
  etype: number,
  salt: string,
  s2kparams: Buffer | undefined,
) => KerberosKey | undefined | Promise<KerberosKey | undefined>;

/**
 * The most PBKDF2 iterations a KDC may ask of a password logon. The s2kparams come from whoever
 * answers on the KDC's address (before the KDC is verified): 2^24, which the crypto layer would
 * allow, is seconds of a libuv pool thread per request (four threads by default).
 * Real KDCs use 4096 (AES-SHA1, AD, Heimdal) or 32768 (MIT's AES-SHA2 default).
 */
export const MAX_KDC_ITERATIONS = 0x40000;

/**
 * The LongTermKey of a password (RFC 3962 §4, RFC 8009 §4, RFC 4757 §2). AES's PBKDF2 (4096 to
 * 32768 HMAC rounds) runs on libuv's thread pool, so a burst of Basic logons does not hold every
 * other request on the event loop. Nothing is cached: the key lives as long as the logon.
 */
export function passwordKeys(password: string): LongTermKey {
  return async (etype, salt, s2kparams) => {
    const profile = encryptionProfile(etype);
    if (profile === undefined) return undefined;
    if (
      s2kparams !== undefined &&
      s2kparams.length === 4 &&
      s2kparams.readUInt32BE(0) > MAX_KDC_ITERATIONS
    ) {
      throw replyMismatch('s2kparams ask for more PBKDF2 iterations than a KDC needs');
    }
    try {
      return await (profile.stringToKeyAsync?.(password, salt, s2kparams) ??
        profile.stringToKey(password, salt, s2kparams));
    } catch (error) {
      // Absurd s2kparams (an iteration count we refuse) come from the KDC, not the user.
      throw replyMismatch('string-to-key parameters refused', error);
    }
  };
}

export interface AsExchangeParams {
  readonly realm: string;
  readonly cname: PrincipalName;
  readonly key: LongTermKey;
  /** Enctypes offered, strongest first (RC4 only when allowed). */
  readonly etypes: readonly number[];
  /** Sends one request to the realm's KDCs and returns the reply bytes. */
  readonly send: (request: Buffer) => Promise<Buffer>;
  readonly now: () => number;
  /** Requested ticket lifetime. */
  readonly lifetimeMs: number;
  /** KDCOptions beyond RENEWABLE-OK (FORWARDABLE for a TGT that S4U will use). */
  readonly kdcOptions?: number;
}

/**
 * A KDC that takes this user's password only inside a FAST tunnel (RFC 6113 §5.4): not a wrong
 * password. The caller armors the exchange when it has a TGT to armor with (fast-as-exchange.ts).
 */
function fastRequired(why: string): HttpAuthError {
  return new HttpAuthError('ERR_HTTPAUTH_KDC_FAST_REQUIRED', {
    reason: `AS: the KDC requires FAST armoring (${why})`,
  });
}

export function nonce(): number {
  // 31 bits: some KDCs (old Heimdal, AD) mishandle nonces with the top bit set (RFC 4120 §5.2.4).
  return randomBytes(4).readUInt32BE(0) & 0x7fffffff;
}

export function tgsName(realm: string): PrincipalName {
  return { nameType: NameType.SRV_INST, components: ['krbtgt', realm] };
}

/** RFC 4120 §4: the default salt is the realm followed by the name components. */
export function defaultSalt(realm: string, cname: PrincipalName): string {
  return realm + cname.components.join('');
}

/** The ETYPE-INFO2 entry to use: the first the KDC lists among the enctypes we offered. */
export function chooseEtypeInfo(
  entries: readonly EtypeInfo2Entry[],
  etypes: readonly number[],
): EtypeInfo2Entry | undefined {
  return entries.find((entry) => etypes.includes(entry.etype));
}

export function etypeInfoFrom(padata: readonly PaData[]): EtypeInfo2Entry[] {
  const pa = findPaData(padata, PaDataType.ETYPE_INFO2);
  if (pa === undefined) return [];
  try {
    return decodeEtypeInfo2(pa.value);
  } catch (error) {
    throw replyMismatch('ETYPE-INFO2 is malformed', error);
  }
}

export async function clientKey(
  params: AsExchangeParams,
  entry: EtypeInfo2Entry | undefined,
  fallbackEtype: number,
): Promise<KerberosKey> {
  const etype = entry?.etype ?? fallbackEtype;
  if (encryptionProfile(etype) === undefined)
    throw replyMismatch('KDC chose an unsupported enctype');
  const salt = entry?.salt ?? defaultSalt(params.realm, params.cname);
  const key = await params.key(etype, salt, entry?.s2kparams);
  if (key === undefined) throw replyMismatch(`no client key of enctype ${etype}`);
  return key;
}

function encryptedTimestamp(key: KerberosKey, now: number): PaData {
  const profile = encryptionProfile(key.enctype);
  if (profile === undefined) throw replyMismatch('unsupported enctype');
  const plain = encodePaEncTsEnc({ timestamp: now, usec: (now % 1000) * 1000 });
  const cipher = profile.encrypt(key, KeyUsage.AS_REQ_PA_ENC_TIMESTAMP, plain);
  return {
    type: PaDataType.ENC_TIMESTAMP,
    value: encodeEncryptedData({ etype: key.enctype, kvno: undefined, cipher }),
  };
}

/** The AS-REQ's KDC-REQ-BODY (RFC 4120 §5.4.1): a TGT for `cname`, RENEWABLE-OK. */
export function asRequestBody(params: AsExchangeParams, requestNonce: number): Buffer {
  const now = params.now();
  return encodeKdcReqBody({
    kdcOptions: KdcOptions.RENEWABLE_OK | (params.kdcOptions ?? 0),
    cname: params.cname,
    realm: params.realm,
    sname: tgsName(params.realm),
    till: now + params.lifetimeMs,
    rtime: undefined,
    nonce: requestNonce,
    etypes: params.etypes,
    additionalTickets: [],
  });
}

function asRequest(params: AsExchangeParams, padata: readonly PaData[], requestNonce: number) {
  return encodeKdcReq(MSG_TYPE_AS_REQ, padata, asRequestBody(params, requestNonce));
}

/**
 * The checks every AS-REP gets, armored or not (RFC 4120 §3.1.5): the enc-part decrypts with the
 * reply key under key usage 3 (§7.5.1) or the password is wrong; the client is the one asked for
 * (no canonicalization was requested, RFC 6806); nonce, service and session key enctype fit the
 * request (kdc-reply.ts). Returns the TGT.
 */
export function acceptAsReply(
  params: AsExchangeParams,
  rep: KdcRep,
  replyKey: KerberosKey,
  requestNonce: number,
  phase: string,
): ClientTicket {
  const part = decryptEncPart(rep, replyKey, KeyUsage.AS_REP_ENCPART);
  if (part === undefined) {
    throw new HttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS', {
      reason: `${phase}: the AS-REP does not decrypt with the password`,
    });
  }
  if (
    rep.crealm !== params.realm ||
    !sameComponents(rep.cname.components, params.cname.components)
  ) {
    throw replyMismatch('client name differs');
  }
  checkReplyFitsRequest(rep, part, {
    nonce: requestNonce,
    realm: params.realm,
    sname: tgsName(params.realm),
    etypes: params.etypes,
  });
  return {
    crealm: rep.crealm,
    cname: rep.cname,
    ticket: rep.ticket,
    sessionKey: makeKey(part.key.keytype, part.key.keyvalue),
    part,
  };
}

/** Gets a TGT for `cname` with its long-term key. Errors are HttpAuthErrors (kdc-errors.ts). */
export async function requestInitialTicket(params: AsExchangeParams): Promise<ClientTicket> {
  let key: KerberosKey | undefined;
  let padata: PaData[] = [];
  let fastOffered = false;
  // Two rounds at most: without pre-authentication, then with the KDC's ETYPE-INFO2.
  for (let round = 0; round < 2; round++) {
    const requestNonce = nonce();
    const reply = readKdcReply(
      await params.send(asRequest(params, padata, requestNonce)),
      MSG_TYPE_AS_REP,
    );
    if (reply.kind === 'error') {
      const { error } = reply;
      const preauthRequired = error.errorCode === KdcErrorCode.KDC_ERR_PREAUTH_REQUIRED;
      // Our encrypted timestamp was not taken by a KDC that offered FAST: it wants the tunnel.
      if (preauthRequired && round > 0 && fastOffered)
        throw fastRequired('PA-ENC-TIMESTAMP ignored');
      if (!preauthRequired || round > 0) throw errorFromKrbError(error, 'AS');
      let methods: PaData[] = [];
      try {
        if (error.eData !== undefined) methods = decodeMethodData(error.eData);
      } catch (cause) {
        throw replyMismatch('METHOD-DATA is malformed', cause);
      }
      fastOffered = findPaData(methods, PaDataType.FX_FAST) !== undefined;
      // RFC 6113 §5.4.6: without PA-ENC-TIMESTAMP on offer the password can only be proven with
      // encrypted challenge, which exists only inside a FAST tunnel. Stop before string-to-key.
      if (fastOffered && findPaData(methods, PaDataType.ENC_TIMESTAMP) === undefined) {
        throw fastRequired('PA-ENC-TIMESTAMP not offered');
      }
      const entry = chooseEtypeInfo(etypeInfoFrom(methods), params.etypes);
      key = await clientKey(params, entry, params.etypes[0] as number);
      padata = [encryptedTimestamp(key, params.now())];
      // RFC 6113 §5.2: a KDC that sent a cookie expects it back with the next request.
      const cookie = findPaData(methods, PaDataType.FX_COOKIE);
      if (cookie !== undefined) padata.push(cookie);
      continue;
    }
    const { rep } = reply;
    if (key === undefined || key.enctype !== rep.encPart.etype) {
      // No pre-authentication was asked for: the reply names the enctype it used.
      const entries = etypeInfoFrom(rep.padata);
      const entry = entries.find((e) => e.etype === rep.encPart.etype);
      if (!params.etypes.includes(rep.encPart.etype)) {
        throw replyMismatch('AS-REP enctype not offered');
      }
      key = await clientKey(params, entry, rep.encPart.etype);
    }
    return acceptAsReply(params, rep, key, requestNonce, 'AS');
  }
  throw replyMismatch('pre-authentication did not complete');
}
