/**
 * Adapter options and the authenticator an adapter works with: validated once, at registration,
 * so a typo fails at startup with ERR_HTTPAUTH_INVALID_OPTIONS instead of on the first request.
 */
import { HttpAuthError } from '../errors.js';
import type { Authenticator, AuthenticatorOptions } from '../loop/authenticator.js';
import { createAuthenticator } from '../loop/authenticator.js';
import { resolveLogger, type LoggerOptions, type ResolvedLogger } from './decision-log.js';

/** Options every adapter understands, next to the authenticator's own. */
export interface AdapterOptions extends LoggerOptions {
  /**
   * Trust `X-Forwarded-Proto` from a reverse proxy to say whether the client connection is TLS.
   * Only enable this when every request reaches the server through a proxy that sets the header.
   * The last value counts (the one the nearest proxy set or appended); earlier ones may come from
   * the client.
   */
  readonly trustProxy?: boolean;
  /**
   * Make the request body available to Digest `qop=auth-int` (RFC 7616 §3.4.3 hashes the entity
   * body). `true` buffers up to 1 MiB; `{ maxBytes }` sets the cap. The body is read only when a
   * client actually answers with auth-int; larger bodies get 400 ERR_HTTPAUTH_BODY_TOO_LARGE.
   */
  readonly integrityBody?: boolean | { readonly maxBytes?: number };
  /**
   * The body a challenged request may declare and still keep its connection alive (default
   * 1 MiB): Node reads and discards it so the next request on the connection can be parsed. A
   * larger declared body gets `Connection: close` instead, except during a connection-bound
   * handshake, whose next leg must arrive on the same connection.
   */
  readonly maxDrainBytes?: number;
}

/**
 * The adapter options (`AdapterOptions`) after validation at registration, as adapters use them.
 */
export interface ResolvedAdapterOptions {
  readonly trustProxy: boolean;
  /** 0 when auth-int bodies are not made available. */
  readonly integrityBodyMaxBytes: number;
  readonly maxDrainBytes: number;
  /** The `logger` and `logSuccess` options (decision-log.ts). */
  readonly log: ResolvedLogger;
}

/**
 * The default cap on a request body read for Digest `qop=auth-int` (`integrityBody: true`): 1 MiB.
 */
export const DEFAULT_INTEGRITY_BODY_BYTES = 1024 * 1024;
/**
 * The default `maxDrainBytes`: the largest declared body of a challenged request that is read and
 * discarded to keep the connection alive (1 MiB).
 */
export const DEFAULT_MAX_DRAIN_BYTES = 1024 * 1024;

/** The adapters take a ready authenticator, or the options to build one. */
export type AuthenticatorSource = Authenticator | AuthenticatorOptions;

/** True when the value is a ready {@link Authenticator} rather than the options to build one. */
export function isAuthenticator(value: unknown): value is Authenticator {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { authenticate?: unknown }).authenticate === 'function'
  );
}

function invalidOptions(): never {
  throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
}

function positiveInteger(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) invalidOptions();
  return value;
}

/** Validate adapter options at registration; throws ERR_HTTPAUTH_INVALID_OPTIONS. */
export function resolveAdapterOptions(options: AdapterOptions = {}): ResolvedAdapterOptions {
  if (typeof options !== 'object' || options === null) invalidOptions();
  const { trustProxy, integrityBody, maxDrainBytes } = options;
  const log = resolveLogger(options);
  if (trustProxy !== undefined && typeof trustProxy !== 'boolean') invalidOptions();
  let integrityBodyMaxBytes = 0;
  if (integrityBody === true) {
    integrityBodyMaxBytes = DEFAULT_INTEGRITY_BODY_BYTES;
  } else if (typeof integrityBody === 'object' && integrityBody !== null) {
    integrityBodyMaxBytes =
      integrityBody.maxBytes === undefined
        ? DEFAULT_INTEGRITY_BODY_BYTES
        : positiveInteger(integrityBody.maxBytes);
  } else if (integrityBody !== undefined && integrityBody !== false) {
    invalidOptions();
  }
  return {
    trustProxy: trustProxy === true,
    integrityBodyMaxBytes,
    maxDrainBytes:
      maxDrainBytes === undefined ? DEFAULT_MAX_DRAIN_BYTES : positiveInteger(maxDrainBytes),
    log,
  };
}

/**
 * Adapter options given inline with the authenticator options (`httpAuth({ packages, trustProxy
 * })`), overridden by those given separately; an Authenticator carries none.
 */
export function resolveAdapterOptionsFrom(
  source: AuthenticatorSource | (AuthenticatorOptions & AdapterOptions),
  override: AdapterOptions = {},
): ResolvedAdapterOptions {
  if (typeof override !== 'object' || override === null) invalidOptions();
  const inline: AdapterOptions =
    typeof source === 'object' && source !== null && !isAuthenticator(source)
      ? (source as AdapterOptions)
      : {};
  const merged: { -readonly [K in keyof AdapterOptions]: AdapterOptions[K] } = {};
  for (const key of [
    'trustProxy',
    'integrityBody',
    'maxDrainBytes',
    'logger',
    'logSuccess',
  ] as const) {
    const value = override[key] ?? inline[key];
    if (value !== undefined) Object.assign(merged, { [key]: value });
  }
  return resolveAdapterOptions(merged);
}

/**
 * The authenticator to use: the one given, or a new one built from options (then the adapter
 * owns it and closes it when the framework shuts down, where the framework has such a hook).
 */
export function resolveAuthenticator(source: AuthenticatorSource): {
  authenticator: Authenticator;
  owned: boolean;
} {
  if (typeof source !== 'object' || source === null) invalidOptions();
  if (isAuthenticator(source)) return { authenticator: source, owned: false };
  return { authenticator: createAuthenticator(source), owned: true };
}
