/**
 * The NTLM verifier interface: what checks a client's NTLM proof for the acceptor, whether a
 * local NT-hash source (credentials.ts) or a domain controller (netlogon/verifier.ts, winbind.ts).
 * A module of its own so a verifier implementation needs only these types, not the sources.
 */
import type { LogonInfo } from '../principal.js';

/** What a verifier receives: the whole exchange, as a domain controller needs it. */
export interface NtlmLogonRequest {
  /** User name as the client sent it (not proven until verified). */
  readonly user: string;
  /** Domain name as the client sent it; part of the NTLMv2 proof, may be empty. */
  readonly domain: string;
  /** Workstation name as the client sent it (never proven). */
  readonly workstation: string;
  /** The flags both sides agreed on (AUTHENTICATE flags masked by this server's CHALLENGE flags). */
  readonly flags: number;
  readonly serverChallenge: Buffer;
  readonly lmChallengeResponse: Buffer;
  readonly ntChallengeResponse: Buffer;
  /** Raw NEGOTIATE, CHALLENGE and AUTHENTICATE messages, for verifiers that relay them. */
  readonly negotiateMessage: Buffer;
  readonly challengeMessage: Buffer;
  readonly authenticateMessage: Buffer;
}

/** What a verifier answers when the proof is right. */
export interface NtlmLogonResult {
  /**
   * The session base key (MS-NLMP 3.3): HMAC-MD5(ResponseKeyNT, NTProofStr) for NTLMv2,
   * MD4(NT hash) for NTLMv1 (winbind calls it User-Session-Key). The acceptor derives the
   * exported key and checks the MIC with it, so a verifier cannot skip the MIC.
   */
  readonly sessionBaseKey: Buffer;
  /** The account name as the source spells it (case may differ from what the client typed). */
  readonly user?: string;
  /** The account's NetBIOS domain, when the source knows it (a domain controller does). */
  readonly domain?: string;
  readonly userSid?: string;
  readonly groupSids?: readonly string[];
  readonly groups?: readonly string[];
  /** What a domain controller's validation info said (primary group, logon server, flags). */
  readonly logonInfo?: LogonInfo;
  readonly upn?: string;
  readonly dnsDomain?: string;
}

/**
 * Checks an NTLM response. Resolve `undefined` when the credentials do not authenticate
 * (unknown user, wrong password, disabled account: the client must not learn which), or throw
 * HttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS') with an operator-only `detail.check` of
 * 'account' or 'proof' to tell the operator which (failure-detail.ts); throw
 * HttpAuthError('ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED') when the source cannot answer.
 */
export interface NtlmVerifier {
  /**
   * Checks one AUTHENTICATE's response: resolves the session base key and account facts, or
   * `undefined` when the credentials do not authenticate (see {@link NtlmVerifier}).
   */
  verify(request: NtlmLogonRequest): Promise<NtlmLogonResult | undefined>;
}
