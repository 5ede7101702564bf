/**
 * The HTTP `Negotiate` security package (RFC 4559) over SPNEGO (RFC 4178), choosing between
 * Kerberos and NTLM as Windows' Negotiate SSP does. Both mechanisms are driven through one
 * MechanismContext interface (../mechanism.ts).
 *
 * What a client may send after `Authorization: Negotiate`, and what we answer in the same form:
 *  - an SPNEGO NegTokenInit (curl, browsers, Windows) or a later NegTokenResp (NTLM's
 *    AUTHENTICATE, a mechListMIC, a token for the mechanism we chose): spnego-exchange.ts;
 *  - a raw Kerberos GSS token (requests-kerberos) or a raw NTLMSSP message: handled by that
 *    mechanism alone, answered raw (below).
 *
 * Kerberos is one round trip and keeps no state. NTLM, and any SPNEGO exchange longer than one
 * leg, keep their state (spnego-state.ts) in the connection's handshake slot (HTTP/1.1 only):
 * without one, NTLM is not selectable and a multi-leg SPNEGO exchange is refused.
 */
import { isHttpAuthError, fail, HttpAuthError } from '../errors.js';
import type { ChannelBindingMode } from '../channel-binding.js';
import type {
  AcceptContext,
  AcceptResult,
  AuthRequest,
  Credentials,
  SecurityPackage,
} from '../security-package.js';
import type { MechanismContext, MechanismName, MechanismStep } from '../mechanism.js';
import { MAX_DER_BYTES } from '../asn1/der.js';
import { decodeStrictBase64 } from '../grammar/base64.js';
import { KerberosAcceptor } from '../kerberos/acceptor.js';
import { createKerberosContext } from '../kerberos/mechanism-context.js';
import { NtlmAcceptor } from '../ntlm/acceptor.js';
import type { NtlmAcceptorOptions } from '../ntlm/acceptor.js';
import { createNtlmContext } from '../ntlm/mechanism-context.js';
import { completedResult, rejectedResult } from './completion.js';
import type { CompletionPolicy } from './completion.js';
import { NameMapper } from './name-mapping.js';
import type { NameMappingOptions } from './name-mapping.js';
import { classifyNegotiateToken } from './negotiate-token.js';
import type { NegotiateMechanism } from './oids.js';
import { SpnegoAcceptor, stepFacts } from './spnego-exchange.js';
import { connectionState } from './spnego-state.js';
import { kerberosAcceptorOptions } from './kerberos-options.js';
import { persistence, withoutPersistence } from './persistence.js';
import type { LegacyPersistenceOptions, PersistenceOption } from './persistence.js';
import type { LegacyKerberosOptions, NegotiateKerberosOptions } from './kerberos-options.js';

export type { NegotiateKerberosOptions } from './kerberos-options.js';

/**
 * Options of {@link negotiate}: the Kerberos acceptor, the optional NTLM fallback, the mechanisms
 * allowed, channel binding for both, and how principal names map to user names.
 */
export interface NegotiateOptions
  extends NameMappingOptions, LegacyKerberosOptions, LegacyPersistenceOptions {
  /**
   * The Kerberos mechanism: keytab, accepted principals, local and transited realms, clock
   * skew, RC4, ticket cache (kerberos/acceptor.ts), or a ready `acceptor`; and
   * `persistOnConnection` (default false: every request proves itself; true keeps the
   * connection authenticated, IIS's authPersistNonNTLM, safe only where no proxy in front shares
   * one backend connection among several users).
   */
  readonly kerberos?: NegotiateKerberosOptions;
  /**
   * Channel bindings for both mechanisms: 'none', 'allow' or 'require'. Unset: Kerberos
   * 'allow', the NTLM fallback its own default ('require-over-tls'); `kerberos.channelBinding`
   * and `ntlm.channelBinding` win.
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
  readonly ntlm?: NegotiateNtlmOptions;
}

/**
 * `negotiate({ ntlm: {...} })`: the NTLM acceptor's options, and `persistOnConnection` (default
 * true: keep the connection authenticated after an NTLM handshake, as IIS does).
 */
export interface NegotiateNtlmOptions extends NtlmAcceptorOptions, PersistenceOption {}

/** What a Negotiate package exposes besides the SecurityPackage interface. */
export interface NegotiatePackage extends SecurityPackage {
  readonly kerberos: KerberosAcceptor | undefined;
  readonly ntlm: NtlmAcceptor | undefined;
  readonly mechanisms: readonly NegotiateMechanism[];
}

/** Strict base64 of the token68 (RFC 4559 §4 says base64), bounded before decoding. */
function decodeToken(token68: string | undefined): Buffer {
  if (token68 === undefined || token68.length === 0) fail('ERR_HTTPAUTH_SPNEGO_MALFORMED');
  if (token68.length > Math.ceil(MAX_DER_BYTES / 3) * 4) fail('ERR_HTTPAUTH_SPNEGO_MALFORMED');
  return decodeStrictBase64(token68) ?? fail('ERR_HTTPAUTH_SPNEGO_MALFORMED');
}

/** The allowed mechanisms from the options; ERR_HTTPAUTH_INVALID_OPTIONS when none is usable. */
function allowedMechanisms(options: NegotiateOptions): MechanismName[] {
  const kerberosOnly = options.kerberosOnly === true;
  const defaultMechanisms: MechanismName[] = ['kerberos'];
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
  return mechanisms;
}

/**
 * The `Negotiate` security package (RFC 4559, SPNEGO RFC 4178) for `createAuthenticator({ packages
 * })`: Kerberos, and NTLM when `ntlm` options are given, whether the client sends SPNEGO or a raw
 * token. Throws `ERR_HTTPAUTH_INVALID_OPTIONS` when no mechanism is usable, or NTLM is asked for
 * without `ntlm` options.
 */
export function negotiate(options: NegotiateOptions = {}): NegotiatePackage {
  if (options === null || typeof options !== 'object') fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  const mechanisms = allowedMechanisms(options);
  const bindingMode = options.channelBinding?.mode;
  const kerberosOptions = kerberosAcceptorOptions(options);
  const kerberos = mechanisms.includes('kerberos')
    ? (kerberosOptions.acceptor ??
      new KerberosAcceptor({
        ...(bindingMode === undefined ? {} : { channelBinding: { mode: bindingMode } }),
        ...kerberosOptions.options,
      }))
    : undefined;
  const ntlmAcceptor =
    mechanisms.includes('ntlm') && options.ntlm !== undefined
      ? new NtlmAcceptor({
          ...withoutPersistence(options.ntlm),
          ...(options.ntlm.channelBinding === undefined && bindingMode !== undefined
            ? { channelBinding: { mode: bindingMode } }
            : {}),
        })
      : undefined;
  const policy: CompletionPolicy = {
    names: new NameMapper(options),
    persistOnConnection: persistence(options),
  };

  function create(mechanism: MechanismName): MechanismContext {
    if (mechanism === 'kerberos' && kerberos !== undefined) return createKerberosContext(kerberos);
    if (mechanism === 'ntlm' && ntlmAcceptor !== undefined) return createNtlmContext(ntlmAcceptor);
    fail('ERR_HTTPAUTH_SPNEGO_NO_MECH');
  }

  /** Completion phase: the package's answer once `mech` completed (see completion.ts). */
  function completed(
    mech: MechanismContext,
    token: string | undefined,
    mechListMicVerified: boolean,
  ): AcceptResult {
    const completion = mech.completion;
    if (completion === undefined) fail('ERR_HTTPAUTH_INTERNAL');
    return completedResult(mech.mechanism, completion, token, mechListMicVerified, policy);
  }

  const spnego = new SpnegoAcceptor({
    allowed(mechanism: MechanismName, context: AcceptContext): boolean {
      if (mechanism === 'kerberos') return kerberos !== undefined;
      // NTLM spans requests: only with a connection to keep its state on (HTTP/1.x).
      return ntlmAcceptor !== undefined && context.handshake !== undefined;
    },
    configured(mechanism: MechanismName): boolean {
      return mechanism === 'kerberos' ? kerberos !== undefined : ntlmAcceptor !== undefined;
    },
    create,
    completed,
    rejected: rejectedResult,
  });

  /** A raw Kerberos GSS token: one leg, answered with a raw AP-REP or KRB-ERROR. */
  function acceptRawKerberos(
    token: Buffer,
    context: AcceptContext,
  ): AcceptResult | Promise<AcceptResult> {
    const mech = create('kerberos');
    const step = mech.step(token, stepFacts(context));
    return step instanceof Promise
      ? step.then((s) => rawKerberosAnswer(mech, s))
      : rawKerberosAnswer(mech, step);
  }

  function rawKerberosAnswer(mech: MechanismContext, step: MechanismStep): AcceptResult {
    if (step.type === 'reject') return rejectedResult(step, undefined);
    if (step.type === 'continue') fail('ERR_HTTPAUTH_GSS_MALFORMED');
    return completed(mech, step.token?.toString('base64'), false);
  }

  /** A raw NTLMSSP message: the NTLM handshake without SPNEGO, answered raw. */
  async function acceptRawNtlm(token: Buffer, context: AcceptContext): Promise<AcceptResult> {
    if (ntlmAcceptor === undefined) fail('ERR_HTTPAUTH_SPNEGO_NO_MECH');
    if (context.handshake === undefined) fail('ERR_HTTPAUTH_CONNECTION_REQUIRED');
    const pending = connectionState(context.handshake.get());
    const mech = pending?.kind === 'raw-ntlm' ? pending.mech : create('ntlm');
    const step = await mech.step(token, stepFacts(context));
    if (step.type === 'continue') {
      context.handshake.set({ kind: 'raw-ntlm', mech });
      return { type: 'continue', token: step.token.toString('base64') };
    }
    context.handshake.clear();
    if (step.type === 'reject') return rejectedResult(step, undefined);
    return completed(mech, undefined, false);
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
    accept(credentials: Credentials, context: AcceptContext): AcceptResult | Promise<AcceptResult> {
      // Answered at once when nothing waits (Kerberos with an in-process replay cache): no
      // promise on the engine's hot path. A refusal thrown now or rejected later is the same
      // `reject` (refusedAnswer).
      try {
        const answer = acceptToken(decodeToken(credentials.token68), context);
        return answer instanceof Promise
          ? answer.catch((error: unknown) => refusedAnswer(error, context))
          : answer;
      } catch (error) {
        return refusedAnswer(error, context);
      }
    },
  };

  function acceptToken(
    token: Buffer,
    context: AcceptContext,
  ): AcceptResult | Promise<AcceptResult> {
    switch (classifyNegotiateToken(token)) {
      case 'kerberos':
        context.handshake?.clear();
        return acceptRawKerberos(token, context);
      case 'ntlm':
        return acceptRawNtlm(token, context);
      case 'spnego-init':
        context.handshake?.clear();
        return spnego.init(token, context);
      case 'spnego-resp':
        return spnego.next(token, context);
    }
  }
}

/** A refusal while accepting a token: the connection's pending handshake ends with it. */
function refusedAnswer(error: unknown, context: AcceptContext): AcceptResult {
  context.handshake?.clear();
  if (!isHttpAuthError(error)) {
    return { type: 'reject', error: new HttpAuthError('ERR_HTTPAUTH_INTERNAL', { cause: error }) };
  }
  return { type: 'reject', error };
}
