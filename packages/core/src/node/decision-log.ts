/**
 * The `logger` adapter option: one log line per authentication decision, written by the adapter
 * with the same fields as the audit event (loop/publish.ts): a failure at `warn` (scheme, code,
 * status, the operator-only reason and detail, client address, method, path, duration), a
 * success at `info` (mechanism, scheme, name, reused, the request facts). Challenges are the
 * normal first leg of every handshake and are not logged.
 *
 * Any logger with pino's calling convention fits (`logger.warn(fields, message)`): pino itself,
 * Fastify's `request.log`, bunyan, or a small object of your own. Never a header, a token or a
 * password: the fields are the event's, which carry none.
 */
import { HttpAuthError } from '../errors.js';
import type { Authenticator } from '../loop/authenticator.js';
import { authenticateNow } from '../loop/authenticator.js';
import type { AuthDecision } from '../loop/decision.js';
import { isPromiseLike } from '../loop/decision.js';
import { decisionEvent, decisionKind } from '../loop/publish.js';
import type { AuthRequest } from '../security-package.js';

/** One level of a pino-style logger: structured fields first, then an optional message. */
export type LogMethod = (fields: Record<string, unknown>, message?: string) => void;

/** What the `logger` option takes: pino's calling convention (fields first, then the message). */
export interface AuthLogger {
  readonly info: LogMethod;
  readonly warn: LogMethod;
  readonly debug?: LogMethod;
}

/** The level of the success line: `info` (default), `debug`, or `false` for none. */
export type SuccessLogLevel = 'info' | 'debug' | false;

/**
 * The `logger` and `logSuccess` options every adapter takes: one log line per authentication
 * decision, with the same fields as the audit events and never a credential.
 */
export interface LoggerOptions {
  /**
   * Log each decision (see above). `false` turns logging off where the framework would supply
   * its own logger (Fastify's `request.log`).
   */
  readonly logger?: AuthLogger | false;
  /** The level of the success line (default `info`); `false` logs failures only. */
  readonly logSuccess?: SuccessLogLevel;
}

/** {@link LoggerOptions} after validation at registration, as adapters use them. */
export interface ResolvedLogger {
  /** undefined: the framework's own logger, if any; false: no logging. */
  readonly logger: AuthLogger | false | undefined;
  readonly successLevel: SuccessLogLevel;
}

function invalidOptions(): never {
  throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
}

function isLogger(value: unknown): value is AuthLogger {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return typeof candidate.info === 'function' && typeof candidate.warn === 'function';
}

/** Validate the logger options at registration; throws ERR_HTTPAUTH_INVALID_OPTIONS. */
export function resolveLogger(options: LoggerOptions): ResolvedLogger {
  const { logger, logSuccess } = options;
  if (logger !== undefined && logger !== false && !isLogger(logger)) invalidOptions();
  if (logSuccess !== undefined && logSuccess !== false && !['info', 'debug'].includes(logSuccess)) {
    invalidOptions();
  }
  return { logger, successLevel: logSuccess ?? 'info' };
}

/** Write the decision's line, if it makes one. A throwing logger never fails the request. */
export function logDecision(
  logger: AuthLogger,
  successLevel: SuccessLogLevel,
  decision: AuthDecision,
  request: AuthRequest,
  durationMs: number,
): void {
  // Challenges make no line, and neither does a success with success lines off: the common
  // case of a kept-alive authenticated request then costs no event at all.
  if (decisionKind(decision) === 'challenge') return;
  if (decision.type === 'authenticated' && successLevel === false) return;
  const made = decisionEvent(decision, request, durationMs);
  try {
    if (made.type === 'failure') {
      logger.warn({ ...made.event }, 'httpauth: authentication refused');
    } else if (made.type === 'success' && successLevel !== false) {
      // A logger without debug (a minimal one) gets the line at info rather than losing it.
      const method = successLevel === 'debug' ? (logger.debug ?? logger.info) : logger.info;
      method.call(logger, { ...made.event }, 'httpauth: authenticated');
    }
  } catch {
    // Logging is best effort: the decision stands whatever the logger does.
  }
}

/**
 * A framework's logger that logs nothing: Fastify's default (`logger: false`) is a set of no-op
 * functions without a `level`, and a pino logger set to `silent` says so. Building events for it
 * would cost every request for nothing.
 */
function silent(logger: AuthLogger): boolean {
  const level = (logger as { level?: unknown }).level;
  return typeof level !== 'string' || level === 'silent';
}

/** Where a decision's line goes: the configured logger, else the framework's, else nowhere. */
function logTarget(
  options: { readonly log: ResolvedLogger },
  fallback: AuthLogger | undefined,
): AuthLogger | undefined {
  const { logger } = options.log;
  if (logger === false) return undefined;
  if (logger !== undefined) return logger;
  return fallback !== undefined && !silent(fallback) ? fallback : undefined;
}

/**
 * `authenticator.authenticate(request)`, then the decision's log line: to the configured logger,
 * else `fallback` (the framework's own, e.g. Fastify's `request.log`, when it logs at all),
 * unless logging is off. The decision comes synchronously when the loop has it at once (a
 * connection that stays authenticated, authenticateNow), else as a promise.
 */
export function authenticateAndLogNow(
  authenticator: Authenticator,
  request: AuthRequest,
  options: { readonly log: ResolvedLogger },
  fallback?: AuthLogger,
): AuthDecision | Promise<AuthDecision> {
  const target = logTarget(options, fallback);
  if (target === undefined) return authenticateNow(authenticator, request);
  const startedAt = performance.now();
  const log = (decision: AuthDecision): AuthDecision => {
    logDecision(target, options.log.successLevel, decision, request, performance.now() - startedAt);
    return decision;
  };
  const pending = authenticateNow(authenticator, request);
  return isPromiseLike(pending) ? Promise.resolve(pending).then(log) : log(pending);
}

/** authenticateAndLogNow, always as a promise. */
export async function authenticateAndLog(
  authenticator: Authenticator,
  request: AuthRequest,
  options: { readonly log: ResolvedLogger },
  fallback?: AuthLogger,
): Promise<AuthDecision> {
  return authenticateAndLogNow(authenticator, request, options, fallback);
}
