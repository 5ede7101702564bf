/**
 * FAST (RFC 6113): the armor, KRB-FX-CF2, and the messages of an armored AS exchange.
 *
 *   PA-FX-FAST-REQUEST ::= CHOICE { armored-data [0] KrbFastArmoredReq }
 *   KrbFastArmoredReq ::= SEQUENCE { armor [0] KrbFastArmor OPTIONAL,
 *                                    req-checksum [1] Checksum, enc-fast-req [2] EncryptedData }
 *   KrbFastArmor ::= SEQUENCE { armor-type [0] Int32, armor-value [1] OCTET STRING }
 *   KrbFastReq ::= SEQUENCE { fast-options [0] FastOptions, padata [1] SEQUENCE OF PA-DATA,
 *                             req-body [2] KDC-REQ-BODY }
 *   PA-FX-FAST-REPLY ::= CHOICE { armored-data [0] KrbFastArmoredRep }
 *   KrbFastArmoredRep ::= SEQUENCE { enc-fast-rep [0] EncryptedData }
 *   KrbFastResponse ::= SEQUENCE { padata [0] SEQUENCE OF PA-DATA,
 *                                  strengthen-key [1] EncryptionKey OPTIONAL,
 *                                  finished [2] KrbFastFinished OPTIONAL, nonce [3] UInt32 }
 *   KrbFastFinished ::= SEQUENCE { timestamp [0] KerberosTime, usec [1] Microseconds,
 *                                  crealm [2] Realm, cname [3] PrincipalName,
 *                                  ticket-checksum [4] Checksum }
 */
import { randomBytes } from 'node:crypto';
import {
  contextFields,
  decodeDer,
  encodeContextSequence,
  encodeInteger,
  encodeKerberosFlags,
  encodeOctetString,
  encodeTlv,
  readKerberosString,
  readUInt32,
  Tag,
  unwrap,
  type DerNode,
} from '../../asn1/der.js';
import { encryptionProfile, KeyUsage, makeKey, type KerberosKey } from '../crypto/index.js';
import { encodeApReq } from '../messages/ap-req.js';
import { encodeKerberosAuthenticator } from '../messages/ap-authenticator.js';
import {
  decodeChecksum,
  decodeEncryptedData,
  decodeEncryptionKey,
  encodeChecksum,
  encodeEncryptedData,
  type ChecksumValue,
} from '../messages/encrypted-data.js';
import { decodePrincipalName, type PrincipalName } from '../messages/principal-name.js';
import type { ClientTicket } from './as-exchange.js';
import { replyMismatch } from './kdc-errors.js';
import { decodePaDataSequence, encodePaDataSequence, PaDataType, type PaData } from './pa-data.js';

/** RFC 6113 §5.4.1: FX_FAST_ARMOR_AP_REQUEST. */
const ARMOR_AP_REQUEST = 1;
/** [0] of PA-FX-FAST-REQUEST and PA-FX-FAST-REPLY, both CHOICEs of one armored-data. */
const CHOICE_ARMORED_DATA = 0xa0;

/** RFC 6113 §7.4 key usages. */
export const FastKeyUsage = {
  REQ_CHECKSUM: 50,
  ENC: 51,
  REP: 52,
  FINISHED: 53,
  ENC_CHALLENGE_CLIENT: 54,
  ENC_CHALLENGE_KDC: 55,
} as const;

/** PRF+(key, pepper) (RFC 6113 §5.1): PRF(key, 1 || pepper) || PRF(key, 2 || pepper) || ... */
function prfPlus(key: KerberosKey, pepper: string, length: number): Buffer {
  const profile = encryptionProfile(key.enctype);
  if (profile?.prf === undefined) throw replyMismatch(`no PRF for enctype ${key.enctype}`);
  const blocks: Buffer[] = [];
  let total = 0;
  for (let counter = 1; total < length; counter++) {
    const block = profile.prf(key, Buffer.concat([Buffer.of(counter), Buffer.from(pepper)]));
    blocks.push(block);
    total += block.length;
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/**
 * KRB-FX-CF2(K1, K2, pepper1, pepper2) (RFC 6113 §5.1): random-to-key of PRF+(K1, pepper1) XOR
 * PRF+(K2, pepper2), a key of K1's enctype. AES's random-to-key is the identity (RFC 3962 §6,
 * RFC 8009 §5).
 */
export function krbFxCf2(
  k1: KerberosKey,
  k2: KerberosKey,
  pepper1: string,
  pepper2: string,
): KerberosKey {
  const profile = encryptionProfile(k1.enctype);
  if (profile === undefined) throw replyMismatch('CF2 of an unsupported enctype');
  const a = prfPlus(k1, pepper1, profile.keyBytes);
  const b = prfPlus(k2, pepper2, profile.keyBytes);
  for (let i = 0; i < a.length; i++) a[i] = (a[i] as number) ^ (b[i] as number);
  return makeKey(k1.enctype, a);
}

export interface Armor {
  /** KrbFastArmor: an AP-REQ with the armor TGT and a fresh subkey. */
  readonly armorDer: Buffer;
  /** KRB-FX-CF2(subkey, ticket session key, "subkeyarmor", "ticketarmor") (§5.4.1.1). */
  readonly key: KerberosKey;
}

/** The armor for one request, from a TGT of the realm asked (the service's own). */
export function makeArmor(tgt: ClientTicket, now: number): Armor {
  const sessionKey = tgt.sessionKey;
  const profile = encryptionProfile(sessionKey.enctype);
  if (profile === undefined) throw replyMismatch('armor TGT session key enctype unsupported');
  const subkey = makeKey(sessionKey.enctype, randomBytes(profile.keyBytes));
  const authenticator = encodeKerberosAuthenticator({
    crealm: tgt.crealm,
    cname: tgt.cname,
    cksum: undefined,
    cusec: (now % 1000) * 1000,
    ctime: now - (now % 1000),
    subkey: { keytype: subkey.enctype, keyvalue: subkey.bytes },
    seqNumber: undefined,
    authorizationData: [],
  });
  const apReq = encodeApReq({
    apOptions: 0,
    ticket: tgt.ticket,
    authenticator: {
      etype: sessionKey.enctype,
      kvno: undefined,
      cipher: profile.encrypt(sessionKey, KeyUsage.AP_REQ_AUTHENTICATOR, authenticator),
    },
  });
  return {
    armorDer: encodeContextSequence([encodeInteger(ARMOR_AP_REQUEST), encodeOctetString(apReq)]),
    key: krbFxCf2(subkey, sessionKey, 'subkeyarmor', 'ticketarmor'),
  };
}

function encrypt(key: KerberosKey, usage: number, plain: Buffer): Buffer {
  const profile = encryptionProfile(key.enctype);
  if (profile === undefined) throw replyMismatch('unsupported enctype');
  return encodeEncryptedData({
    etype: key.enctype,
    kvno: undefined,
    cipher: profile.encrypt(key, usage, plain),
  });
}

/**
 * PA-FX-FAST with a KrbFastArmoredReq for an AS-REQ whose outer KDC-REQ-BODY is `bodyDer`: the
 * inner KrbFastReq carries `padata` and the same body; the checksum covers the outer body.
 */
export function armoredRequest(armor: Armor, bodyDer: Buffer, padata: readonly PaData[]): PaData {
  const profile = encryptionProfile(armor.key.enctype)!;
  const fastReq = encodeContextSequence([
    encodeKerberosFlags(0),
    encodePaDataSequence(padata),
    bodyDer,
  ]);
  const checksum: ChecksumValue = {
    cksumtype: profile.checksumType,
    checksum: profile.checksum(armor.key, FastKeyUsage.REQ_CHECKSUM, bodyDer),
  };
  const armored = encodeContextSequence([
    armor.armorDer,
    encodeChecksum(checksum),
    encrypt(armor.key, FastKeyUsage.ENC, fastReq),
  ]);
  // PA-FX-FAST-REQUEST is a CHOICE: armored-data [0] (EXPLICIT).
  return { type: PaDataType.FX_FAST, value: encodeTlv(CHOICE_ARMORED_DATA, armored) };
}

export interface FastFinished {
  readonly crealm: string;
  readonly cname: PrincipalName;
  readonly ticketChecksum: ChecksumValue;
}

export interface FastResponse {
  readonly padata: readonly PaData[];
  readonly strengthenKey: KerberosKey | undefined;
  readonly finished: FastFinished | undefined;
  readonly nonce: number;
}

/** The KrbFastResponse inside a PA-FX-FAST reply value, decrypted with the armor key. */
export function readFastResponse(armorKey: KerberosKey, value: Buffer): FastResponse {
  try {
    const armored = unwrap(decodeDer(value, CHOICE_ARMORED_DATA), Tag.SEQUENCE);
    const rep = contextFields(armored, 0, [0]);
    const enc = decodeEncryptedData(rep[0] as DerNode);
    const profile = encryptionProfile(armorKey.enctype)!;
    if (enc.etype !== armorKey.enctype) throw replyMismatch('FAST reply enctype');
    const plain = profile.decrypt(armorKey, FastKeyUsage.REP, enc.cipher);
    const f = contextFields(decodeDer(plain, Tag.SEQUENCE), 3, [0, 3]);
    const strengthen = f[1] === undefined ? undefined : decodeEncryptionKey(f[1]);
    let finished: FastFinished | undefined;
    if (f[2] !== undefined) {
      const g = contextFields(f[2], 4, [0, 1, 2, 3, 4]);
      finished = {
        crealm: readKerberosString(g[2] as DerNode),
        cname: decodePrincipalName(g[3] as DerNode),
        ticketChecksum: decodeChecksum(g[4] as DerNode),
      };
    }
    return {
      padata: decodePaDataSequence(f[0] as DerNode),
      strengthenKey:
        strengthen === undefined ? undefined : makeKey(strengthen.keytype, strengthen.keyvalue),
      finished,
      nonce: readUInt32(f[3] as DerNode),
    };
  } catch (error) {
    throw replyMismatch('the FAST reply does not decrypt or parse with the armor key', error);
  }
}
