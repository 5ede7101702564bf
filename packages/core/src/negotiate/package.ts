/**
 * The HTTP `Negotiate` security package (RFC 4559) over SPNEGO (RFC 4178), choosing between
 * Kerberos (KerberosAcceptor) and NTLM (NtlmAcceptor), as Windows' Negotiate SSP does.
 *
 * What a client may send after `Authorization: Negotiate`, and what we answer in the same form:
 *  - an SPNEGO NegTokenInit (curl, browsers, Windows): we pick the first mechanism in the client's
 *    preference order that we allow; its optimistic token is used when that mechanism is the
 *    client's first; otherwise we answer accept-incomplete / request-mic with supportedMech so the
 *    client sends the right token (RFC 4178 §3.2, §4.2.2);
 *  - a later NegTokenResp (NTLM's AUTHENTICATE, a mechListMIC, a token for the mechanism we chose);
 *  - a raw Kerberos GSS token (requests-kerberos) or a raw NTLMSSP message: handled by that
 *    mechanism alone, answered raw.
 *
 * Kerberos is one round trip and keeps no state. NTLM, and any SPNEGO exchange longer than one
 * leg, keep their state in the connection's handshake slot (HTTP/1.1 only): without one, NTLM is
 * not selectable and a multi-leg SPNEGO exchange is refused.
 *
 * mechListMIC (RFC 4178 §5): when the chosen mechanism is not the client's first choice, or the
 * client sent a MIC, the client's MIC over the DER of its MechTypeList must be present and verify,
 * and we send ours. Without that, an attacker who strips the client's preferred mechanism from
 * the list could force a weaker one (NTLM) undetected.
 */
import { isHttpAuthError, fail, HttpAuthError } from '../errors.js';
import type { ChannelBindingMode } from '../channel-binding.js';
import type {
  AcceptContext,
  AcceptResult,
  AuthRequest,
  Credentials,
  SecurityContextData,
  SecurityPackage,
} from '../security-package.js';
import type { Principal } from '../principal.js';
import { MAX_DER_BYTES } from '../asn1/der.js';
import { KerberosAcceptor } from '../kerberos/acceptor.js';
import type { KerberosAcceptResult } from '../kerberos/acceptor.js';
import type { KerberosKey } from '../kerberos/crypto/index.js';
import type { Keytab } from '../kerberos/keytab.js';
import { parsePrincipal } from '../kerberos/messages/principal-name.js';
import { gssGetMic, gssVerifyMic } from '../kerberos/gss-mic.js';
import { NtlmAcceptor } from '../ntlm/acceptor.js';
import type {
  NtlmAcceptorOptions,
  NtlmHandshakeState,
  NtlmSessionContext,
} from '../ntlm/acceptor.js';
import { NameMapper } from './name-mapping.js';
import type { NameMappingOptions } from './name-mapping.js';
import { classifyNegotiateToken } from './negotiate-token.js';
import { decodeNegTokenInit } from './neg-token-init.js';
import type { NegTokenInit } from './neg-token-init.js';
import { NEG_STATE, decodeNegTokenResp, encodeNegTokenResp } from './neg-token-resp.js';
import type { NegState, NegTokenResp } from './neg-token-resp.js';
import { ntlmSignature, ntlmVerifySignature } from './ntlm-mic.js';
import { mechanismOf } from './oids.js';
import type { NegotiateMechanism } from './oids.js';
import { resolvePersistence } from './persistence.js';
import type { NegotiatePersistenceOptions } from './persistence.js';

export interface NegotiateOptions extends NameMappingOptions, NegotiatePersistenceOptions {
  /** Keytab path ('FILE:' allowed) or a parsed Keytab; default KRB5_KTNAME, else /etc/krb5.keytab. */
  readonly keytab?: string | Keytab;
  /** Accepted service principals ('HTTP/host@REALM' or 'HTTP/host'); default: any in the keytab. */
  readonly principals?: readonly string[];
  /**
   * Realms whose users are this server's own (exact, case-sensitive): only their principals get
   * a bare `user` and a default local mapping. Default: the realms of the keytab's keys.
   */
  readonly localRealms?: readonly string[];
  /**
   * Realms trusted as intermediates on a transited path no KDC checked (RFC 4120 §3.3.3.2);
   * default none: such tickets are refused.
   */
  readonly transitedRealms?: readonly string[];
  /** Kerberos clock skew allowance (default 300 000 ms). */
  readonly clockSkewMs?: number;
  /** Accept RC4-HMAC tickets (default false). DES is never accepted. */
  readonly allowRc4?: boolean;
  /**
   * Channel bindings for both mechanisms: 'none', 'allow' or 'require'. Unset: Kerberos
   * 'allow', the NTLM fallback its own default ('require-over-tls'); `ntlm.channelBinding` wins.
   */
  readonly channelBinding?: { readonly mode: ChannelBindingMode };
  /** Never fall back to NTLM, even when `ntlm` is configured. */
  readonly kerberosOnly?: boolean;
  /**
   * Mechanisms allowed, in no particular order (the client's preference decides). Default:
   * Kerberos, plus NTLM when `ntlm` options are given and `kerberosOnly` is not set.
   */
  readonly mechanisms?: readonly NegotiateMechanism[];
  /**
   * Options for the NTLM fallback (credential source, `hostNames` for its target names); without
   * them NTLM is not offered.
   */
  readonly ntlm?: NtlmAcceptorOptions;
  /** Use this Kerberos acceptor instead of building one from the options above (tests). */
  readonly kerberosAcceptor?: KerberosAcceptor;
}

/** What a Negotiate package exposes besides the SecurityPackage interface. */
export interface NegotiatePackage extends SecurityPackage {
  readonly kerberos: KerberosAcceptor | undefined;
  readonly ntlm: NtlmAcceptor | undefined;
  readonly mechanisms: readonly NegotiateMechanism[];
}

/** The state an SPNEGO exchange keeps between legs in the connection's handshake slot. */
interface SpnegoState {
  readonly kind: 'negotiate-spnego';
  readonly mechanism: NegotiateMechanism;
  /** The OID as the client spelled it (echoed in supportedMech). */
  readonly mechOid: string;
  /** The client's MechTypeList DER, the data both mechListMICs cover. */
  readonly mechTypesDer: Buffer;
  readonly micRequired: boolean;
  /** NTLM between CHALLENGE and AUTHENTICATE. */
  readonly ntlm?: NtlmHandshakeState;
  /** The mechanism completed; only the client's mechListMIC is missing. */
  readonly completed?: CompletedMechanism;
}

/** A raw (non-SPNEGO) NTLM exchange under Negotiate. */
interface RawNtlmState {
  readonly kind: 'negotiate-raw-ntlm';
  readonly ntlm: NtlmHandshakeState;
}

/** A mechanism context that finished: who it is, and how to check and make MICs. */
interface CompletedMechanism {
  readonly principal: Principal;
  readonly context: SecurityContextData;
  readonly persist: boolean;
  verifyMic(token: Buffer, data: Buffer): boolean;
  getMic(data: Buffer): Buffer | undefined;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Strict base64 of the token68 (RFC 4559 §4 says base64), bounded before decoding. */
function decodeToken(token68: string | undefined): Buffer {
  if (token68 === undefined || token68.length === 0) fail('ERR_HTTPAUTH_SPNEGO_MALFORMED');
  if (token68.length > Math.ceil(MAX_DER_BYTES / 3) * 4 || !BASE64.test(token68)) {
    fail('ERR_HTTPAUTH_SPNEGO_MALFORMED');
  }
  if (token68.length % 4 !== 0) fail('ERR_HTTPAUTH_SPNEGO_MALFORMED');
  const bytes = Buffer.from(token68, 'base64');
  if (bytes.length === 0) fail('ERR_HTTPAUTH_SPNEGO_MALFORMED');
  return bytes;
}

function isSpnegoState(value: unknown): value is SpnegoState {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as SpnegoState).kind === 'negotiate-spnego'
  );
}

function isRawNtlmState(value: unknown): value is RawNtlmState {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as RawNtlmState).kind === 'negotiate-raw-ntlm'
  );
}

function resp(fields: NegTokenResp): string {
  return encodeNegTokenResp(fields).toString('base64');
}

export function negotiate(options: NegotiateOptions = {}): NegotiatePackage {
  if (options === null || typeof options !== 'object') fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  const kerberosOnly = options.kerberosOnly === true;
  const defaultMechanisms: NegotiateMechanism[] = ['kerberos'];
  if (options.ntlm !== undefined && !kerberosOnly) defaultMechanisms.push('ntlm');
  const requested = options.mechanisms ?? defaultMechanisms;
  if (!Array.isArray(requested) || requested.length === 0) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  for (const mechanism of requested) {
    if (mechanism !== 'kerberos' && mechanism !== 'ntlm') fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const mechanisms = [...new Set(requested)].filter((m) => !(kerberosOnly && m === 'ntlm'));
  if (mechanisms.length === 0) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  // NTLM needs a credential source: asking for it without one is a configuration error.
  if (mechanisms.includes('ntlm') && options.ntlm === undefined) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const bindingMode = options.channelBinding?.mode;

  const kerberos = mechanisms.includes('kerberos')
    ? (options.kerberosAcceptor ??
      new KerberosAcceptor({
        ...(options.keytab === undefined ? {} : { keytab: options.keytab }),
        ...(options.principals === undefined ? {} : { principals: options.principals }),
        ...(options.localRealms === undefined ? {} : { localRealms: options.localRealms }),
        ...(options.transitedRealms === undefined
          ? {}
          : { transitedRealms: options.transitedRealms }),
        ...(options.clockSkewMs === undefined ? {} : { clockSkewMs: options.clockSkewMs }),
        ...(options.allowRc4 === undefined ? {} : { allowRc4: options.allowRc4 }),
        ...(bindingMode === undefined ? {} : { channelBinding: { mode: bindingMode } }),
      }))
    : undefined;
  const ntlmAcceptor =
    mechanisms.includes('ntlm') && options.ntlm !== undefined
      ? new NtlmAcceptor({
          ...options.ntlm,
          ...(options.ntlm.channelBinding === undefined && bindingMode !== undefined
            ? { channelBinding: { mode: bindingMode } }
            : {}),
        })
      : undefined;
  const { ntlm: persistNtlm, kerberos: persistKerberos } = resolvePersistence(options);
  const names = new NameMapper(options);

  function allowed(mechanism: NegotiateMechanism, context: AcceptContext): boolean {
    if (mechanism === 'kerberos') return kerberos !== undefined;
    // NTLM spans requests: only with a connection to keep its state on (HTTP/1.x).
    return ntlmAcceptor !== undefined && context.handshake !== undefined;
  }

  function kerberosCompleted(result: KerberosAcceptResult & { ok: true }): CompletedMechanism {
    const base = result.principal;
    const { components, realm } = parsePrincipal(base.name);
    const principal: Principal = {
      ...base,
      user: names.mapKerberos(components, realm ?? '', base.name, base.localRealm === true),
    };
    const key: KerberosKey = result.sessionKey;
    const context: SecurityContextData = {
      sessionKey: Buffer.from(key.bytes),
      /** The context key's enctype (RFC 3961 number): the ticket's session key or a subkey. */
      enctype: key.enctype,
      gssFlags: result.gssFlags,
      mechanism: 'Kerberos',
      mechOid: result.mechOid,
      servicePrincipal: result.servicePrincipal,
      ...(result.delegatedCredential === undefined
        ? {}
        : { delegatedCredential: result.delegatedCredential }),
    };
    return {
      principal,
      context,
      persist: persistKerberos,
      // The initiator's MIC: usage 25 with the context key (RFC 4121 §2, §4.2.6.1).
      verifyMic: (token, data) => gssVerifyMic(key, token, data, { fromAcceptor: false }),
      getMic: (data) => {
        try {
          return gssGetMic(key, data, {
            acceptor: true,
            acceptorSubkey: result.acceptorSubkey,
            // RFC 4121 §4.2.6.1: our first SND_SEQ is the AP-REP's seq-number; MIT initiators
            // that asked for sequencing check it.
            seq: BigInt(result.acceptorSeqNumber),
          });
        } catch (error) {
          if (isHttpAuthError(error)) return undefined;
          throw error;
        }
      },
    };
  }

  function ntlmCompleted(principal: Principal, context: NtlmSessionContext): CompletedMechanism {
    return {
      principal: { ...principal, user: names.mapNtlm(principal.user, principal.name) },
      context: { ...context, mechanism: 'NTLM' },
      persist: persistNtlm,
      verifyMic: (token, data) =>
        ntlmVerifySignature(
          {
            negotiatedFlags: context.negotiatedFlags,
            signingKey: context.clientSigningKey,
            sealingKey: context.clientSealingKey,
          },
          token,
          data,
        ),
      getMic: (data) =>
        ntlmSignature(
          {
            negotiatedFlags: context.negotiatedFlags,
            signingKey: context.serverSigningKey,
            sealingKey: context.serverSealingKey,
          },
          data,
        ),
    };
  }

  /** Record in the context that both mechListMICs were exchanged and the client's verified. */
  function withMicVerified(done: CompletedMechanism): CompletedMechanism {
    return { ...done, context: { ...done.context, mechListMicVerified: true } };
  }

  function complete(done: CompletedMechanism, token: string | undefined): AcceptResult {
    return {
      type: 'complete',
      principal: done.principal,
      context: done.context,
      ...(token === undefined ? {} : { token }),
      ...(done.persist ? { persist: true } : {}),
    };
  }

  /**
   * A mechanism finished inside SPNEGO: settle the mechListMIC (RFC 4178 §5) and answer.
   * `mechToken` is the mechanism's last token for the client (an AP-REP), if any.
   */
  function finishSpnego(
    done: CompletedMechanism,
    state: Omit<SpnegoState, 'kind' | 'completed' | 'ntlm'>,
    clientMic: Buffer | undefined,
    mechToken: Buffer | undefined,
    firstReply: boolean,
    context: AcceptContext,
  ): AcceptResult {
    const supportedMech = firstReply ? state.mechOid : undefined;
    const micNeeded = state.micRequired || clientMic !== undefined;
    if (!micNeeded) {
      return complete(
        done,
        resp({
          negState: NEG_STATE.acceptCompleted,
          ...(supportedMech === undefined ? {} : { supportedMech }),
          ...(mechToken === undefined ? {} : { responseToken: mechToken }),
        }),
      );
    }
    const ourMic = done.getMic(state.mechTypesDer);
    if (ourMic === undefined) fail('ERR_HTTPAUTH_SPNEGO_MIC_INVALID');
    if (clientMic !== undefined) {
      if (!done.verifyMic(clientMic, state.mechTypesDer)) fail('ERR_HTTPAUTH_SPNEGO_MIC_INVALID');
      return complete(
        withMicVerified(done),
        resp({
          negState: NEG_STATE.acceptCompleted,
          ...(supportedMech === undefined ? {} : { supportedMech }),
          ...(mechToken === undefined ? {} : { responseToken: mechToken }),
          mechListMIC: ourMic,
        }),
      );
    }
    // The client's MIC is required but cannot have come yet when it still needed our last
    // mechanism token (a Kerberos AP-REP): send ours and wait for its MIC in one more leg.
    // A client whose mechanism was already complete (NTLM after AUTHENTICATE) had to send it.
    if (mechToken === undefined || context.handshake === undefined) {
      fail('ERR_HTTPAUTH_SPNEGO_MIC_INVALID');
    }
    context.handshake.set({ ...state, kind: 'negotiate-spnego', completed: done });
    return {
      type: 'continue',
      token: resp({
        negState: NEG_STATE.acceptIncomplete,
        ...(supportedMech === undefined ? {} : { supportedMech }),
        responseToken: mechToken,
        mechListMIC: ourMic,
      }),
    };
  }

  /** A Kerberos failure: a KRB-ERROR token goes back in the 401's Negotiate challenge. */
  function kerberosRejected(
    result: KerberosAcceptResult & { ok: false },
    wrap: ((token: Buffer) => string) | undefined,
  ): AcceptResult {
    if (result.responseToken === undefined) return { type: 'reject', error: result.error };
    const token =
      wrap === undefined ? result.responseToken.toString('base64') : wrap(result.responseToken);
    return { type: 'reject', error: result.error, challenges: [`Negotiate ${token}`] };
  }

  async function runKerberos(token: Buffer, context: AcceptContext): Promise<KerberosAcceptResult> {
    if (kerberos === undefined) fail('ERR_HTTPAUTH_SPNEGO_NO_MECH');
    return kerberos.accept(token, {
      store: context.store,
      now: context.now,
      channelBinding: context.channelBinding,
    });
  }

  async function acceptRawKerberos(token: Buffer, context: AcceptContext): Promise<AcceptResult> {
    const result = await runKerberos(token, context);
    if (!result.ok) return kerberosRejected(result, undefined);
    const done = kerberosCompleted(result);
    return complete(done, result.responseToken?.toString('base64'));
  }

  async function acceptRawNtlm(token: Buffer, context: AcceptContext): Promise<AcceptResult> {
    if (ntlmAcceptor === undefined) fail('ERR_HTTPAUTH_SPNEGO_NO_MECH');
    if (context.handshake === undefined) fail('ERR_HTTPAUTH_CONNECTION_REQUIRED');
    const pending = context.handshake.get();
    const result = await ntlmAcceptor.step(
      token,
      isRawNtlmState(pending) ? pending.ntlm : undefined,
      { now: context.now, channelBinding: context.channelBinding },
    );
    if (result.type === 'continue') {
      context.handshake.set({ kind: 'negotiate-raw-ntlm', ntlm: result.state });
      return { type: 'continue', token: result.token.toString('base64') };
    }
    context.handshake.clear();
    return complete(ntlmCompleted(result.principal, result.context), undefined);
  }

  /** Pick the first of the client's mechanisms that we allow, with its index in the list. */
  function select(
    init: NegTokenInit,
    context: AcceptContext,
  ): { mechanism: NegotiateMechanism; mechOid: string; index: number } {
    for (let index = 0; index < init.mechTypes.length; index++) {
      const mechOid = init.mechTypes[index] as string;
      const mechanism = mechanismOf(mechOid);
      if (mechanism !== undefined && allowed(mechanism, context)) {
        return { mechanism, mechOid, index };
      }
    }
    fail('ERR_HTTPAUTH_SPNEGO_NO_MECH');
  }

  async function acceptInit(token: Buffer, context: AcceptContext): Promise<AcceptResult> {
    const init = decodeNegTokenInit(token);
    const { mechanism, mechOid, index } = select(init, context);
    const state = {
      mechanism,
      mechOid,
      mechTypesDer: init.mechTypesDer,
      // RFC 4178 §5: a choice other than the client's first must be confirmed by both MICs.
      micRequired: index !== 0,
    };
    const optimistic = index === 0 ? init.mechToken : undefined;

    if (optimistic === undefined) {
      // Ask for a token of the chosen mechanism (RFC 4178 §4.2.2: request-mic when MICs will be
      // required). The next leg needs this exchange's state.
      if (context.handshake === undefined) fail('ERR_HTTPAUTH_CONNECTION_REQUIRED');
      context.handshake.set({ kind: 'negotiate-spnego', ...state });
      const negState: NegState = state.micRequired
        ? NEG_STATE.requestMic
        : NEG_STATE.acceptIncomplete;
      return { type: 'continue', token: resp({ negState, supportedMech: mechOid }) };
    }

    if (mechanism === 'kerberos') {
      const result = await runKerberos(optimistic, context);
      if (!result.ok) {
        return kerberosRejected(result, (krbError) =>
          resp({ negState: NEG_STATE.reject, supportedMech: mechOid, responseToken: krbError }),
        );
      }
      return finishSpnego(
        kerberosCompleted(result),
        state,
        init.mechListMIC,
        result.responseToken,
        true,
        context,
      );
    }
    return ntlmLeg(optimistic, undefined, state, init.mechListMIC, true, context);
  }

  async function ntlmLeg(
    message: Buffer,
    ntlmState: NtlmHandshakeState | undefined,
    state: Omit<SpnegoState, 'kind' | 'completed' | 'ntlm'>,
    clientMic: Buffer | undefined,
    firstReply: boolean,
    context: AcceptContext,
  ): Promise<AcceptResult> {
    if (ntlmAcceptor === undefined || context.handshake === undefined) {
      fail('ERR_HTTPAUTH_SPNEGO_NO_MECH');
    }
    const result = await ntlmAcceptor.step(message, ntlmState, {
      now: context.now,
      channelBinding: context.channelBinding,
    });
    const supportedMech = firstReply ? state.mechOid : undefined;
    if (result.type === 'continue') {
      context.handshake.set({ kind: 'negotiate-spnego', ...state, ntlm: result.state });
      return {
        type: 'continue',
        token: resp({
          negState: NEG_STATE.acceptIncomplete,
          ...(supportedMech === undefined ? {} : { supportedMech }),
          responseToken: result.token,
        }),
      };
    }
    context.handshake.clear();
    // MS-SPNG §3.3.5.1: an AUTHENTICATE carrying an NTLM MIC obliges the SPNEGO mechListMIC too.
    const done = ntlmCompleted(result.principal, result.context);
    const micRequired = state.micRequired || result.context.micVerified;
    return finishSpnego(done, { ...state, micRequired }, clientMic, undefined, firstReply, context);
  }

  async function acceptResp(token: Buffer, context: AcceptContext): Promise<AcceptResult> {
    const message = decodeNegTokenResp(token);
    // MIT initiators answer our reject (a KRB-ERROR) with a reject of their own: the end of
    // that negotiation, whether or not any state is left for it.
    if (message.negState === NEG_STATE.reject) fail('ERR_HTTPAUTH_SPNEGO_REJECTED');
    const pending = context.handshake?.get();
    if (context.handshake === undefined || !isSpnegoState(pending)) {
      fail('ERR_HTTPAUTH_HANDSHAKE_EXPIRED');
    }
    const { kind: _kind, completed, ntlm: ntlmState, ...state } = pending;

    if (completed !== undefined) {
      // Last leg: only the client's mechListMIC was missing.
      const mic = message.mechListMIC;
      if (mic === undefined || !completed.verifyMic(mic, state.mechTypesDer)) {
        fail('ERR_HTTPAUTH_SPNEGO_MIC_INVALID');
      }
      context.handshake.clear();
      return complete(withMicVerified(completed), resp({ negState: NEG_STATE.acceptCompleted }));
    }
    const mechToken = message.responseToken;
    if (mechToken === undefined) fail('ERR_HTTPAUTH_SPNEGO_MALFORMED');

    if (state.mechanism === 'kerberos') {
      context.handshake.clear();
      const result = await runKerberos(mechToken, context);
      if (!result.ok) {
        return kerberosRejected(result, (krbError) =>
          resp({ negState: NEG_STATE.reject, responseToken: krbError }),
        );
      }
      return finishSpnego(
        kerberosCompleted(result),
        state,
        message.mechListMIC,
        result.responseToken,
        false,
        context,
      );
    }
    return ntlmLeg(mechToken, ntlmState, state, message.mechListMIC, false, context);
  }

  return {
    name: 'Negotiate',
    scheme: 'Negotiate',
    connectionBound: false,
    kerberos,
    ntlm: ntlmAcceptor,
    mechanisms,
    challenges(_request: AuthRequest): readonly string[] {
      return ['Negotiate'];
    },
    async accept(credentials: Credentials, context: AcceptContext): Promise<AcceptResult> {
      try {
        const token = decodeToken(credentials.token68);
        switch (classifyNegotiateToken(token)) {
          case 'kerberos':
            context.handshake?.clear();
            return await acceptRawKerberos(token, context);
          case 'ntlm':
            return await acceptRawNtlm(token, context);
          case 'spnego-init':
            context.handshake?.clear();
            return await acceptInit(token, context);
          case 'spnego-resp':
            return await acceptResp(token, context);
        }
      } catch (error) {
        context.handshake?.clear();
        if (!isHttpAuthError(error)) {
          return {
            type: 'reject',
            error: new HttpAuthError('ERR_HTTPAUTH_INTERNAL', { cause: error }),
          };
        }
        return { type: 'reject', error };
      }
    },
  };
}
