/**
 * What a domain controller's NTSTATUS (MS-ERREF §2.3.1) means for an HTTP logon. A refusal is a
 * 401 for the client (which must not learn why) and a precise, stable reason for the operator's
 * audit event: the status's name from MS-ERREF.
 */
export type LogonVerdict =
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'unavailable'; readonly reason: string };

const REFUSALS: ReadonlyMap<number, string> = new Map([
  [0xc000006a, 'STATUS_WRONG_PASSWORD'],
  [0xc0000064, 'STATUS_NO_SUCH_USER'],
  [0xc000006d, 'STATUS_LOGON_FAILURE'],
  [0xc0000072, 'STATUS_ACCOUNT_DISABLED'],
  [0xc0000234, 'STATUS_ACCOUNT_LOCKED_OUT'],
  [0xc0000071, 'STATUS_PASSWORD_EXPIRED'],
  [0xc0000224, 'STATUS_PASSWORD_MUST_CHANGE'],
  [0xc0000193, 'STATUS_ACCOUNT_EXPIRED'],
  [0xc000006f, 'STATUS_INVALID_LOGON_HOURS'],
  [0xc0000070, 'STATUS_INVALID_WORKSTATION'],
  [0xc000006e, 'STATUS_ACCOUNT_RESTRICTION'],
  [0xc000015b, 'STATUS_LOGON_TYPE_NOT_GRANTED'],
  [0xc000018b, 'STATUS_NO_TRUST_SAM_ACCOUNT'],
  [0xc000018c, 'STATUS_TRUSTED_DOMAIN_FAILURE'],
  [0xc000018d, 'STATUS_TRUSTED_RELATIONSHIP_FAILURE'],
  [0xc0000199, 'STATUS_NOLOGON_WORKSTATION_TRUST_ACCOUNT'],
  [0xc000019a, 'STATUS_NOLOGON_SERVER_TRUST_ACCOUNT'],
  [0xc0000198, 'STATUS_NOLOGON_INTERDOMAIN_TRUST_ACCOUNT'],
  [0xc00000df, 'STATUS_NO_SUCH_DOMAIN'],
  [0xc0000413, 'STATUS_AUTHENTICATION_FIREWALL_FAILED'],
]);

/** Statuses that say the DC could not decide (no logon servers, busy): try another DC, or 503. */
const UNAVAILABLE: ReadonlyMap<number, string> = new Map([
  [0xc000005e, 'STATUS_NO_LOGON_SERVERS'],
  [0xc0000017, 'STATUS_NO_MEMORY'],
  [0xc000009a, 'STATUS_INSUFFICIENT_RESOURCES'],
  [0xc0000022, 'STATUS_ACCESS_DENIED'],
  [0xc000000d, 'STATUS_INVALID_PARAMETER'],
  [0xc0000003, 'STATUS_INVALID_INFO_CLASS'],
  [0xc0000388, 'STATUS_DOWNGRADE_DETECTED'],
]);

export function ntStatusName(status: number): string {
  return (
    REFUSALS.get(status) ??
    UNAVAILABLE.get(status) ??
    `NTSTATUS_0x${(status >>> 0).toString(16).padStart(8, '0').toUpperCase()}`
  );
}

/**
 * The verdict for a non-zero status of NetrLogonSamLogonEx. Unknown error statuses refuse the
 * logon (nothing is accepted unless the DC said yes); statuses about the channel or the DC
 * itself are `unavailable`, so another DC is tried.
 */
export function logonVerdict(status: number): LogonVerdict {
  const unavailable = UNAVAILABLE.get(status);
  if (unavailable !== undefined) return { kind: 'unavailable', reason: unavailable };
  return { kind: 'refused', reason: ntStatusName(status) };
}
