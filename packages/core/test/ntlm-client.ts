/**
 * A test-only NTLM client: builds NEGOTIATE and AUTHENTICATE messages the way Windows, Chromium
 * and curl do, computing real NTLMv2 (and NTLMv1/LM) responses, with knobs for the attacks the
 * tests play (strip the MIC, clear its flag, tamper with the proof, forge channel bindings).
 */
import { randomBytes } from 'node:crypto';
import { channelBindingHash } from '../src/channel-binding.js';
import { rc4 } from '../src/crypto/rc4.js';
import type { AvPair } from '../src/ntlm/av-pairs.js';
import {
  MSV_AV_FLAG_MIC_PRESENT,
  MsvAvChannelBindings,
  MsvAvFlags,
  MsvAvTargetName,
  MsvAvTimestamp,
  avString,
  encodeAvPairs,
  fileTime,
  findAvPair,
} from '../src/ntlm/av-pairs.js';
import { MIC_OFFSET, encodeAuthenticateMessage } from '../src/ntlm/authenticate-message.js';
import { decodeChallengeMessage } from '../src/ntlm/challenge-message.js';
import * as F from '../src/ntlm/flags.js';
import {
  desl,
  lmowfv1,
  lmv2Response,
  messageIntegrityCode,
  ntlmv1Challenge,
  ntowfv1,
  ntowfv2,
  ntProofStr,
  sessionBaseKeyV2,
} from '../src/ntlm/keys.js';
import { encodeNegotiateMessage } from '../src/ntlm/negotiate-message.js';
import { encodeClientChallengeBlob } from '../src/ntlm/ntlmv2-response.js';
import { md4 } from '../src/crypto/md4.js';

export const CHROMIUM_NEGOTIATE_FLAGS = 0x00088207;
export const CURL_NEGOTIATE_FLAGS = 0x00088206;
export const WINDOWS_NEGOTIATE_FLAGS = 0xe20882b7;

export function negotiate(flags = WINDOWS_NEGOTIATE_FLAGS): Buffer {
  return encodeNegotiateMessage({ flags, domain: '', workstation: '' });
}

export interface AuthenticateOptions {
  readonly user: string;
  readonly password: string;
  readonly domain?: string;
  readonly workstation?: string;
  /** Flags of the AUTHENTICATE (default: the CHALLENGE's). */
  readonly flags?: number;
  /** Client timestamp in ms (default: the server's MsvAvTimestamp, as Windows does). */
  readonly timeMs?: number;
  /** Add MsvAvFlags=MIC and the MIC (default true). */
  readonly mic?: boolean;
  /** Keep the MIC flag but send a zero MIC field ("drop the MIC" with the flag kept). */
  readonly zeroMic?: boolean;
  /** Send no MIC field at all and no MIC flag, after computing the proof with the flag. */
  readonly stripMicAndFlag?: boolean;
  /** tls-server-end-point application data; all-zero MsvAvChannelBindings when undefined. */
  readonly channelBinding?: Buffer;
  /** Send no MsvAvChannelBindings pair at all. */
  readonly omitChannelBindings?: boolean;
  /** Remove the echoed MsvAvTimestamp pair. */
  readonly omitTimestampPair?: boolean;
  readonly targetName?: string;
  readonly keyExchange?: boolean;
  readonly tamperProof?: boolean;
  readonly version?: 'v2' | 'v1' | 'lm' | 'anonymous';
}

export interface AuthenticateResult {
  readonly message: Buffer;
  readonly exportedSessionKey: Buffer;
  readonly flags: number;
}

export function authenticate(
  negotiateMessage: Buffer,
  challengeMessage: Buffer,
  options: AuthenticateOptions,
): AuthenticateResult {
  const challenge = decodeChallengeMessage(challengeMessage);
  const flags = (options.flags ?? challenge.flags) >>> 0;
  const domain = options.domain ?? '';
  const workstation = options.workstation ?? 'WORKSTATION';
  const ntHash = ntowfv1(options.password);
  const version = options.version ?? 'v2';
  const useMic = options.mic ?? true;

  if (version === 'anonymous') {
    const message = encodeAuthenticateMessage({
      flags: flags | F.NTLMSSP_ANONYMOUS,
      lmChallengeResponse: Buffer.alloc(1),
      ntChallengeResponse: Buffer.alloc(0),
      domain: '',
      user: '',
      workstation,
      encryptedRandomSessionKey: Buffer.alloc(0),
    });
    return { message, exportedSessionKey: Buffer.alloc(16), flags };
  }

  if (version === 'v1' || version === 'lm') {
    const clientChallenge = randomBytes(8);
    const ess = F.hasFlag(flags, F.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY);
    const lm =
      version === 'lm'
        ? desl(lmowfv1(options.password), challenge.serverChallenge)
        : ess
          ? Buffer.concat([clientChallenge, Buffer.alloc(16)])
          : desl(lmowfv1(options.password), challenge.serverChallenge);
    const nt =
      version === 'lm'
        ? Buffer.alloc(0)
        : desl(ntHash, ntlmv1Challenge(flags, challenge.serverChallenge, lm));
    const message = encodeAuthenticateMessage({
      flags: flags & ~F.NTLMSSP_NEGOTIATE_KEY_EXCH,
      lmChallengeResponse: lm,
      ntChallengeResponse: nt,
      domain,
      user: options.user,
      workstation,
      encryptedRandomSessionKey: Buffer.alloc(0),
    });
    return { message, exportedSessionKey: md4(ntHash), flags };
  }

  // NTLMv2 (MS-NLMP 3.3.2): echo the target info, add what a modern client adds.
  const serverTime = findAvPair(challenge.targetInfoPairs, MsvAvTimestamp);
  const timestamp =
    options.timeMs !== undefined ? fileTime(options.timeMs) : (serverTime ?? fileTime(Date.now()));
  const pairs: AvPair[] = challenge.targetInfoPairs.filter(
    (pair) => !(options.omitTimestampPair === true && pair.id === MsvAvTimestamp),
  );
  if (useMic) {
    const value = Buffer.alloc(4);
    value.writeUInt32LE(MSV_AV_FLAG_MIC_PRESENT);
    pairs.push({ id: MsvAvFlags, value });
  }
  if (options.omitChannelBindings !== true) {
    pairs.push({
      id: MsvAvChannelBindings,
      value:
        options.channelBinding === undefined
          ? Buffer.alloc(16)
          : channelBindingHash(options.channelBinding),
    });
  }
  if (options.targetName !== undefined) {
    pairs.push({ id: MsvAvTargetName, value: avString(options.targetName) });
  }
  const clientChallenge = randomBytes(8);
  const blob = encodeClientChallengeBlob(timestamp, clientChallenge, encodeAvPairs(pairs));
  const responseKey = ntowfv2(ntHash, options.user, domain);
  const proof = ntProofStr(responseKey, challenge.serverChallenge, blob);
  const sessionBaseKey = sessionBaseKeyV2(responseKey, proof);
  if (options.tamperProof === true) proof[0] = proof[0]! ^ 0x01;

  let ntResponse = Buffer.concat([proof, blob]);
  if (options.stripMicAndFlag === true) {
    // The attacker rewrites MsvAvFlags to 0 inside the blob without knowing the key.
    const stripped = pairs.map((pair) =>
      pair.id === MsvAvFlags ? { id: MsvAvFlags, value: Buffer.alloc(4) } : pair,
    );
    ntResponse = Buffer.concat([
      proof,
      encodeClientChallengeBlob(timestamp, clientChallenge, encodeAvPairs(stripped)),
    ]);
  }
  // Windows sends Z(24) as the LM response when the CHALLENGE had a timestamp (MS-NLMP 3.1.5.1.2).
  const lmResponse =
    serverTime !== undefined
      ? Buffer.alloc(24)
      : lmv2Response(responseKey, challenge.serverChallenge, clientChallenge);

  const keyExchange = options.keyExchange ?? F.hasFlag(flags, F.NTLMSSP_NEGOTIATE_KEY_EXCH);
  const authFlags = keyExchange
    ? flags | F.NTLMSSP_NEGOTIATE_KEY_EXCH
    : flags & ~F.NTLMSSP_NEGOTIATE_KEY_EXCH;
  let exported: Buffer = sessionBaseKey;
  let encryptedKey: Buffer = Buffer.alloc(0);
  if (keyExchange) {
    exported = randomBytes(16);
    encryptedKey = rc4(sessionBaseKey, exported);
  }
  const withMicField = useMic && options.stripMicAndFlag !== true;
  const fields = {
    flags: authFlags >>> 0,
    lmChallengeResponse: lmResponse,
    ntChallengeResponse: ntResponse,
    domain,
    user: options.user,
    workstation,
    encryptedRandomSessionKey: encryptedKey,
  };
  let message = encodeAuthenticateMessage(
    withMicField ? { ...fields, mic: Buffer.alloc(16) } : fields,
  );
  if (withMicField && options.zeroMic !== true) {
    const mic = messageIntegrityCode(exported, negotiateMessage, challengeMessage, message);
    message = Buffer.from(message);
    mic.copy(message, MIC_OFFSET);
  }
  return { message, exportedSessionKey: exported, flags: authFlags };
}
