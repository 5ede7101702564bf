/**
 * Which logons under Negotiate keep their connection authenticated for later requests (the
 * connection, not the request, is authenticated: MS-NTHT §2, IIS's authPersistNonNTLM for
 * Kerberos). One name for the option everywhere, `persistOnConnection`, as ntlm() spells it; under
 * Negotiate it is given per mechanism, because the safe defaults differ.
 */
import { fail } from '../errors.js';

export interface NegotiatePersistenceOptions {
  /**
   * Keep a connection authenticated after a logon, per mechanism. `ntlm` (default true, as IIS
   * does); `kerberos` (default false: every request proves itself; true saves browsers a 401
   * round trip per request, but is only safe where no proxy in front shares one backend
   * connection among several users).
   */
  readonly persistOnConnection?: { readonly ntlm?: boolean; readonly kerberos?: boolean };
  /** @deprecated Use `persistOnConnection: { ntlm }` (the same name as ntlm()'s option). */
  readonly persistNtlm?: boolean;
  /** @deprecated Use `persistOnConnection: { kerberos }`. */
  readonly persistKerberos?: boolean;
}

export interface NegotiatePersistence {
  readonly ntlm: boolean;
  readonly kerberos: boolean;
}

/**
 * One mechanism's setting: the new name, else the deprecated one, else the default. Both names
 * with different values are refused rather than one silently winning.
 */
function setting(current: unknown, deprecated: unknown, fallback: boolean): boolean {
  if (current !== undefined && deprecated !== undefined && current !== deprecated) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const value = current ?? deprecated ?? fallback;
  if (typeof value !== 'boolean') fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  return value;
}

/** The settings, checked once when the package is built. */
export function resolvePersistence(options: NegotiatePersistenceOptions): NegotiatePersistence {
  const given: unknown = options.persistOnConnection;
  if (
    given !== undefined &&
    (given === null || typeof given !== 'object' || Array.isArray(given))
  ) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const chosen = given as NegotiatePersistenceOptions['persistOnConnection'];
  return {
    ntlm: setting(chosen?.ntlm, options.persistNtlm, true),
    kerberos: setting(chosen?.kerberos, options.persistKerberos, false),
  };
}
