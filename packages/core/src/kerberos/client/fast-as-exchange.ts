/**
 * The AS exchange inside a FAST tunnel (RFC 6113 §5.4), for KDCs that take a password only there.
 *
 * Each AS-REQ carries PA-FX-FAST: an armor AP-REQ made with the service's own TGT (a fresh
 * subkey per request, armor key = KRB-FX-CF2(subkey, TGT session key)), a checksum over the outer
 * KDC-REQ-BODY and the encrypted KrbFastReq with the real padata. The password is proven with
 * encrypted challenge (§5.4.6): PA-ENC-TS-ENC under KRB-FX-CF2(armor key, client key,
 * "clientchallengearmor", "challengelongterm"), key usage 54. KDC errors come back inside the
 * tunnel (PA-FX-ERROR, §5.4.3). The AS-REP's enc-part is sealed with the reply key strengthened
 * by the KDC's strengthen-key (KRB-FX-CF2(strengthen key, client key, "strengthenkey",
 * "replykey"), §5.4.3), and KrbFastFinished's checksum over the ticket, under the armor key,
 * binds the outer, unprotected ticket and client name to the tunnel.
 */
import { encryptionProfile, verifyChecksum } from '../crypto/index.js';
import type { KerberosKey } from '../crypto/index.js';
import { encodeEncryptedData } from '../messages/encrypted-data.js';
import { decodeKrbError, type KrbError } from '../messages/krb-error.js';
import { sameComponents } from '../messages/principal-name.js';
import {
  acceptAsReply,
  asRequestBody,
  chooseEtypeInfo,
  clientKey,
  etypeInfoFrom,
  nonce,
  type AsExchangeParams,
  type ClientTicket,
} from './as-exchange.js';
import { armoredRequest, FastKeyUsage, krbFxCf2, makeArmor, readFastResponse } from './fast.js';
import type { Armor, FastResponse } from './fast.js';
import { KdcErrorCode, errorFromKrbError, replyMismatch } from './kdc-errors.js';
import { readKdcReply } from './kdc-reply.js';
import { MSG_TYPE_AS_REP, type KdcRep } from './kdc-rep.js';
import { encodeKdcReq, MSG_TYPE_AS_REQ } from './kdc-req.js';
import {
  decodeMethodData,
  encodePaEncTsEnc,
  findPaData,
  PaDataType,
  type PaData,
} from './pa-data.js';

export interface ArmoredAsParams extends AsExchangeParams {
  /** A TGT of `realm` to armor with: the service's own, from its keytab. */
  readonly armorTgt: ClientTicket;
}

/** The KRB-ERROR inside the tunnel (PA-FX-ERROR), and the tunnel's padata. */
function innerError(error: KrbError, armor: Armor): { error: KrbError; fast: FastResponse } {
  let methods: PaData[] = [];
  try {
    if (error.eData !== undefined) methods = decodeMethodData(error.eData);
  } catch (cause) {
    throw replyMismatch('METHOD-DATA is malformed', cause);
  }
  const reply = findPaData(methods, PaDataType.FX_FAST);
  // An error outside the tunnel (the armor itself refused, say): the KDC's word as it stands.
  if (reply === undefined) throw errorFromKrbError(error, 'AS');
  const fast = readFastResponse(armor.key, reply.value);
  const fxError = findPaData(fast.padata, PaDataType.FX_ERROR);
  if (fxError === undefined) return { error, fast };
  try {
    return { error: decodeKrbError(fxError.value), fast };
  } catch (cause) {
    throw replyMismatch('PA-FX-ERROR is malformed', cause);
  }
}

/** PA-ENCRYPTED-CHALLENGE (RFC 6113 §5.4.6) for the request armored with `armor`. */
function encryptedChallenge(armor: Armor, key: KerberosKey, now: number): PaData {
  const challengeKey = krbFxCf2(armor.key, key, 'clientchallengearmor', 'challengelongterm');
  const profile = encryptionProfile(challengeKey.enctype)!;
  const plain = encodePaEncTsEnc({ timestamp: now - (now % 1000), usec: (now % 1000) * 1000 });
  return {
    type: PaDataType.ENCRYPTED_CHALLENGE,
    value: encodeEncryptedData({
      etype: challengeKey.enctype,
      kvno: undefined,
      cipher: profile.encrypt(challengeKey, FastKeyUsage.ENC_CHALLENGE_CLIENT, plain),
    }),
  };
}

/** The AS-REP's checks that FAST adds, and its reply key. */
function fastReplyKey(
  params: ArmoredAsParams,
  rep: KdcRep,
  armor: Armor,
  key: KerberosKey,
  requestNonce: number,
): KerberosKey {
  const reply = findPaData(rep.padata, PaDataType.FX_FAST);
  if (reply === undefined) throw replyMismatch('an armored AS-REQ got an unarmored AS-REP');
  const fast = readFastResponse(armor.key, reply.value);
  if (fast.nonce !== requestNonce >>> 0) throw replyMismatch('FAST nonce differs');
  const finished = fast.finished;
  if (
    finished === undefined ||
    !verifyChecksum(
      finished.ticketChecksum.cksumtype,
      armor.key,
      FastKeyUsage.FINISHED,
      rep.ticket.der,
      finished.ticketChecksum.checksum,
    ) ||
    finished.crealm !== params.realm ||
    !sameComponents(finished.cname.components, params.cname.components)
  ) {
    throw replyMismatch('KrbFastFinished does not bind the ticket and client');
  }
  if (fast.strengthenKey === undefined) return key;
  return krbFxCf2(fast.strengthenKey, key, 'strengthenkey', 'replykey');
}

/** Gets a TGT for `cname` with its password, armored. Errors are HttpAuthErrors. */
export async function requestInitialTicketArmored(params: ArmoredAsParams): Promise<ClientTicket> {
  let key: KerberosKey | undefined;
  let cookie: PaData | undefined;
  // Two rounds at most: the KDC's ETYPE-INFO2 (inside the tunnel), then encrypted challenge.
  for (let round = 0; round < 2; round++) {
    const requestNonce = nonce();
    const armor = makeArmor(params.armorTgt, params.now());
    const inner: PaData[] = [];
    if (key !== undefined) inner.push(encryptedChallenge(armor, key, params.now()));
    if (cookie !== undefined) inner.push(cookie);
    const body = asRequestBody(params, requestNonce);
    const reply = readKdcReply(
      await params.send(encodeKdcReq(MSG_TYPE_AS_REQ, [armoredRequest(armor, body, inner)], body)),
      MSG_TYPE_AS_REP,
    );
    if (reply.kind === 'error') {
      const { error, fast } = innerError(reply.error, armor);
      if (error.errorCode !== KdcErrorCode.KDC_ERR_PREAUTH_REQUIRED || round > 0) {
        throw errorFromKrbError(error, 'AS');
      }
      const entry = chooseEtypeInfo(etypeInfoFrom(fast.padata), params.etypes);
      key = await clientKey(params, entry, params.etypes[0] as number);
      cookie = findPaData(fast.padata, PaDataType.FX_COOKIE);
      continue;
    }
    const { rep } = reply;
    // Without pre-authentication the first reply is the AS-REP; its ETYPE-INFO2 is in the tunnel.
    key ??= await clientKey(params, undefined, params.etypes[0] as number);
    const replyKey = fastReplyKey(params, rep, armor, key, requestNonce);
    return acceptAsReply(params, rep, replyKey, requestNonce, 'AS (FAST)');
  }
  throw replyMismatch('pre-authentication did not complete');
}
