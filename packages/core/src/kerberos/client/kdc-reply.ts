/**
 * Reading what a KDC sent back: a KRB-ERROR or the expected KDC-REP, then the encrypted part.
 * Anything else, or anything malformed, is ERR_HTTPAUTH_KDC_ERROR: the KDC is reachable, so the
 * answer is not "unavailable", and it is not the user's fault either.
 */
import { isHttpAuthError } from '../../errors.js';
import { encryptionProfile, type KerberosKey } from '../crypto/index.js';
import { decodeKrbError, KRB_ERROR_TAG, type KrbError } from '../messages/krb-error.js';
import { sameComponents, type PrincipalName } from '../messages/principal-name.js';
import { decodeEncKdcRepPart, type EncKdcRepPart } from './enc-kdc-rep-part.js';
import { decodeKdcRep, type KdcRep, type KdcRepType } from './kdc-rep.js';
import { replyMismatch } from './kdc-errors.js';

export type KdcReply =
  | { readonly kind: 'error'; readonly error: KrbError }
  | { readonly kind: 'reply'; readonly rep: KdcRep };

export function readKdcReply(reply: Buffer, msgType: KdcRepType): KdcReply {
  try {
    if (reply[0] === KRB_ERROR_TAG) return { kind: 'error', error: decodeKrbError(reply) };
    return { kind: 'reply', rep: decodeKdcRep(reply, msgType) };
  } catch (error) {
    throw replyMismatch('not a KRB-ERROR or KDC-REP of the expected type', error);
  }
}

/**
 * Decrypts the enc-part with `key` under `usage`. A failed integrity check is returned as
 * undefined: for an AS-REP it means a wrong password, for a TGS-REP a KDC that is not the one
 * that issued the TGT, and the callers say which.
 */
export function decryptEncPart(
  rep: KdcRep,
  key: KerberosKey,
  usage: number,
): EncKdcRepPart | undefined {
  if (rep.encPart.etype !== key.enctype)
    throw replyMismatch('enc-part enctype differs from the key');
  const profile = encryptionProfile(key.enctype);
  if (profile === undefined) throw replyMismatch('enc-part enctype unsupported');
  let plain: Buffer;
  try {
    plain = profile.decrypt(key, usage, rep.encPart.cipher);
  } catch (error) {
    if (isHttpAuthError(error) && error.code === 'ERR_HTTPAUTH_KRB_MODIFIED') return undefined;
    throw replyMismatch('enc-part does not decrypt', error);
  }
  try {
    return decodeEncKdcRepPart(plain);
  } catch (error) {
    throw replyMismatch('enc-part is malformed', error);
  }
}

/**
 * The checks RFC 4120 §3.1.5 / §3.3.4 ask of every reply: our nonce, the service we asked for
 * in both the ticket and the encrypted part, and a session key of an enctype we offered.
 */
export function checkReplyFitsRequest(
  rep: KdcRep,
  part: EncKdcRepPart,
  expected: {
    readonly nonce: number;
    readonly realm: string;
    readonly sname: PrincipalName;
    readonly etypes: readonly number[];
  },
): void {
  if (part.nonce !== expected.nonce >>> 0) throw replyMismatch('nonce differs');
  if (part.srealm !== expected.realm || rep.ticket.realm !== expected.realm) {
    throw replyMismatch('service realm differs');
  }
  if (
    !sameComponents(part.sname.components, expected.sname.components) ||
    !sameComponents(rep.ticket.sname.components, expected.sname.components)
  ) {
    throw replyMismatch('service name differs');
  }
  if (!expected.etypes.includes(part.key.keytype)) {
    throw replyMismatch('session key of an enctype not offered');
  }
}
