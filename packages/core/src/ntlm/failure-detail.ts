/**
 * The operator-only detail of a refused NTLM AUTHENTICATE (HttpAuthError.detail, reaching the
 * failure event and the logs, never the client): the domain, user and workstation the message
 * names (MS-NLMP §2.2.1.3, unproven, bounded) and which check refused it. Never a response, a
 * hash, a key or the message itself.
 *
 * The checks, in the order the acceptor runs them (MS-NLMP §3.2.5.1.2):
 *   version          NTLMv1 / LM refused by policy, or a response of no known length
 *   anonymous        an anonymous AUTHENTICATE while anonymous logons are refused
 *   account          no such account, disabled, locked, expired (what the source or DC says)
 *   proof            the NTLMv2 (or v1) proof does not verify: a wrong password
 *   credentials      the verifier could not say which of the two (a custom verifier,
 *                    winbind's NT_STATUS_LOGON_FAILURE)
 *   mic              the MIC is missing or wrong (CVE-2019-1040)
 *   timestamp        the NTLMv2 timestamp is outside the window
 *   channel-binding  MsvAvChannelBindings missing or not this TLS connection's (RFC 5929)
 *   target-name      MsvAvTargetName is not one of this server's SPNs
 */
import { attemptedName, HttpAuthError, rethrowWithDetail, type ErrorCode } from '../errors.js';
import type { AuthenticateMessage } from './authenticate-message.js';

export type NtlmCheck =
  | 'version'
  | 'anonymous'
  | 'account'
  | 'proof'
  | 'credentials'
  | 'mic'
  | 'timestamp'
  | 'channel-binding'
  | 'target-name';

/** Run one check; a refusal names it (an inner `check`, e.g. a verifier's, is kept). */
export function ntlmCheck<T>(check: NtlmCheck, run: () => T): T {
  try {
    return run();
  } catch (error) {
    rethrowWithDetail(error, { check });
  }
}

/** A refusal naming its check. */
export function refuse(code: ErrorCode, check: NtlmCheck): never {
  throw new HttpAuthError(code, { detail: { check } });
}

/** Who the AUTHENTICATE message says is logging on, for the operator (bounded, unproven). */
export function attemptedLogon(message: AuthenticateMessage): Record<string, string> {
  return {
    domain: attemptedName(message.domain),
    user: attemptedName(message.user),
    workstation: attemptedName(message.workstation),
  };
}

/**
 * A domain controller's or winbind's refusal, as a check: a wrong password is the proof; a plain
 * logon failure (what ntlm_auth reports for both an unknown user and a bad password) does not
 * say which; every other status (no such user, locked, disabled, expired, restricted) is about
 * the account. The status itself is the error's `reason`.
 */
export function checkOfLogonStatus(status: string): NtlmCheck {
  if (/WRONG_PASSWORD|current password is not correct/i.test(status)) return 'proof';
  if (/LOGON_FAILURE|attempted logon is invalid/i.test(status)) return 'credentials';
  return 'account';
}
