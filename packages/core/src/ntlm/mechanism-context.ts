/**
 * NTLM as a MechanismContext (../mechanism.ts): NEGOTIATE in, CHALLENGE out; AUTHENTICATE in,
 * the logon out (MS-NLMP §3.2.5). The CHALLENGE state lives in this object between the two legs
 * and is used once. The mechListMIC is an NTLM signature (MS-NLMP §3.4.4.2) made and checked by
 * session-security.ts, as MS-SPNG §3.3.5.1 says.
 */
import { HttpAuthError, isHttpAuthError } from '../errors.js';
import type {
  MechanismCompletion,
  MechanismContext,
  MechanismStep,
  MechanismStepFacts,
} from '../mechanism.js';
import type { NtlmAcceptor, NtlmHandshakeState } from './acceptor.js';
import { NtlmSessionSecurity } from './session-security.js';

class NtlmMechanismContext implements MechanismContext {
  readonly mechanism = 'ntlm' as const;
  readonly #acceptor: NtlmAcceptor;
  /** Between CHALLENGE and AUTHENTICATE: the transcript the AUTHENTICATE's MIC covers. */
  #pending: NtlmHandshakeState | undefined;
  #completion: MechanismCompletion | undefined;
  /** The completed context's signing state; undefined without extended session security. */
  #security: NtlmSessionSecurity | undefined;

  constructor(acceptor: NtlmAcceptor) {
    this.#acceptor = acceptor;
  }

  get completion(): MechanismCompletion | undefined {
    return this.#completion;
  }

  async step(token: Buffer, facts: MechanismStepFacts): Promise<MechanismStep> {
    const pending = this.#pending;
    // Each CHALLENGE is answered at most once, whatever the outcome.
    this.#pending = undefined;
    this.#completion = undefined;
    this.#security?.dispose();
    this.#security = undefined;
    try {
      const result = await this.#acceptor.step(token, pending, {
        now: facts.now,
        channelBinding: facts.channelBinding,
      });
      if (result.type === 'continue') {
        this.#pending = result.state;
        return { type: 'continue', token: result.token };
      }
      const { context } = result;
      const security = new NtlmSessionSecurity(context, 'server');
      if (security.extendedSessionSecurity) this.#security = security;
      else security.dispose();
      this.#completion = {
        principal: result.principal,
        sessionKey: result.sessionKey,
        flags: context.negotiatedFlags,
        contextData: { ...context, mechanism: 'NTLM' },
        // MS-SPNG §3.3.5.1: an AUTHENTICATE carrying an NTLM MIC obliges the mechListMIC too.
        requiresMechListMic: context.micVerified,
      };
      return { type: 'complete', token: undefined, completion: this.#completion };
    } catch (error) {
      const httpError = isHttpAuthError(error)
        ? error
        : new HttpAuthError('ERR_HTTPAUTH_INTERNAL', { cause: error });
      return { type: 'reject', error: httpError, token: undefined };
    }
  }

  getMic(data: Buffer): Buffer | undefined {
    return this.#security?.sign(data);
  }

  verifyMic(data: Buffer, mic: Buffer): boolean {
    if (this.#security === undefined) return false;
    try {
      this.#security.verify(data, mic);
      return true;
    } catch (error) {
      if (isHttpAuthError(error)) return false;
      throw error;
    }
  }
}

/** A fresh NTLM context on `acceptor`, for one handshake. */
export function createNtlmContext(acceptor: NtlmAcceptor): MechanismContext {
  return new NtlmMechanismContext(acceptor);
}
