/**
 * The NTLM acceptor (MS-NLMP 3.2, server side), independent of HTTP. The HTTP `NTLM` package
 * (./ntlm-package.ts) drives it directly; the Negotiate package (raw NTLMSSP and SPNEGO-wrapped
 * NTLM) through its MechanismContext (./mechanism-context.ts).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { HttpAuthError, fail, rethrowWithDetail } from '../errors.js';
import type { Principal } from '../principal.js';
import type { AvPair } from './av-pairs.js';
import {
  MSV_AV_FLAG_MIC_PRESENT,
  MsvAvDnsComputerName,
  MsvAvDnsDomainName,
  MsvAvDnsTreeName,
  MsvAvNbComputerName,
  MsvAvNbDomainName,
  MsvAvTimestamp,
  avFlags,
  avString,
  encodeAvPairs,
  fileTime,
} from './av-pairs.js';
import {
  decodeAuthenticateMessage,
  withZeroedMic,
  type AuthenticateMessage,
} from './authenticate-message.js';
import { attemptedLogon, ntlmCheck, refuse } from './failure-detail.js';
import { logonPrincipal } from './logon-principal.js';
import {
  SERVER_CHALLENGE_LENGTH,
  SERVER_CHALLENGE_OFFSET,
  encodeChallengeMessage,
} from './challenge-message.js';
import type { NtHashLookup, NtlmVerifier } from './credentials.js';
import { verifierFromOptions } from './credentials.js';
import type { DomainControllerOptions } from '../netlogon/verifier.js';
import { challengeFlagsFor } from './challenge-flags.js';
import { NTLMSSP_NEGOTIATE_KEY_EXCH, NTLMSSP_NEGOTIATE_VERSION, hasFlag } from './flags.js';
import type { NtlmBindingOptions } from './binding-policy.js';
import { NtlmBindingPolicy } from './binding-policy.js';
import { exportedSessionKey, keyExchangeKeyV1, messageIntegrityCode } from './keys.js';
import { decodeNegotiateMessage } from './negotiate-message.js';
import type { Ntlmv2Response } from './ntlmv2-response.js';
import {
  NTLMV1_RESPONSE_LENGTH,
  checkNtlmv2Timestamp,
  decodeNtlmv2Response,
} from './ntlmv2-response.js';
import type { NtlmSessionContext } from './session-context.js';
import { anonymousLogon, sessionContext } from './session-context.js';
import { SERVER_VERSION } from './version.js';
import {
  MESSAGE_TYPE_AUTHENTICATE,
  MESSAGE_TYPE_CHALLENGE,
  MESSAGE_TYPE_NEGOTIATE,
  messageType,
  ownCopy,
} from './wire.js';
import { bytesEqual as sameBytes } from '../crypto/constant-time.js';

/** A NetBIOS name and a DNS name; a plain string gives the NetBIOS name. */
export interface NtlmName {
  readonly netbios: string;
  readonly dns?: string;
}

export type { NtlmBindingOptions, NtlmChannelBindingMode } from './binding-policy.js';
export { challengeFlagsFor } from './challenge-flags.js';
export type { NtlmSessionContext } from './session-context.js';

/** Relay protection (`channelBinding`, `hostNames`, `targetNames`): see ./binding-policy.ts. */
export interface NtlmAcceptorOptions extends NtlmBindingOptions {
  /** The domain the accounts belong to (default 'WORKGROUP'). Principals are `DOMAIN\user`. */
  readonly domain?: string | NtlmName;
  /** This server's name in the CHALLENGE (default: the host name). */
  readonly computerName?: string | NtlmName;
  /** Who checks the responses: a verifier (smbpasswdFile, a DC) or `(user, domain) => NT hash`. */
  readonly credentials?: NtlmVerifier | NtHashLookup;
  /** Ask Active Directory over NETLOGON instead of `credentials` (docs/ntlm.md). */
  readonly domainController?: DomainControllerOptions;
  /** Accept NTLMv1 responses (default false: they fall to an offline DES attack). */
  readonly allowNtlmV1?: boolean;
  /** Accept LM-only responses (default false). */
  readonly allowLm?: boolean;
  /** Accept anonymous NTLM (default false). */
  readonly allowAnonymous?: boolean;
  /** Largest accepted distance of the client's NTLMv2 timestamp from now (default 5 minutes). */
  readonly timestampWindowMs?: number;
}

/** What a pending handshake keeps between CHALLENGE and AUTHENTICATE. */
export interface NtlmHandshakeState {
  /** NEGOTIATE || CHALLENGE exactly as exchanged (the MIC covers both), in its own memory. */
  readonly transcript: Buffer;
  readonly negotiateLength: number;
}

/** The connection facts `step` takes: the time, and RFC 5929 tls-server-end-point data on TLS. */
export interface NtlmStepInput {
  readonly now: number;
  /** RFC 5929 tls-server-end-point application data of this connection, when TLS. */
  readonly channelBinding?: Buffer | undefined;
}

/** What `step` returns: the CHALLENGE to send and the state to keep, or the completed logon. */
export type NtlmStepResult =
  | { readonly type: 'continue'; readonly token: Buffer; readonly state: NtlmHandshakeState }
  | {
      readonly type: 'complete';
      readonly principal: Principal;
      readonly sessionKey: Buffer;
      readonly context: NtlmSessionContext;
    };

/** The NEGOTIATE is kept until the AUTHENTICATE; real ones are under 100 bytes. */
export const MAX_NEGOTIATE_BYTES = 1024;
const DEFAULT_TIMESTAMP_WINDOW_MS = 5 * 60 * 1000;

function toName(value: string | NtlmName | undefined, fallback: string): Required<NtlmName> {
  if (value === undefined) return { netbios: fallback, dns: fallback.toLowerCase() };
  if (typeof value === 'string') return { netbios: value, dns: value.toLowerCase() };
  return { netbios: value.netbios, dns: value.dns ?? value.netbios.toLowerCase() };
}

function validNetbios(name: string): boolean {
  return name.length > 0 && name.length <= 15 && !/[\\/:*?"<>|]/.test(name);
}

function isZero(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte !== 0) return false;
  return true;
}

/**
 * The NTLM acceptor (MS-NLMP 3.2, server side), independent of HTTP; `ntlm()` and `negotiate()`
 * build one from their options.
 *
 * ```ts
 * const acceptor = new NtlmAcceptor({ domain: 'EXAMPLE', credentials: smbpasswdFile(path) });
 * const first = await acceptor.step(negotiateBytes, undefined, { now: Date.now() });
 * // first = { type: 'continue', token: challengeBytes, state }: keep `state` (small, < 2 KiB)
 * const last = await acceptor.step(authenticateBytes, first.state, { now, channelBinding });
 * // last = { type: 'complete', principal, sessionKey, context }, or a thrown HttpAuthError
 * ```
 *
 * A NEGOTIATE always starts a new handshake, whatever the state; an AUTHENTICATE without this
 * server's CHALLENGE in the state fails with ERR_HTTPAUTH_NTLM_UNEXPECTED_MESSAGE. Every failure
 * is an HttpAuthError with a stable code. `context` holds the exported session key and the
 * MS-NLMP 3.4.5 signing and sealing keys, for SPNEGO's mechListMIC and for message security:
 * `new NtlmSessionSecurity(last.context, 'server')` signs and seals with them (MS-NLMP 3.4.4).
 */
export class NtlmAcceptor {
  readonly domain: Required<NtlmName>;
  readonly computer: Required<NtlmName>;
  readonly #verifier: NtlmVerifier;
  readonly #allowNtlmV1: boolean;
  readonly #allowLm: boolean;
  readonly #allowAnonymous: boolean;
  readonly #binding: NtlmBindingPolicy;
  readonly #timestampWindowMs: number;
  /** The AV pairs that do not change between handshakes (everything but the timestamp). */
  readonly #fixedTargetInfo: readonly AvPair[];

  constructor(options: NtlmAcceptorOptions) {
    if (options === null || typeof options !== 'object') {
      throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
    }
    this.domain = toName(options.domain, 'WORKGROUP');
    const host = hostname().split('.')[0]?.toUpperCase().slice(0, 15) || 'HTTPAUTH';
    const source = verifierFromOptions(options, this.domain);
    this.computer = toName(options.computerName ?? source.computerName, host);
    if (!validNetbios(this.domain.netbios) || !validNetbios(this.computer.netbios)) {
      throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
    }
    this.#verifier = source.verifier;
    this.#allowNtlmV1 = options.allowNtlmV1 === true;
    this.#allowLm = options.allowLm === true;
    this.#allowAnonymous = options.allowAnonymous === true;
    this.#binding = new NtlmBindingPolicy(options);
    const window = options.timestampWindowMs ?? DEFAULT_TIMESTAMP_WINDOW_MS;
    if (typeof window !== 'number' || !(window > 0)) {
      throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
    }
    this.#timestampWindowMs = window;
    // Windows' order: NetBIOS domain and computer, DNS domain, computer and tree, then the time.
    this.#fixedTargetInfo = [
      { id: MsvAvNbDomainName, value: avString(this.domain.netbios.toUpperCase()) },
      { id: MsvAvNbComputerName, value: avString(this.computer.netbios.toUpperCase()) },
      { id: MsvAvDnsDomainName, value: avString(this.domain.dns) },
      { id: MsvAvDnsComputerName, value: avString(this.computer.dns) },
      { id: MsvAvDnsTreeName, value: avString(this.domain.dns) },
    ];
    this.#binding.warnIfUnbound();
  }

  /** One leg: the raw NTLMSSP token and the state of the previous step (undefined for none). */
  async step(
    token: Buffer,
    state: NtlmHandshakeState | undefined,
    input: NtlmStepInput,
  ): Promise<NtlmStepResult> {
    switch (messageType(token)) {
      case MESSAGE_TYPE_NEGOTIATE:
        return this.challenge(token, input.now);
      case MESSAGE_TYPE_AUTHENTICATE:
        if (state === undefined) fail('ERR_HTTPAUTH_NTLM_UNEXPECTED_MESSAGE');
        return this.authenticate(token, state, input);
      case MESSAGE_TYPE_CHALLENGE:
        // Only a server sends a CHALLENGE: a client echoing one is out of order.
        return fail('ERR_HTTPAUTH_NTLM_UNEXPECTED_MESSAGE');
      default:
        return fail('ERR_HTTPAUTH_NTLM_MALFORMED');
    }
  }

  /** NEGOTIATE -> CHALLENGE (MS-NLMP 3.2.5.1.1). */
  challenge(negotiateToken: Buffer, now: number): NtlmStepResult & { type: 'continue' } {
    if (negotiateToken.length > MAX_NEGOTIATE_BYTES) fail('ERR_HTTPAUTH_NTLM_MALFORMED');
    const negotiate = decodeNegotiateMessage(negotiateToken);
    const flags = challengeFlagsFor(negotiate.flags);
    const serverChallenge = randomBytes(SERVER_CHALLENGE_LENGTH);
    const targetInfo = encodeAvPairs([
      ...this.#fixedTargetInfo,
      { id: MsvAvTimestamp, value: fileTime(now) },
    ]);
    const challenge = encodeChallengeMessage({
      flags,
      targetName: this.domain.netbios.toUpperCase(),
      serverChallenge,
      targetInfo,
      ...(hasFlag(flags, NTLMSSP_NEGOTIATE_VERSION) ? { version: SERVER_VERSION } : {}),
    });
    const transcript = ownCopy(Buffer.concat([negotiateToken, challenge]));
    return {
      type: 'continue',
      token: challenge,
      state: { transcript, negotiateLength: negotiateToken.length },
    };
  }

  /** AUTHENTICATE -> verdict (MS-NLMP 3.2.5.1.2). */
  async authenticate(
    token: Buffer,
    state: NtlmHandshakeState,
    input: NtlmStepInput,
  ): Promise<NtlmStepResult & { type: 'complete' }> {
    if (
      !Buffer.isBuffer(state.transcript) ||
      !Number.isInteger(state.negotiateLength) ||
      state.negotiateLength < 16 ||
      state.transcript.length < state.negotiateLength + SERVER_CHALLENGE_OFFSET + 8
    ) {
      fail('ERR_HTTPAUTH_NTLM_UNEXPECTED_MESSAGE');
    }
    const negotiateMessage = state.transcript.subarray(0, state.negotiateLength);
    const challengeMessage = state.transcript.subarray(state.negotiateLength);
    const message = decodeAuthenticateMessage(token);
    try {
      return await this.#verify(token, message, negotiateMessage, challengeMessage, input);
    } catch (error) {
      rethrowWithDetail(error, attemptedLogon(message));
    }
  }

  /** The checks of an AUTHENTICATE, each refusal naming its check (failure-detail.ts). */
  async #verify(
    token: Buffer,
    message: AuthenticateMessage,
    negotiateMessage: Buffer,
    challengeMessage: Buffer,
    input: NtlmStepInput,
  ): Promise<NtlmStepResult & { type: 'complete' }> {
    const serverChallenge = challengeMessage.subarray(
      SERVER_CHALLENGE_OFFSET,
      SERVER_CHALLENGE_OFFSET + SERVER_CHALLENGE_LENGTH,
    );
    const challengeFlags = challengeMessage.readUInt32LE(20);
    const nt = message.ntChallengeResponse;
    const lm = message.lmChallengeResponse;

    // MS-NLMP 3.2.5.1.2: an empty user with no NT response and an empty or Z(1) LM is anonymous.
    if (
      message.user === '' &&
      nt.length === 0 &&
      (lm.length === 0 || (lm.length === 1 && lm[0] === 0))
    ) {
      if (!this.#allowAnonymous) refuse('ERR_HTTPAUTH_NTLM_ANONYMOUS_REFUSED', 'anonymous');
      ntlmCheck('channel-binding', () =>
        this.#binding.checkResponseWithoutAvPairs(input.channelBinding),
      );
      return { type: 'complete', ...anonymousLogon(message, challengeFlags) };
    }
    if (message.user === '') refuse('ERR_HTTPAUTH_BAD_CREDENTIALS', 'account');

    let v2: Ntlmv2Response | undefined;
    if (nt.length > NTLMV1_RESPONSE_LENGTH) {
      v2 = ntlmCheck('version', () => decodeNtlmv2Response(nt));
    } else if (nt.length === NTLMV1_RESPONSE_LENGTH) {
      if (!this.#allowNtlmV1) refuse('ERR_HTTPAUTH_NTLM_V1_REFUSED', 'version');
    } else if (nt.length === 0 && lm.length === NTLMV1_RESPONSE_LENGTH) {
      if (!this.#allowLm) refuse('ERR_HTTPAUTH_NTLM_V1_REFUSED', 'version');
    } else {
      refuse('ERR_HTTPAUTH_NTLM_MALFORMED', 'version');
    }

    const negotiatedFlags = (message.flags & challengeFlags) >>> 0;
    const logon = await this.#verifier.verify({
      user: message.user,
      domain: message.domain,
      workstation: message.workstation,
      flags: negotiatedFlags,
      serverChallenge: Buffer.from(serverChallenge),
      lmChallengeResponse: lm,
      ntChallengeResponse: nt,
      negotiateMessage: Buffer.from(negotiateMessage),
      challengeMessage: Buffer.from(challengeMessage),
      authenticateMessage: Buffer.from(token),
    });
    // A verifier that resolves undefined does not say whether the account or the proof failed.
    if (logon === undefined) refuse('ERR_HTTPAUTH_BAD_CREDENTIALS', 'credentials');
    if (!Buffer.isBuffer(logon.sessionBaseKey) || logon.sessionBaseKey.length !== 16) {
      fail('ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED');
    }

    // Everything below reads AV pairs the NTProofStr just authenticated (they are inside it).
    let micVerified = false;
    const keyExchangeKey =
      v2 !== undefined
        ? Buffer.from(logon.sessionBaseKey)
        : keyExchangeKeyV1(negotiatedFlags, logon.sessionBaseKey, serverChallenge, lm);
    const exported = exportedSessionKey(
      hasFlag(negotiatedFlags, NTLMSSP_NEGOTIATE_KEY_EXCH),
      keyExchangeKey,
      message.encryptedRandomSessionKey,
    );
    keyExchangeKey.fill(0);
    let channelBound = false;

    if (v2 !== undefined) {
      const pairs = v2.avPairs;
      // CVE-2019-1040: a client that says it sent a MIC must have sent a valid one.
      if (hasFlag(avFlags(pairs), MSV_AV_FLAG_MIC_PRESENT)) {
        if (message.mic === undefined || isZero(message.mic)) {
          refuse('ERR_HTTPAUTH_NTLM_MIC_MISSING', 'mic');
        }
        const expected = messageIntegrityCode(
          exported,
          negotiateMessage,
          challengeMessage,
          withZeroedMic(token),
        );
        if (!sameBytes(expected, message.mic)) refuse('ERR_HTTPAUTH_NTLM_MIC_INVALID', 'mic');
        micVerified = true;
      }
      checkNtlmv2Timestamp(v2, input.now, this.#timestampWindowMs);
      channelBound = ntlmCheck('channel-binding', () =>
        this.#binding.checkChannelBinding(pairs, input.channelBinding),
      );
      ntlmCheck('target-name', () => this.#binding.checkTargetName(pairs, channelBound));
    } else {
      ntlmCheck('channel-binding', () =>
        this.#binding.checkResponseWithoutAvPairs(input.channelBinding),
      );
    }

    const principal = logonPrincipal(
      logon,
      message.user,
      message.workstation,
      this.domain,
      channelBound,
    );
    const context = sessionContext(
      exported,
      negotiatedFlags,
      v2 === undefined ? 1 : 2,
      micVerified,
    );
    return { type: 'complete', principal, sessionKey: exported, context };
  }
}

/** Helper for packages that drive the acceptor: what kind of message a token is. */
export function ntlmMessageType(token: Buffer): 'negotiate' | 'challenge' | 'authenticate' {
  switch (messageType(token)) {
    case MESSAGE_TYPE_NEGOTIATE:
      return 'negotiate';
    case MESSAGE_TYPE_CHALLENGE:
      return 'challenge';
    case MESSAGE_TYPE_AUTHENTICATE:
      return 'authenticate';
    default:
      fail('ERR_HTTPAUTH_NTLM_MALFORMED');
  }
}
