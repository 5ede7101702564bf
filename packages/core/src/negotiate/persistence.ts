/**
 * Whether a connection stays authenticated after a Negotiate logon, per mechanism, spelled as
 * the NTLM package spells it: `persistOnConnection` inside `kerberos:` and `ntlm:`. The earlier
 * top-level `persistKerberos` / `persistNtlm` still work for this release, with a deprecation
 * warning, and go away in the next one (CHANGELOG.md).
 *
 * Defaults: NTLM true (it authenticates the connection, as IIS does); Kerberos false, every
 * request proves itself unless set (IIS's authPersistNonNTLM), which is only safe where no proxy
 * in front shares one backend connection among several users.
 */
import { fail } from '../errors.js';

/** The per-mechanism spelling, inside `kerberos:` and `ntlm:`. */
export interface PersistenceOption {
  /** Keep the connection authenticated after this mechanism's logon. */
  readonly persistOnConnection?: boolean;
}

/** The top-level spelling of earlier releases. */
export interface LegacyPersistenceOptions {
  /** @deprecated Use `ntlm: { persistOnConnection }`. */
  readonly persistNtlm?: boolean;
  /** @deprecated Use `kerberos: { persistOnConnection }`. */
  readonly persistKerberos?: boolean;
}

/** process.emitWarning code for persistNtlm / persistKerberos (once per process). */
export const LEGACY_PERSIST_OPTIONS_WARNING = 'HTTPAUTH_NEGOTIATE_PERSIST_OPTIONS';
let warned = false;

function choose(
  nested: unknown,
  legacy: unknown,
  legacyName: string,
  replacement: string,
  fallback: boolean,
): boolean {
  // null is a value, not an absence: only a boolean (or nothing) is an answer.
  if (nested === null || legacy === null) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  if (legacy !== undefined) {
    // Both spellings at once: which one wins would be a guess.
    if (nested !== undefined) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
    if (!warned) {
      warned = true;
      process.emitWarning(
        `negotiate({ ${legacyName} }) is deprecated: use negotiate({ ${replacement} }). ` +
          `The old name goes away in the next release.`,
        { type: 'DeprecationWarning', code: LEGACY_PERSIST_OPTIONS_WARNING },
      );
    }
  }
  const value = nested ?? legacy ?? fallback;
  if (typeof value !== 'boolean') fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  return value;
}

/** The persistence of each mechanism's logons, from either spelling. */
export function persistence(
  options: LegacyPersistenceOptions & {
    readonly kerberos?: PersistenceOption;
    readonly ntlm?: PersistenceOption;
  },
): { readonly kerberos: boolean; readonly ntlm: boolean } {
  return {
    kerberos: choose(
      options.kerberos?.persistOnConnection,
      options.persistKerberos,
      'persistKerberos',
      'kerberos: { persistOnConnection }',
      false,
    ),
    ntlm: choose(
      options.ntlm?.persistOnConnection,
      options.persistNtlm,
      'persistNtlm',
      'ntlm: { persistOnConnection }',
      true,
    ),
  };
}

/** The mechanism's own options, without the package-level `persistOnConnection`. */
export function withoutPersistence<T extends PersistenceOption>(
  options: T,
): Omit<T, 'persistOnConnection'> {
  const { persistOnConnection: _persist, ...rest } = options;
  return rest;
}
