/**
 * NTLM cryptography (MS-NLMP 3.3 and 3.4.5): the one-way functions, the NTLMv2 and NTLMv1
 * responses, the key exchange and the session-security key derivations. HMAC-MD5, MD5 and DES
 * come from OpenSSL through node:crypto; MD4 and RC4 from ../crypto (OpenSSL 3 keeps them in
 * its legacy provider, which Node does not load).
 */
import { createCipheriv, createHash, createHmac } from 'node:crypto';
import { md4 } from '../crypto/md4.js';
import { rc4 } from '../crypto/rc4.js';
import { fail } from '../errors.js';
import {
  NTLMSSP_NEGOTIATE_128,
  NTLMSSP_NEGOTIATE_56,
  NTLMSSP_NEGOTIATE_DATAGRAM,
  NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY,
  NTLMSSP_NEGOTIATE_LM_KEY,
  hasFlag,
} from './flags.js';

export function hmacMd5(key: Uint8Array, ...data: Uint8Array[]): Buffer {
  const mac = createHmac('md5', key);
  for (const part of data) mac.update(part);
  return mac.digest();
}

function md5(...data: Uint8Array[]): Buffer {
  const hash = createHash('md5');
  for (const part of data) hash.update(part);
  return hash.digest();
}

/** NTOWFv1 (MS-NLMP 3.3.1): MD4 of the UTF-16LE password; the "NT hash" smbpasswd stores. */
export function ntowfv1(password: string): Buffer {
  return md4(Buffer.from(password, 'utf16le'));
}

/** NTOWFv2 (MS-NLMP 3.3.2): HMAC-MD5(NT hash, UTF-16LE(Upper(user) || domain)). */
export function ntowfv2(ntHash: Uint8Array, user: string, domain: string): Buffer {
  return hmacMd5(ntHash, Buffer.from(user.toUpperCase() + domain, 'utf16le'));
}

/** NTProofStr = HMAC-MD5(ResponseKeyNT, ServerChallenge || temp) (MS-NLMP 3.3.2). */
export function ntProofStr(
  responseKeyNt: Uint8Array,
  serverChallenge: Uint8Array,
  blob: Uint8Array,
): Buffer {
  return hmacMd5(responseKeyNt, serverChallenge, blob);
}

/** SessionBaseKey for NTLMv2 = HMAC-MD5(ResponseKeyNT, NTProofStr) (MS-NLMP 3.3.2). */
export function sessionBaseKeyV2(responseKeyNt: Uint8Array, proof: Uint8Array): Buffer {
  return hmacMd5(responseKeyNt, proof);
}

/** LMv2 response = HMAC-MD5(ResponseKeyLM, ServerChallenge || ClientChallenge) || ClientChallenge. */
export function lmv2Response(
  responseKeyLm: Uint8Array,
  serverChallenge: Uint8Array,
  clientChallenge: Uint8Array,
): Buffer {
  return Buffer.concat([hmacMd5(responseKeyLm, serverChallenge, clientChallenge), clientChallenge]);
}

/** Spreads 7 key bytes over 8, leaving the low (parity) bit of each (MS-NLMP 6, DES key setup). */
function desKeyFrom56(seven: Uint8Array): Buffer {
  const key = Buffer.alloc(8);
  key[0] = seven[0]!;
  key[1] = ((seven[0]! << 7) | (seven[1]! >> 1)) & 0xff;
  key[2] = ((seven[1]! << 6) | (seven[2]! >> 2)) & 0xff;
  key[3] = ((seven[2]! << 5) | (seven[3]! >> 3)) & 0xff;
  key[4] = ((seven[3]! << 4) | (seven[4]! >> 4)) & 0xff;
  key[5] = ((seven[4]! << 3) | (seven[5]! >> 5)) & 0xff;
  key[6] = ((seven[5]! << 2) | (seven[6]! >> 6)) & 0xff;
  key[7] = (seven[6]! << 1) & 0xff;
  return key;
}

/** Single DES-ECB of one block. OpenSSL 3 keeps des-ecb in the legacy provider; EDE3 with K||K||K is DES. */
function desEncrypt(seven: Uint8Array, block: Uint8Array): Buffer {
  const key = desKeyFrom56(seven);
  const cipher = createCipheriv('des-ede3-ecb', Buffer.concat([key, key, key]), null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(block), cipher.final()]);
}

/** DESL(K, D) (MS-NLMP 6): three DES encryptions of D under the 16-byte K padded to 21 bytes. */
export function desl(key16: Uint8Array, data8: Uint8Array): Buffer {
  const key = Buffer.alloc(21);
  key.set(key16.subarray(0, 16));
  return Buffer.concat([
    desEncrypt(key.subarray(0, 7), data8),
    desEncrypt(key.subarray(7, 14), data8),
    desEncrypt(key.subarray(14, 21), data8),
  ]);
}

/** LMOWFv1 (MS-NLMP 3.3.1) of a password; only tests and LM-enabled setups need it. */
export function lmowfv1(password: string): Buffer {
  const upper = Buffer.alloc(14);
  upper.write(password.toUpperCase().slice(0, 14), 'latin1');
  const magic = Buffer.from('KGS!@#$%', 'latin1');
  return Buffer.concat([
    desEncrypt(upper.subarray(0, 7), magic),
    desEncrypt(upper.subarray(7, 14), magic),
  ]);
}

/** The 8 bytes an NTLMv1 response is computed over: the server challenge, or with ESS MD5(SC||CC)[0..8]. */
export function ntlmv1Challenge(
  flags: number,
  serverChallenge: Uint8Array,
  lmChallengeResponse: Uint8Array,
): Buffer {
  if (hasFlag(flags, NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)) {
    if (lmChallengeResponse.length < 8) fail('ERR_HTTPAUTH_NTLM_MALFORMED');
    return md5(serverChallenge, lmChallengeResponse.subarray(0, 8)).subarray(0, 8);
  }
  return Buffer.from(serverChallenge);
}

/**
 * KXKEY (MS-NLMP 3.4.5.1) for NTLMv1. This server never negotiates LM_KEY, and ignores
 * REQUEST_NON_NT_SESSION_KEY, so only the two NT-based cases remain.
 */
export function keyExchangeKeyV1(
  flags: number,
  sessionBaseKey: Uint8Array,
  serverChallenge: Uint8Array,
  lmChallengeResponse: Uint8Array,
): Buffer {
  if (hasFlag(flags, NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)) {
    return hmacMd5(sessionBaseKey, serverChallenge, lmChallengeResponse.subarray(0, 8));
  }
  return Buffer.from(sessionBaseKey);
}

/** ExportedSessionKey (MS-NLMP 3.2.5.1.2): RC4-decrypted random key under KEY_EXCH, else the KXKEY. */
export function exportedSessionKey(
  keyExchange: boolean,
  keyExchangeKey: Uint8Array,
  encryptedRandomSessionKey: Uint8Array,
): Buffer {
  if (!keyExchange) return Buffer.from(keyExchangeKey);
  if (encryptedRandomSessionKey.length !== 16) fail('ERR_HTTPAUTH_NTLM_MALFORMED');
  return rc4(keyExchangeKey, encryptedRandomSessionKey);
}

/** MIC = HMAC-MD5(ExportedSessionKey, NEGOTIATE || CHALLENGE || AUTHENTICATE with MIC zeroed). */
export function messageIntegrityCode(
  exportedKey: Uint8Array,
  negotiate: Uint8Array,
  challenge: Uint8Array,
  authenticateWithZeroMic: Uint8Array,
): Buffer {
  return hmacMd5(exportedKey, negotiate, challenge, authenticateWithZeroMic);
}

const SIGN_CLIENT_TO_SERVER = Buffer.from(
  'session key to client-to-server signing key magic constant\0',
  'latin1',
);
const SIGN_SERVER_TO_CLIENT = Buffer.from(
  'session key to server-to-client signing key magic constant\0',
  'latin1',
);
const SEAL_CLIENT_TO_SERVER = Buffer.from(
  'session key to client-to-server sealing key magic constant\0',
  'latin1',
);
const SEAL_SERVER_TO_CLIENT = Buffer.from(
  'session key to server-to-client sealing key magic constant\0',
  'latin1',
);

/**
 * Which side's keys: client-to-server or server-to-client signing and sealing keys (MS-NLMP
 * §3.4.5).
 */
export type Direction = 'client' | 'server';

/** SIGNKEY (MS-NLMP 3.4.5.2): only extended session security has signing keys. */
export function signKey(
  flags: number,
  exportedKey: Uint8Array,
  direction: Direction,
): Buffer | undefined {
  if (!hasFlag(flags, NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)) return undefined;
  return md5(exportedKey, direction === 'client' ? SIGN_CLIENT_TO_SERVER : SIGN_SERVER_TO_CLIENT);
}

/** SEALKEY (MS-NLMP 3.4.5.3): key strength from NEGOTIATE_128/56, weakened forms for LM_KEY/datagram. */
export function sealKey(flags: number, exportedKey: Uint8Array, direction: Direction): Buffer {
  if (hasFlag(flags, NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)) {
    const length = hasFlag(flags, NTLMSSP_NEGOTIATE_128)
      ? 16
      : hasFlag(flags, NTLMSSP_NEGOTIATE_56)
        ? 7
        : 5;
    return md5(
      exportedKey.subarray(0, length),
      direction === 'client' ? SEAL_CLIENT_TO_SERVER : SEAL_SERVER_TO_CLIENT,
    );
  }
  if (hasFlag(flags, NTLMSSP_NEGOTIATE_LM_KEY) || hasFlag(flags, NTLMSSP_NEGOTIATE_DATAGRAM)) {
    if (hasFlag(flags, NTLMSSP_NEGOTIATE_56)) {
      return Buffer.concat([exportedKey.subarray(0, 7), Buffer.from([0xa0])]);
    }
    return Buffer.concat([exportedKey.subarray(0, 5), Buffer.from([0xe5, 0x38, 0xb0])]);
  }
  return Buffer.from(exportedKey);
}
