/**
 * What a completed NTLM handshake hands on: the session keys of MS-NLMP 3.4.5, and the anonymous
 * logon's principal (MS-NLMP 3.2.5.1.2, 3.3.1).
 */
import type { Principal } from '../principal.js';
import type { AuthenticateMessage } from './authenticate-message.js';
import { NTLMSSP_NEGOTIATE_KEY_EXCH, hasFlag } from './flags.js';
import { exportedSessionKey, sealKey, signKey } from './keys.js';

/** Keys and facts of a completed NTLM context (MS-NLMP 3.4.5). */
export interface NtlmSessionContext {
  readonly [key: string]: unknown;
  readonly sessionKey: Buffer;
  readonly exportedSessionKey: Buffer;
  readonly negotiatedFlags: number;
  /** Undefined without extended session security (MS-NLMP 3.4.5.2). */
  readonly clientSigningKey: Buffer | undefined;
  readonly serverSigningKey: Buffer | undefined;
  readonly clientSealingKey: Buffer;
  readonly serverSealingKey: Buffer;
  /** 2 for NTLMv2, 1 for NTLMv1 or LM, 0 for anonymous. */
  readonly ntlmVersion: 0 | 1 | 2;
  /** True when the client sent a MIC and it verified. */
  readonly micVerified: boolean;
}

export function sessionContext(
  exported: Buffer,
  flags: number,
  ntlmVersion: 0 | 1 | 2,
  micVerified: boolean,
): NtlmSessionContext {
  return {
    sessionKey: exported,
    exportedSessionKey: exported,
    negotiatedFlags: flags,
    clientSigningKey: signKey(flags, exported, 'client'),
    serverSigningKey: signKey(flags, exported, 'server'),
    clientSealingKey: sealKey(flags, exported, 'client'),
    serverSealingKey: sealKey(flags, exported, 'server'),
    ntlmVersion,
    micVerified,
  };
}

/** The anonymous logon (`NT AUTHORITY\ANONYMOUS LOGON`, S-1-5-7) and its context. */
export function anonymousLogon(
  message: AuthenticateMessage,
  challengeFlags: number,
): { principal: Principal; sessionKey: Buffer; context: NtlmSessionContext } {
  // MS-NLMP 3.3.1/3.3.2: the anonymous session base key is Z(16).
  const negotiatedFlags = (message.flags & challengeFlags) >>> 0;
  const exported = exportedSessionKey(
    hasFlag(negotiatedFlags, NTLMSSP_NEGOTIATE_KEY_EXCH) &&
      message.encryptedRandomSessionKey.length === 16,
    Buffer.alloc(16),
    message.encryptedRandomSessionKey,
  );
  const principal: Principal = {
    name: 'NT AUTHORITY\\ANONYMOUS LOGON',
    user: 'ANONYMOUS LOGON',
    realm: 'NT AUTHORITY',
    mechanism: 'NTLM',
    userSid: 'S-1-5-7',
    ...(message.workstation === '' ? {} : { workstation: message.workstation }),
  };
  return {
    principal,
    sessionKey: exported,
    context: sessionContext(exported, negotiatedFlags, 0, false),
  };
}
