/**
 * GSS-API mechanism OIDs that SPNEGO negotiates between (RFC 4178, RFC 4121, MS-SPNG, MS-NLMP).
 * Values as in the project's test vectors (kerberos-crypto.json, GSS-API section).
 */
import type { MechanismName } from '../mechanism.js';

/** SPNEGO itself: the OID in the RFC 2743 framing of a NegTokenInit (RFC 4178 §4.2). */
export const SPNEGO_OID = '1.3.6.1.5.5.2';
/** Kerberos V5 GSS-API mechanism (RFC 1964 / RFC 4121). */
export const KRB5_OID = '1.2.840.113554.1.2.2';
/**
 * The same Kerberos mechanism under the OID early Windows used by mistake (MS-KILE §3.1.5.x):
 * Windows still lists it first, and expects it echoed in supportedMech when it is chosen.
 */
export const MS_KRB5_OID = '1.2.840.48018.1.2.2';
/** NTLMSSP (MS-NLMP). */
export const NTLMSSP_OID = '1.3.6.1.4.1.311.2.2.10';
/** NegoEx (MS-NEGOEX): recognised only so it can be skipped in a client's list. */
export const NEGOEX_OID = '1.3.6.1.4.1.311.2.2.30';

/** The mechanisms SPNEGO chooses between (the same names as MechanismContext's). */
export type NegotiateMechanism = MechanismName;

/** The mechanism family an OID names, or undefined for one we never select. */
export function mechanismOf(oid: string): NegotiateMechanism | undefined {
  if (oid === KRB5_OID || oid === MS_KRB5_OID) return 'kerberos';
  if (oid === NTLMSSP_OID) return 'ntlm';
  return undefined;
}
