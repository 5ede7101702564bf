/**
 * What a Negotiate exchange keeps between legs in the connection's handshake slot, as a tagged
 * union: each kind is one point where the server waits for the client's next token.
 *
 *   raw-ntlm             a raw NTLMSSP exchange (no SPNEGO), after our CHALLENGE
 *   awaiting-mech-token  we answered a NegTokenInit without running a mechanism (the client's
 *                        optimistic token was for another mechanism, or it sent none): the next
 *                        NegTokenResp carries the first token of the mechanism we chose
 *   mech-continue        the chosen mechanism is mid-handshake (NTLM after CHALLENGE)
 *   awaiting-mic         the mechanism completed and we sent our mechListMIC; only the client's
 *                        is missing (RFC 4178 §5, a Kerberos AP-REP leg)
 *
 * Kerberos alone is one leg and leaves nothing here. The slot is in-memory and per connection.
 */
import type { MechanismContext, MechanismName } from '../mechanism.js';

/** The facts of one SPNEGO negotiation that every later leg needs. */
export interface SpnegoExchange {
  readonly mechanism: MechanismName;
  /** The OID as the client spelled it (echoed in supportedMech). */
  readonly mechOid: string;
  /** The client's MechTypeList DER, the data both mechListMICs cover (RFC 4178 §5). */
  readonly mechTypesDer: Buffer;
  /** Both mechListMICs must be exchanged (a non-first choice, or the mechanism demands it). */
  readonly micRequired: boolean;
}

export type NegotiateConnectionState =
  | { readonly kind: 'raw-ntlm'; readonly mech: MechanismContext }
  | { readonly kind: 'awaiting-mech-token'; readonly exchange: SpnegoExchange }
  | {
      readonly kind: 'mech-continue';
      readonly exchange: SpnegoExchange;
      readonly mech: MechanismContext;
    }
  | {
      readonly kind: 'awaiting-mic';
      readonly exchange: SpnegoExchange;
      readonly mech: MechanismContext;
    };

/** The SPNEGO states (every kind but raw-ntlm). */
export type SpnegoState = Exclude<NegotiateConnectionState, { kind: 'raw-ntlm' }>;

const KINDS: ReadonlySet<string> = new Set([
  'raw-ntlm',
  'awaiting-mech-token',
  'mech-continue',
  'awaiting-mic',
]);

/** The slot's value when it is one of ours, else undefined. */
export function connectionState(value: unknown): NegotiateConnectionState | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const kind = (value as { kind?: unknown }).kind;
  return typeof kind === 'string' && KINDS.has(kind)
    ? (value as NegotiateConnectionState)
    : undefined;
}
