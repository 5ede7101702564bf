/**
 * KRB-ERROR codes a KDC sends (RFC 4120 §7.5.9, RFC 6113 §7.5) and the stable error each becomes.
 * Unknown user and wrong password give the same code, so a client cannot enumerate accounts
 * (the KDC's own code stays in the operator-only `reason`).
 */
import { HttpAuthError, type ErrorCode } from '../../errors.js';
import type { KrbError } from '../messages/krb-error.js';

export const KdcErrorCode = {
  KDC_ERR_C_PRINCIPAL_UNKNOWN: 6,
  KDC_ERR_S_PRINCIPAL_UNKNOWN: 7,
  KDC_ERR_POLICY: 12,
  KDC_ERR_BADOPTION: 13,
  KDC_ERR_ETYPE_NOSUPP: 14,
  KDC_ERR_CLIENT_REVOKED: 18,
  KDC_ERR_SERVICE_REVOKED: 19,
  KDC_ERR_TGT_REVOKED: 20,
  KDC_ERR_CLIENT_NOTYET: 21,
  KDC_ERR_KEY_EXPIRED: 23,
  KDC_ERR_PREAUTH_FAILED: 24,
  KDC_ERR_PREAUTH_REQUIRED: 25,
  KRB_AP_ERR_BAD_INTEGRITY: 31,
  KRB_AP_ERR_MODIFIED: 41,
  KRB_AP_ERR_SKEW: 37,
  KRB_ERR_RESPONSE_TOO_BIG: 52,
  KRB_ERR_GENERIC: 60,
  KDC_ERR_WRONG_REALM: 68,
} as const;

const NAMES = new Map<number, string>(Object.entries(KdcErrorCode).map(([k, v]) => [v, k]));

/** 'KDC_ERR_PREAUTH_FAILED (24)', or 'KRB-ERROR 99' for codes without a name here. */
export function kdcErrorName(code: number): string {
  const name = NAMES.get(code);
  return name === undefined ? `KRB-ERROR ${code}` : `${name} (${code})`;
}

/** What the user's password or account caused; everything else is the KDC's or ours. */
const USER_ERRORS: ReadonlyMap<number, ErrorCode> = new Map<number, ErrorCode>([
  [KdcErrorCode.KDC_ERR_C_PRINCIPAL_UNKNOWN, 'ERR_HTTPAUTH_BAD_CREDENTIALS'],
  [KdcErrorCode.KDC_ERR_PREAUTH_FAILED, 'ERR_HTTPAUTH_BAD_CREDENTIALS'],
  // Heimdal and old KDCs answer a wrong encrypted timestamp with this one.
  [KdcErrorCode.KRB_AP_ERR_BAD_INTEGRITY, 'ERR_HTTPAUTH_BAD_CREDENTIALS'],
  [KdcErrorCode.KDC_ERR_CLIENT_REVOKED, 'ERR_HTTPAUTH_ACCOUNT_LOCKED'],
  [KdcErrorCode.KDC_ERR_CLIENT_NOTYET, 'ERR_HTTPAUTH_ACCOUNT_LOCKED'],
  [KdcErrorCode.KDC_ERR_KEY_EXPIRED, 'ERR_HTTPAUTH_PASSWORD_EXPIRED'],
]);

/**
 * Where a KRB-ERROR came from: the AS exchange, a TGS exchange with a TGT of the KDC's own realm,
 * or one with a cross-realm TGT that another realm's KDC issued (`TGS-XREALM`).
 */
export type KdcPhase = 'AS' | 'TGS' | 'TGS-XREALM';

/** The HttpAuthError for a KRB-ERROR received during `phase`. */
export function errorFromKrbError(error: KrbError, phase: KdcPhase): HttpAuthError {
  const reason = `${phase}: ${kdcErrorName(error.errorCode)}`;
  // A cross-realm TGT that the next realm's KDC cannot decrypt (RFC 4120 §3.3.1: it is sealed
  // with the inter-realm key) was not issued by that realm's partner: a spoofed KDC of the
  // user's realm, or inter-realm keys that differ. Either way nothing it said can be believed.
  if (
    phase === 'TGS-XREALM' &&
    (error.errorCode === KdcErrorCode.KRB_AP_ERR_BAD_INTEGRITY ||
      error.errorCode === KdcErrorCode.KRB_AP_ERR_MODIFIED)
  ) {
    return new HttpAuthError('ERR_HTTPAUTH_KDC_UNVERIFIED', { reason });
  }
  // In the TGS phase the client is already authenticated: a revoked or unknown client there is
  // still the account's state, but an unknown *service* is the server's configuration.
  const code = USER_ERRORS.get(error.errorCode);
  if (code !== undefined && !(phase === 'TGS' && code === 'ERR_HTTPAUTH_BAD_CREDENTIALS')) {
    return new HttpAuthError(code, { reason });
  }
  return new HttpAuthError('ERR_HTTPAUTH_KDC_ERROR', { reason });
}

/** A reply that does not fit the request (wrong nonce, names, tags): ERR_HTTPAUTH_KDC_ERROR. */
export function replyMismatch(what: string, cause?: unknown): HttpAuthError {
  return new HttpAuthError('ERR_HTTPAUTH_KDC_ERROR', {
    reason: `KDC reply: ${what}`,
    ...(cause === undefined ? {} : { cause }),
  });
}
