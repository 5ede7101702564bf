/**
 * Negotiate's Kerberos options, nested under `kerberos:` as NTLM's are under `ntlm:`. The flat
 * spelling of earlier releases (`negotiate({ keytab, principals, ... })`) still works for this
 * release, with a deprecation warning, and goes away in the next one (CHANGELOG.md).
 */
import { fail } from '../errors.js';
import { KerberosAcceptor } from '../kerberos/acceptor.js';
import type { KerberosAcceptorOptions } from '../kerberos/acceptor.js';
import type { Keytab } from '../kerberos/keytab.js';
import { withoutPersistence } from './persistence.js';
import type { PersistenceOption } from './persistence.js';

/**
 * `negotiate({ kerberos: {...} })`: the acceptor's options (kerberos/acceptor.ts), and
 * `persistOnConnection` (persistence.ts).
 */
export interface NegotiateKerberosOptions extends KerberosAcceptorOptions, PersistenceOption {
  /** Use this acceptor instead of building one from the options above (tests, sharing). */
  readonly acceptor?: KerberosAcceptor;
}

/** The flat spelling of the Kerberos options, before `kerberos:`. */
export interface LegacyKerberosOptions {
  /** @deprecated Use `kerberos: { keytab }`. */
  readonly keytab?: string | Keytab;
  /** @deprecated Use `kerberos: { principals }`. */
  readonly principals?: readonly string[];
  /** @deprecated Use `kerberos: { localRealms }`. */
  readonly localRealms?: readonly string[];
  /** @deprecated Use `kerberos: { transitedRealms }`. */
  readonly transitedRealms?: readonly string[];
  /** @deprecated Use `kerberos: { clockSkewMs }`. */
  readonly clockSkewMs?: number;
  /** @deprecated Use `kerberos: { allowRc4 }`. */
  readonly allowRc4?: boolean;
  /** @deprecated Use `kerberos: { acceptor }`. */
  readonly kerberosAcceptor?: KerberosAcceptor;
}

const LEGACY_KEYS = [
  'keytab',
  'principals',
  'localRealms',
  'transitedRealms',
  'clockSkewMs',
  'allowRc4',
  'kerberosAcceptor',
] as const;

/** process.emitWarning code for the flat Kerberos options (once per process). */
export const FLAT_KERBEROS_OPTIONS_WARNING = 'HTTPAUTH_NEGOTIATE_FLAT_KERBEROS_OPTIONS';
let warnedFlat = false;

/**
 * The Kerberos acceptor's options and a ready acceptor, from either spelling. Both spellings at
 * once are refused (ERR_HTTPAUTH_INVALID_OPTIONS): which one wins would be a guess.
 */
export function kerberosAcceptorOptions(
  options: LegacyKerberosOptions & { readonly kerberos?: NegotiateKerberosOptions },
): { options: KerberosAcceptorOptions; acceptor: KerberosAcceptor | undefined } {
  const nested = options.kerberos;
  if (nested !== undefined && (nested === null || typeof nested !== 'object')) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const flat = LEGACY_KEYS.filter((key) => options[key] !== undefined);
  let chosen: NegotiateKerberosOptions = nested ?? {};
  if (flat.length > 0) {
    if (nested !== undefined) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    if (!warnedFlat) {
      warnedFlat = true;
      process.emitWarning(
        `negotiate({ ${flat.join(', ')} }) is deprecated: nest the Kerberos options as ` +
          `negotiate({ kerberos: { keytab, principals, ... } }) (kerberosAcceptor becomes ` +
          `kerberos.acceptor). The flat spelling goes away in the next release.`,
        { type: 'DeprecationWarning', code: FLAT_KERBEROS_OPTIONS_WARNING },
      );
    }
    const { kerberosAcceptor, ...rest } = Object.fromEntries(
      flat.map((key) => [key, options[key]]),
    ) as LegacyKerberosOptions;
    chosen = { ...rest, ...(kerberosAcceptor === undefined ? {} : { acceptor: kerberosAcceptor }) };
  }
  const { acceptor, ...acceptorOptions } = withoutPersistence(chosen);
  if (acceptor !== undefined && !(acceptor instanceof KerberosAcceptor)) {
    fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  return { options: acceptorOptions, acceptor };
}
