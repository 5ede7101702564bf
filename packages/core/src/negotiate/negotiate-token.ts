/**
 * What arrived after `Authorization: Negotiate`: RFC 4559 §4 says an SPNEGO token, but real
 * clients also send a bare mechanism token (requests-kerberos sends the Kerberos GSS token
 * itself; some NTLM clients send NTLMSSP messages under Negotiate). Classify by the first bytes,
 * without decoding further: each form has its own decoder.
 */
import { fail } from '../errors.js';
import { decodeInitialContextToken } from './initial-context-token.js';
import { KRB5_OID, MS_KRB5_OID, SPNEGO_OID } from './oids.js';
import { NEG_TOKEN_RESP_TAG } from './neg-token-resp.js';

/** What a `Negotiate` token carries (RFC 4559 §4), as {@link classifyNegotiateToken} tells it. */
export type NegotiateTokenKind =
  /** RFC 2743 framing with the SPNEGO OID: a NegTokenInit. */
  | 'spnego-init'
  /** A bare [1] NegTokenResp: a later leg of an SPNEGO exchange. */
  | 'spnego-resp'
  /** RFC 2743 framing with a Kerberos OID: a raw Kerberos initial token (AP-REQ). */
  | 'kerberos'
  /** An NTLMSSP message (MS-NLMP §2.2: signature "NTLMSSP\0"). */
  | 'ntlm';

const NTLMSSP_SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');

/**
 * Tells from its first bytes what a decoded `Authorization: Negotiate` token is: SPNEGO first or
 * later leg, a raw Kerberos token or a raw NTLMSSP message. Throws `ERR_HTTPAUTH_SPNEGO_NO_MECH`
 * for an RFC 2743 token of another mechanism and `ERR_HTTPAUTH_SPNEGO_MALFORMED` for anything else.
 */
export function classifyNegotiateToken(token: Buffer): NegotiateTokenKind {
  if (token.length >= 8 && token.subarray(0, 8).equals(NTLMSSP_SIGNATURE)) return 'ntlm';
  const first = token[0];
  if (first === NEG_TOKEN_RESP_TAG) return 'spnego-resp';
  if (first === 0x60) {
    let mechOid: string;
    try {
      mechOid = decodeInitialContextToken(token).mechOid;
    } catch (error) {
      fail('ERR_HTTPAUTH_SPNEGO_MALFORMED', error);
    }
    if (mechOid === SPNEGO_OID) return 'spnego-init';
    if (mechOid === KRB5_OID || mechOid === MS_KRB5_OID) return 'kerberos';
    fail('ERR_HTTPAUTH_SPNEGO_NO_MECH');
  }
  fail('ERR_HTTPAUTH_SPNEGO_MALFORMED');
}
