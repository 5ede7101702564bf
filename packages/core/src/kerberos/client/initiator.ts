/**
 * The Kerberos GSS initiator, one leg with mutual authentication (RFC 4121 §4.1, RFC 4120
 * §3.2): from a service ticket and its session key, an AP-REQ whose authenticator carries the GSS
 * checksum (type 0x8003: MUTUAL | INTEG | SEQUENCE, no delegation), a fresh subkey and a sequence
 * number, with AP option MUTUAL-REQUIRED; then the check of the acceptor's AP-REP: it must
 * decrypt with the ticket's session key (usage 12) and echo our ctime/cusec (§3.2.5), which only
 * the holder of the service's key can do.
 */
import { randomBytes } from 'node:crypto';

import { HttpAuthError } from '../../errors.js';
import { encryptionProfile, KeyUsage, makeKey, type KerberosKey } from '../crypto/index.js';
import { encodeGssChecksum, GSS_CHECKSUM_TYPE, GssFlags } from '../gss-checksum.js';
import { decodeGssToken, encodeGssToken, KRB5_OID, TokenId } from '../gss-token.js';
import { encodeKerberosAuthenticator } from '../messages/ap-authenticator.js';
import { decodeApRep } from '../messages/ap-rep.js';
import { ApOptions, encodeApReq } from '../messages/ap-req.js';
import { decodeEncApRepPart } from '../messages/enc-ap-rep-part.js';
import type { PrincipalName } from '../messages/principal-name.js';
import type { Ticket } from '../messages/ticket.js';

export interface InitiatorTicket {
  readonly ticket: Ticket;
  readonly sessionKey: KerberosKey;
  readonly cname: PrincipalName;
  readonly crealm: string;
}

export interface InitiatorContext {
  /** The GSS-framed AP-REQ (0x60, krb5 OID, 01 00, AP-REQ). */
  readonly token: Buffer;
  /**
   * Verifies the acceptor's GSS-framed AP-REP. Returns the context key (the acceptor's subkey,
   * else ours); throws ERR_HTTPAUTH_MUTUAL_AUTH_FAILED.
   */
  verifyReply(token: Buffer): KerberosKey;
}

function mutualFailed(reason: string, cause?: unknown): HttpAuthError {
  return new HttpAuthError('ERR_HTTPAUTH_MUTUAL_AUTH_FAILED', {
    reason,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Starts a context with `credential`: the AP-REQ to send and the check of the answer. */
export function initiateContext(
  credential: InitiatorTicket,
  now: number,
  mechOid: string = KRB5_OID,
): InitiatorContext {
  const key = credential.sessionKey;
  const profile = encryptionProfile(key.enctype);
  if (profile === undefined) {
    throw new HttpAuthError('ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED', {
      reason: `session key enctype ${key.enctype}`,
    });
  }
  const subkey = makeKey(key.enctype, randomBytes(profile.keyBytes));
  // MIT keeps sequence numbers below 2^30 so peers that treat them as signed agree.
  const seqNumber = randomBytes(4).readUInt32BE(0) & 0x3fffffff;
  const ctime = now - (now % 1000);
  const cusec = (now % 1000) * 1000;
  const authenticator = encodeKerberosAuthenticator({
    crealm: credential.crealm,
    cname: credential.cname,
    cksum: {
      cksumtype: GSS_CHECKSUM_TYPE,
      // RFC 4121 §4.1.1: no channel bindings (16 zero octets); no delegation.
      checksum: encodeGssChecksum({
        flags: GssFlags.MUTUAL | GssFlags.INTEG | GssFlags.SEQUENCE,
      }),
    },
    cusec,
    ctime,
    subkey: { keytype: subkey.enctype, keyvalue: subkey.bytes },
    seqNumber,
    authorizationData: [],
  });
  const apReq = encodeApReq({
    apOptions: ApOptions.MUTUAL_REQUIRED,
    ticket: credential.ticket,
    authenticator: {
      etype: key.enctype,
      kvno: undefined,
      cipher: profile.encrypt(key, KeyUsage.AP_REQ_AUTHENTICATOR, authenticator),
    },
  });
  return {
    token: encodeGssToken(TokenId.AP_REQ, apReq, mechOid),
    verifyReply(token: Buffer): KerberosKey {
      let plain: Buffer;
      try {
        const framed = decodeGssToken(token);
        if (framed.tokenId !== TokenId.AP_REP) {
          throw mutualFailed(
            framed.tokenId === TokenId.KRB_ERROR
              ? 'the backend answered with a KRB-ERROR'
              : 'not an AP-REP',
          );
        }
        const apRep = decodeApRep(framed.message);
        if (apRep.encPart.etype !== key.enctype) throw mutualFailed('AP-REP enctype differs');
        plain = profile.decrypt(key, KeyUsage.AP_REP_ENCPART, apRep.encPart.cipher);
      } catch (error) {
        if (error instanceof HttpAuthError && error.code === 'ERR_HTTPAUTH_MUTUAL_AUTH_FAILED') {
          throw error;
        }
        throw mutualFailed('the AP-REP does not decode or decrypt with the session key', error);
      }
      let part;
      try {
        part = decodeEncApRepPart(plain);
      } catch (error) {
        throw mutualFailed('the AP-REP encrypted part is malformed', error);
      }
      // RFC 4120 §3.2.5: the reply must echo the authenticator's time exactly.
      if (part.ctime !== ctime || part.cusec !== cusec) {
        throw mutualFailed('the AP-REP does not echo our authenticator time');
      }
      return part.subkey === undefined
        ? subkey
        : makeKey(part.subkey.keytype, part.subkey.keyvalue);
    },
  };
}
