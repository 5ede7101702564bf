/**
 * SPNEGO (RFC 4178) on the acceptor side, in its phases: init (the client's NegTokenInit: choose
 * a mechanism), mech token (run the chosen mechanism on its token), MIC exchange (RFC 4178 §5)
 * and completion (completion.ts). Mechanisms are driven only through MechanismContext
 * (../mechanism.ts); what waits between legs is a NegotiateConnectionState (spnego-state.ts).
 *
 *  - Init: the first mechanism in the client's preference order that we allow. Its optimistic
 *    token is used when that mechanism is the client's first; otherwise we answer
 *    accept-incomplete, or request-mic when MICs will be required, with supportedMech so the
 *    client sends the right token (RFC 4178 §3.2, §4.2.2).
 *  - MIC exchange: when the chosen mechanism is not the client's first choice, the client sent a
 *    MIC, or the mechanism demands one (NTLM with a MIC in AUTHENTICATE, MS-SPNG §3.3.5.1), the
 *    client's MIC over the DER of its MechTypeList must be present and verify, and we send ours.
 *    Without that, an attacker who strips the client's preferred mechanism from the list could
 *    force a weaker one (NTLM) undetected.
 */
import { fail } from '../errors.js';
import type { AcceptContext, AcceptResult } from '../security-package.js';
import type {
  MechanismContext,
  MechanismName,
  MechanismStep,
  MechanismStepFacts,
} from '../mechanism.js';
import { decodeNegTokenInit } from './neg-token-init.js';
import type { NegTokenInit } from './neg-token-init.js';
import { NEG_STATE, decodeNegTokenResp, encodeNegTokenResp } from './neg-token-resp.js';
import type { NegState, NegTokenResp } from './neg-token-resp.js';
import { mechanismOf } from './oids.js';
import { connectionState } from './spnego-state.js';
import type { SpnegoExchange } from './spnego-state.js';

/** What the SPNEGO phases need from the Negotiate package. */
export interface SpnegoMechanisms {
  /** Whether `mechanism` may run on this request (configured; NTLM needs a connection). */
  allowed(mechanism: MechanismName, context: AcceptContext): boolean;
  /** Whether `mechanism` is configured at all (whatever the request). */
  configured(mechanism: MechanismName): boolean;
  /** A fresh context of an allowed mechanism. */
  create(mechanism: MechanismName): MechanismContext;
  /** The completion phase: the package's answer once `mech` completed. */
  completed(mech: MechanismContext, token: string, mechListMicVerified: boolean): AcceptResult;
  /** The package's answer when `mech` refused, its token (a KRB-ERROR) wrapped by `wrap`. */
  rejected(step: MechanismStep & { type: 'reject' }, wrap: (token: Buffer) => string): AcceptResult;
}

/** The connection facts a mechanism step needs. */
export function stepFacts(context: AcceptContext): MechanismStepFacts {
  return { store: context.store, now: context.now, channelBinding: context.channelBinding };
}

function resp(fields: NegTokenResp): string {
  return encodeNegTokenResp(fields).toString('base64');
}

/** supportedMech goes in our first reply only (RFC 4178 §4.2.2). */
function supported(mechOid: string | undefined): { supportedMech?: string } {
  return mechOid === undefined ? {} : { supportedMech: mechOid };
}

export class SpnegoAcceptor {
  readonly #mechanisms: SpnegoMechanisms;

  constructor(mechanisms: SpnegoMechanisms) {
    this.#mechanisms = mechanisms;
  }

  /**
   * Phase 1, init: a NegTokenInit starts a new negotiation. Answers at once when the mechanism
   * did (Kerberos with an in-process replay cache), else by a promise; throws or rejects on a
   * refusal (the package turns either into its `reject`).
   */
  init(token: Buffer, context: AcceptContext): AcceptResult | Promise<AcceptResult> {
    const init = decodeNegTokenInit(token);
    const { mechanism, mechOid, index } = this.#select(init, context);
    const exchange: SpnegoExchange = {
      mechanism,
      mechOid,
      mechTypesDer: init.mechTypesDer,
      // RFC 4178 §5: a choice other than the client's first must be confirmed by both MICs.
      micRequired: index !== 0,
    };
    const optimistic = index === 0 ? init.mechToken : undefined;
    if (optimistic === undefined) {
      // Ask for a token of the chosen mechanism; the next leg needs this exchange's facts.
      if (context.handshake === undefined) fail('ERR_HTTPAUTH_CONNECTION_REQUIRED');
      context.handshake.set({ kind: 'awaiting-mech-token', exchange });
      const negState: NegState = exchange.micRequired
        ? NEG_STATE.requestMic
        : NEG_STATE.acceptIncomplete;
      return { type: 'continue', token: resp({ negState, supportedMech: mechOid }) };
    }
    const mech = this.#mechanisms.create(mechanism);
    return this.#mechToken(mech, optimistic, exchange, init.mechListMIC, true, context);
  }

  /** A NegTokenResp: the chosen mechanism's next token, or the client's last mechListMIC. */
  next(token: Buffer, context: AcceptContext): AcceptResult | Promise<AcceptResult> {
    const message = decodeNegTokenResp(token);
    // MIT initiators answer our reject (a KRB-ERROR) with a reject of their own: the end of
    // that negotiation, whether or not any state is left for it.
    if (message.negState === NEG_STATE.reject) fail('ERR_HTTPAUTH_SPNEGO_REJECTED');
    const state = connectionState(context.handshake?.get());
    if (context.handshake === undefined || state === undefined || state.kind === 'raw-ntlm') {
      fail('ERR_HTTPAUTH_HANDSHAKE_EXPIRED');
    }
    if (state.kind === 'awaiting-mic') {
      return this.#lastMic(state.mech, state.exchange, message.mechListMIC, context);
    }
    const mechToken = message.responseToken;
    if (mechToken === undefined) fail('ERR_HTTPAUTH_SPNEGO_MALFORMED');
    const mech =
      state.kind === 'mech-continue'
        ? state.mech
        : this.#mechanisms.create(state.exchange.mechanism);
    return this.#mechToken(mech, mechToken, state.exchange, message.mechListMIC, false, context);
  }

  /** Pick the first of the client's mechanisms that we allow, with its index in the list. */
  #select(
    init: NegTokenInit,
    context: AcceptContext,
  ): { mechanism: MechanismName; mechOid: string; index: number } {
    let needsConnection = false;
    for (let index = 0; index < init.mechTypes.length; index++) {
      const mechOid = init.mechTypes[index] as string;
      const mechanism = mechanismOf(mechOid);
      if (mechanism === undefined) continue;
      if (this.#mechanisms.allowed(mechanism, context)) return { mechanism, mechOid, index };
      needsConnection ||= this.#mechanisms.configured(mechanism);
    }
    // A mechanism we accept, refused only for want of a connection (NTLM over HTTP/2): the
    // loop turns this into HTTP_1_1_REQUIRED so the client retries over HTTP/1.1.
    fail(needsConnection ? 'ERR_HTTPAUTH_CONNECTION_REQUIRED' : 'ERR_HTTPAUTH_SPNEGO_NO_MECH');
  }

  /** Phase 2, mech token: one step of the chosen mechanism, answered in a NegTokenResp. */
  #mechToken(
    mech: MechanismContext,
    token: Buffer,
    exchange: SpnegoExchange,
    clientMic: Buffer | undefined,
    firstReply: boolean,
    context: AcceptContext,
  ): AcceptResult | Promise<AcceptResult> {
    const step = mech.step(token, stepFacts(context));
    if (step instanceof Promise) {
      return step.then((s) => this.#stepped(mech, s, exchange, clientMic, firstReply, context));
    }
    return this.#stepped(mech, step, exchange, clientMic, firstReply, context);
  }

  /** Phase 2's answer once the mechanism stepped. */
  #stepped(
    mech: MechanismContext,
    step: MechanismStep,
    exchange: SpnegoExchange,
    clientMic: Buffer | undefined,
    firstReply: boolean,
    context: AcceptContext,
  ): AcceptResult {
    const supportedMech = supported(firstReply ? exchange.mechOid : undefined);
    if (step.type === 'reject') {
      context.handshake?.clear();
      return this.#mechanisms.rejected(step, (krbError) =>
        resp({ negState: NEG_STATE.reject, ...supportedMech, responseToken: krbError }),
      );
    }
    if (step.type === 'continue') {
      if (context.handshake === undefined) fail('ERR_HTTPAUTH_CONNECTION_REQUIRED');
      context.handshake.set({ kind: 'mech-continue', exchange, mech });
      return {
        type: 'continue',
        token: resp({
          negState: NEG_STATE.acceptIncomplete,
          ...supportedMech,
          responseToken: step.token,
        }),
      };
    }
    context.handshake?.clear();
    const micRequired = exchange.micRequired || step.completion.requiresMechListMic;
    return this.#micExchange(
      mech,
      micRequired === exchange.micRequired ? exchange : { ...exchange, micRequired },
      clientMic,
      step.token,
      supportedMech,
      context,
    );
  }

  /**
   * Phase 3, MIC exchange (RFC 4178 §5) once the mechanism completed. `mechToken` is its last
   * token for the client (an AP-REP), if any.
   */
  #micExchange(
    mech: MechanismContext,
    exchange: SpnegoExchange,
    clientMic: Buffer | undefined,
    mechToken: Buffer | undefined,
    supportedMech: { supportedMech?: string },
    context: AcceptContext,
  ): AcceptResult {
    // Plain fields rather than spreads: this runs on every request. The encoder leaves out a
    // field whose value is undefined.
    const answer = { supportedMech: supportedMech.supportedMech, responseToken: mechToken };
    if (!exchange.micRequired && clientMic === undefined) {
      const fields = {
        negState: NEG_STATE.acceptCompleted,
        supportedMech: answer.supportedMech,
        responseToken: answer.responseToken,
      };
      return this.#mechanisms.completed(mech, resp(fields), false);
    }
    const ourMic = mech.getMic(exchange.mechTypesDer);
    if (ourMic === undefined) fail('ERR_HTTPAUTH_SPNEGO_MIC_INVALID');
    if (clientMic !== undefined) {
      if (!mech.verifyMic(exchange.mechTypesDer, clientMic)) {
        fail('ERR_HTTPAUTH_SPNEGO_MIC_INVALID');
      }
      return this.#mechanisms.completed(
        mech,
        resp({ negState: NEG_STATE.acceptCompleted, ...answer, mechListMIC: ourMic }),
        true,
      );
    }
    // The client's MIC is required but cannot have come yet when it still needed our last
    // mechanism token (a Kerberos AP-REP): send ours and wait for its MIC in one more leg.
    // A client whose mechanism was already complete (NTLM after AUTHENTICATE) had to send it.
    if (mechToken === undefined || context.handshake === undefined) {
      fail('ERR_HTTPAUTH_SPNEGO_MIC_INVALID');
    }
    context.handshake.set({ kind: 'awaiting-mic', exchange, mech });
    return {
      type: 'continue',
      token: resp({ negState: NEG_STATE.acceptIncomplete, ...answer, mechListMIC: ourMic }),
    };
  }

  /** Phase 3, last leg: only the client's mechListMIC was missing. */
  #lastMic(
    mech: MechanismContext,
    exchange: SpnegoExchange,
    mic: Buffer | undefined,
    context: AcceptContext,
  ): AcceptResult {
    if (mic === undefined || !mech.verifyMic(exchange.mechTypesDer, mic)) {
      fail('ERR_HTTPAUTH_SPNEGO_MIC_INVALID');
    }
    context.handshake?.clear();
    return this.#mechanisms.completed(mech, resp({ negState: NEG_STATE.acceptCompleted }), true);
  }
}
