/**
 * The S4U2Self pre-authentication data (MS-SFU §2.2.1, §2.2.2):
 *
 *   PA-FOR-USER ::= SEQUENCE {            -- padata-type 129
 *     userName     [0] PrincipalName,
 *     userRealm    [1] Realm,
 *     cksum        [2] Checksum,         -- KERB_CHECKSUM_HMAC_MD5 over name-type (LE32),
 *     auth-package [3] KerberosString    --   the name strings, realm and auth-package,
 *   }                                     --   keyed with the TGT session key, usage 17
 *
 *   PA-S4U-X509-USER ::= SEQUENCE {       -- padata-type 130
 *     user-id  [0] S4UUserID,
 *     checksum [1] Checksum              -- over the DER of user-id, usage 26 (27 in a reply)
 *   }
 *   S4UUserID ::= SEQUENCE {
 *     nonce               [0] UInt32,    -- the nonce of the KDC-REQ-BODY
 *     cname               [1] PrincipalName OPTIONAL,
 *     crealm              [2] Realm,
 *     subject-certificate [3] OCTET STRING OPTIONAL,
 *     options             [4] BIT STRING OPTIONAL,
 *     ...
 *   }
 */
import { createHash, createHmac } from 'node:crypto';

import { fail } from '../../errors.js';

import {
  contextFields,
  decodeDer,
  encodeContextSequence,
  encodeInteger,
  encodeKerberosFlags,
  encodeKerberosString,
  encodeOctetString,
  raw,
  readKerberosFlags,
  readKerberosString,
  readOctetString,
  readUInt32,
  Tag,
  type DerNode,
} from '../../asn1/der.js';
import {
  ChecksumType,
  computeChecksum,
  encryptionProfile,
  type KerberosKey,
} from '../crypto/index.js';
import { decodeChecksum, encodeChecksum, type ChecksumValue } from '../messages/encrypted-data.js';
import {
  decodePrincipalName,
  encodePrincipalName,
  type PrincipalName,
} from '../messages/principal-name.js';

/** MS-SFU §2.2.1 / MS-PAC: KERB_NON_KERB_CKSUM_SALT. */
const PA_FOR_USER_USAGE = 17;
/** MS-SFU §2.2.2 (MIT: KRB5_KEYUSAGE_PA_S4U_X509_USER_REQUEST / _REPLY). */
export const S4U_X509_USER_REQUEST_USAGE = 26;
export const S4U_X509_USER_REPLY_USAGE = 27;

/** S4UUserID options (MS-SFU §2.2.2). */
export const S4uOptions = {
  CHECK_LOGON_HOURS: 0x40000000,
  /** The KDC signs its reply's PA-S4U-X509-USER with usage 27 instead of 26. */
  USE_REPLY_KEY_USAGE: 0x20000000,
} as const;

/**
 * The HMAC-MD5 keyed checksum of RFC 4757 §4 with any key: MS-SFU §2.2.1 uses it with the TGT
 * session key whatever its enctype, so it cannot go through the RC4 profile (which checks the
 * key's enctype).
 */
function hmacMd5Checksum(key: KerberosKey, usage: number, data: Buffer): Buffer {
  const signatureKey = createHmac('md5', key.bytes).update('signaturekey\0', 'latin1').digest();
  const usageLe = Buffer.alloc(4);
  usageLe.writeUInt32LE(usage >>> 0);
  const inner = createHash('md5').update(usageLe).update(data).digest();
  return createHmac('md5', signatureKey).update(inner).digest();
}

/** PA-FOR-USER for `user` of `realm`, checksummed with the service's TGT session key. */
export function encodePaForUser(
  user: PrincipalName,
  realm: string,
  sessionKey: KerberosKey,
): Buffer {
  const authPackage = 'Kerberos';
  const nameType = Buffer.alloc(4);
  nameType.writeInt32LE(user.nameType);
  const data = Buffer.concat([
    nameType,
    ...user.components.map((c) => Buffer.from(c, 'utf8')),
    Buffer.from(realm, 'utf8'),
    Buffer.from(authPackage, 'utf8'),
  ]);
  return encodeContextSequence([
    encodePrincipalName(user),
    encodeKerberosString(realm),
    encodeChecksum({
      cksumtype: ChecksumType.HMAC_MD5,
      checksum: hmacMd5Checksum(sessionKey, PA_FOR_USER_USAGE, data),
    }),
    encodeKerberosString(authPackage),
  ]);
}

export interface S4uUserId {
  readonly nonce: number;
  readonly cname: PrincipalName | undefined;
  readonly crealm: string;
  readonly subjectCertificate: Buffer | undefined;
  readonly options: number | undefined;
}

export function encodeS4uUserId(id: S4uUserId): Buffer {
  return encodeContextSequence([
    encodeInteger(id.nonce >>> 0),
    id.cname === undefined ? undefined : encodePrincipalName(id.cname),
    encodeKerberosString(id.crealm),
    id.subjectCertificate === undefined ? undefined : encodeOctetString(id.subjectCertificate),
    id.options === undefined ? undefined : encodeKerberosFlags(id.options),
  ]);
}

/** PA-S4U-X509-USER, its checksum the session key's own type (RFC 3961 §4) under `usage`. */
export function encodePaS4uX509User(id: S4uUserId, key: KerberosKey, usage: number): Buffer {
  const userId = encodeS4uUserId(id);
  const profile = encryptionProfile(key.enctype);
  if (profile === undefined) fail('ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED');
  return encodeContextSequence([
    userId,
    encodeChecksum({
      cksumtype: profile.checksumType,
      checksum: computeChecksum(profile.checksumType, key, usage, userId),
    }),
  ]);
}

export interface PaS4uX509User {
  readonly userId: S4uUserId;
  /** The DER of user-id, as the checksum covers it. */
  readonly userIdDer: Buffer;
  readonly checksum: ChecksumValue;
}

export function decodePaS4uX509User(der: Buffer): PaS4uX509User {
  const f = contextFields(decodeDer(der, Tag.SEQUENCE), 1, [0, 1]);
  const idNode = f[0] as DerNode;
  // S4UUserID is extensible ("..."): later fields are not read, but must still be DER.
  const id = contextFields(idNode, 15, [0, 2]);
  return {
    userId: {
      nonce: readUInt32(id[0] as DerNode),
      cname: id[1] === undefined ? undefined : decodePrincipalName(id[1]),
      crealm: readKerberosString(id[2] as DerNode),
      subjectCertificate: id[3] === undefined ? undefined : readOctetString(id[3]),
      options: id[4] === undefined ? undefined : readKerberosFlags(id[4]),
    },
    userIdDer: raw(idNode),
    checksum: decodeChecksum(f[1] as DerNode),
  };
}
