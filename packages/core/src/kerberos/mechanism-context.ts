/**
 * Kerberos as a MechanismContext (../mechanism.ts): one AP-REQ in, the AP-REP (mutual
 * authentication) or a KRB-ERROR out (RFC 4121 §4.1), and RFC 4121 §4.2.6.1 MIC tokens with the
 * context key for SPNEGO's mechListMIC. One step; the acceptor itself keeps no state.
 */
import { isHttpAuthError } from '../errors.js';
import type {
  MechanismCompletion,
  MechanismContext,
  MechanismStep,
  MechanismStepFacts,
} from '../mechanism.js';
import type { KerberosAcceptor, KerberosAcceptResult } from './acceptor.js';
import type { KerberosKey } from './crypto/index.js';
import { gssGetMic, gssVerifyMic } from './gss-mic.js';

type Accepted = KerberosAcceptResult & { ok: true };

class KerberosMechanismContext implements MechanismContext {
  readonly mechanism = 'kerberos' as const;
  readonly #acceptor: KerberosAcceptor;
  #accepted: Accepted | undefined;
  #completion: MechanismCompletion | undefined;

  constructor(acceptor: KerberosAcceptor) {
    this.#acceptor = acceptor;
  }

  get completion(): MechanismCompletion | undefined {
    return this.#completion;
  }

  step(token: Buffer, facts: MechanismStepFacts): MechanismStep | Promise<MechanismStep> {
    // Kerberos is one leg: a second AP-REQ on the same context would be a new context.
    this.#accepted = undefined;
    this.#completion = undefined;
    // Without a promise when the acceptor answered at once (an in-process replay cache).
    const result = this.#acceptor.acceptNow(token, facts);
    return result instanceof Promise ? result.then((r) => this.#stepped(r)) : this.#stepped(result);
  }

  #stepped(result: KerberosAcceptResult): MechanismStep {
    if (!result.ok) return { type: 'reject', error: result.error, token: result.responseToken };
    this.#accepted = result;
    const key: KerberosKey = result.sessionKey;
    // A plain object filled in place (no spread per request), frozen by its readonly type.
    const contextData: Record<string, unknown> = {
      sessionKey: Buffer.from(key.bytes),
      /** The context key's enctype (RFC 3961 number): the ticket's session key or a subkey. */
      enctype: key.enctype,
      gssFlags: result.gssFlags,
      mechanism: 'Kerberos',
      mechOid: result.mechOid,
      servicePrincipal: result.servicePrincipal,
      // S4U2Proxy's evidence for a Kerberos logon (constrained delegation, MS-SFU §3.2.5.2).
      clientTicket: result.clientTicket,
    };
    if (result.delegatedCredential !== undefined) {
      contextData.delegatedCredential = result.delegatedCredential;
    }
    this.#completion = {
      principal: result.principal,
      sessionKey: Buffer.from(key.bytes),
      flags: result.gssFlags,
      contextData,
      requiresMechListMic: false,
    };
    return { type: 'complete', token: result.responseToken, completion: this.#completion };
  }

  getMic(data: Buffer): Buffer | undefined {
    const accepted = this.#accepted;
    if (accepted === undefined) return undefined;
    try {
      return gssGetMic(accepted.sessionKey, data, {
        acceptor: true,
        acceptorSubkey: accepted.acceptorSubkey,
        // RFC 4121 §4.2.6.1: our first SND_SEQ is the AP-REP's seq-number; MIT initiators that
        // asked for sequencing check it.
        seq: BigInt(accepted.acceptorSeqNumber),
      });
    } catch (error) {
      if (isHttpAuthError(error)) return undefined;
      throw error;
    }
  }

  verifyMic(data: Buffer, mic: Buffer): boolean {
    const accepted = this.#accepted;
    if (accepted === undefined) return false;
    // The initiator's MIC: usage 25 with the context key (RFC 4121 §2, §4.2.6.1).
    try {
      return gssVerifyMic(accepted.sessionKey, mic, data, { fromAcceptor: false });
    } catch (error) {
      if (isHttpAuthError(error)) return false;
      throw error;
    }
  }
}

/** A fresh Kerberos context on `acceptor`, for one exchange. */
export function createKerberosContext(acceptor: KerberosAcceptor): MechanismContext {
  return new KerberosMechanismContext(acceptor);
}
