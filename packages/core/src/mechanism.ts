/**
 * One GSS-API mechanism's side of a security context, as SPNEGO drives it (RFC 2743 §2.2, §2.3;
 * RFC 4178 §3). The Kerberos (kerberos/mechanism-context.ts) and NTLM (ntlm/mechanism-context.ts)
 * acceptors both implement it, so Negotiate never needs to know which one it runs:
 *
 *   const mech = createKerberosContext(acceptor);        // one object per exchange
 *   const step = await mech.step(token, facts);          // GSS_Accept_sec_context
 *   step.type: 'continue' (token for the client, call step again with its answer)
 *            | 'complete' (token?: last token, e.g. an AP-REP; completion: who and which keys)
 *            | 'reject'   (error with a stable ERR_HTTPAUTH_* code; token?: e.g. a KRB-ERROR)
 *   mech.getMic(mechListDer) / mech.verifyMic(mechListDer, mic)   // RFC 4178 §5 mechListMIC
 *
 * step() never throws: bad, truncated or unexpected tokens are a 'reject' with the mechanism's
 * code, and anything else thrown inside is ERR_HTTPAUTH_INTERNAL. The object is stateful (an
 * NTLM context remembers its CHALLENGE; MIC sequence numbers advance), so it lives exactly as
 * long as one exchange, in the connection's handshake slot when that spans several requests.
 */
import type { HttpAuthError } from './errors.js';
import type { Principal } from './principal.js';
import type { KeyValueStore } from './store/types.js';

/** The mechanisms SPNEGO chooses between. */
export type MechanismName = 'kerberos' | 'ntlm';

/** The facts of the request a step runs in. */
export interface MechanismStepFacts {
  /** Where replay-detection records go (Kerberos authenticators, RFC 4120 §3.2.3). */
  readonly store: KeyValueStore;
  /** Current time in ms (injectable for tests). */
  readonly now: number;
  /** RFC 5929 tls-server-end-point application data of this connection, when TLS. */
  readonly channelBinding: Buffer | undefined;
}

/** What a completed context proves and holds (GSS_Accept_sec_context's outputs, RFC 2743 §2.2.2). */
export interface MechanismCompletion {
  /** The authenticated client, as the mechanism names it (no site name mapping applied). */
  readonly principal: Principal;
  /** The context key: Kerberos' acceptor or initiator subkey or ticket key, NTLM's exported key. */
  readonly sessionKey: Buffer;
  /**
   * The flags the mechanism reports: Kerberos' GSS flags (RFC 4121 §4.1.1.1), NTLM's negotiated
   * NTLMSSP flags (MS-NLMP §2.2.2.5).
   */
  readonly flags: number;
  /** Everything the security package exposes as its SecurityContextData. */
  readonly contextData: Readonly<Record<string, unknown>>;
  /**
   * True when the mechanism itself obliges SPNEGO to exchange mechListMICs: an NTLM AUTHENTICATE
   * that carried a verified MIC (MS-SPNG §3.3.5.1).
   */
  readonly requiresMechListMic: boolean;
}

export type MechanismStep =
  | { readonly type: 'continue'; readonly token: Buffer }
  | {
      readonly type: 'complete';
      /** The mechanism's last token for the client (an AP-REP), if any. */
      readonly token: Buffer | undefined;
      readonly completion: MechanismCompletion;
    }
  | {
      readonly type: 'reject';
      readonly error: HttpAuthError;
      /** A token that tells the client why (a KRB-ERROR it can act on), if any. */
      readonly token: Buffer | undefined;
    };

export interface MechanismContext {
  readonly mechanism: MechanismName;
  /**
   * Accept the client's next token (GSS_Accept_sec_context). Never throws or rejects; answers at
   * once when nothing waits (Kerberos with an in-process replay cache), else by a promise.
   */
  step(token: Buffer, facts: MechanismStepFacts): MechanismStep | Promise<MechanismStep>;
  /** The completion facts once step() returned 'complete'; undefined before. */
  readonly completion: MechanismCompletion | undefined;
  /**
   * GSS_GetMIC (RFC 2743 §2.3.1) over `data` with the completed context, from the acceptor; our
   * first per-message token. Undefined when the context is not complete or cannot sign.
   */
  getMic(data: Buffer): Buffer | undefined;
  /**
   * GSS_VerifyMIC (RFC 2743 §2.3.2): true when `mic` is the initiator's first MIC over `data`.
   * False when it does not verify, is malformed, or the context is not complete.
   */
  verifyMic(data: Buffer, mic: Buffer): boolean;
}
