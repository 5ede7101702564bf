/**
 * The options that fit httpauth into an existing application, shared by the Express and Koa
 * adapters (same names, same meaning): skip some requests (`unless`), let anonymous requests
 * through (`optional`), shape the refusal (`onRefused`), and name the property the identity is
 * stored under (`property`, since express-jwt and others also use `req.auth`).
 */
import { HttpAuthError } from '../errors.js';
import type { AuthDecision, Header } from '../loop/authenticator.js';
import type { BodyLoader } from './body.js';
import { drainRequestBody, keepsConnection } from './connection.js';
import type { ChallengeResponse, NodeRequest, NodeResponse } from './message.js';
import type { ResolvedAdapterOptions } from './options.js';
import { challengeResponse, groupHeaders } from './response.js';

/** `Ctx` is what the framework hands a middleware: Express's `req`, Koa's `ctx`. */
export interface SeamOptions<Ctx = unknown> {
  /** Requests for which this returns true skip authentication entirely (health checks). */
  readonly unless?: (ctx: Ctx) => boolean;
  /**
   * Authenticate when credentials come; let a request without any through anonymously (no
   * identity set, no challenge). Credentials that fail are still refused, and a
   * connection-bound handshake (NTLM, Negotiate) still gets its next leg.
   */
  readonly optional?: boolean;
  /** Where the identity goes: `req[property]` / `ctx.state[property]` (default `auth`). */
  readonly property?: string;
}

/**
 * {@link SeamOptions} after validation at registration, as the Express and Koa adapters use them.
 */
export interface ResolvedSeams<Ctx = unknown> {
  /** The skip predicate, if any. */
  readonly unless: ((ctx: Ctx) => boolean) | undefined;
  readonly optional: boolean;
  readonly property: string;
}

/** Names that would shadow the prototype chain or are not plain identifiers are refused. */
const PROPERTY_NAME = /^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/;
const RESERVED_PROPERTIES = new Set(['__proto__', 'constructor', 'prototype', 'rawBody']);

function invalidOptions(): never {
  throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
}

/** Validate the seam options at registration; throws ERR_HTTPAUTH_INVALID_OPTIONS. */
export function resolveSeams<Ctx>(options: SeamOptions<Ctx> = {}): ResolvedSeams<Ctx> {
  if (typeof options !== 'object' || options === null) invalidOptions();
  const { unless, optional, property } = options;
  if (unless !== undefined && typeof unless !== 'function') invalidOptions();
  if (optional !== undefined && typeof optional !== 'boolean') invalidOptions();
  if (
    property !== undefined &&
    (typeof property !== 'string' ||
      !PROPERTY_NAME.test(property) ||
      RESERVED_PROPERTIES.has(property))
  ) {
    invalidOptions();
  }
  return { unless, optional: optional === true, property: property ?? 'auth' };
}

/**
 * In optional mode, a request that carried no credentials at all (and no session or
 * authenticated connection) goes on anonymously. Everything else the engine refused (bad
 * credentials, a malformed header, a handshake leg: ERR_HTTPAUTH_HANDSHAKE_CONTINUE) is
 * answered as usual.
 */
export function passesAnonymously(
  decision: AuthDecision & { type: 'respond' },
  seams: ResolvedSeams<never>,
): boolean {
  return seams.optional && decision.error.code === 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED';
}

/**
 * The headers an anonymous request still gets: the removal of a tampered or expired session
 * cookie (never the challenge itself).
 */
export function anonymousHeaders(decision: AuthDecision & { type: 'respond' }): Header[] {
  return decision.headers.filter(([name]) => name.toLowerCase() === 'set-cookie');
}

/**
 * A refusal as an error for a framework's error handler, in the shape of the http-errors package
 * that Express's and Koa's default handlers read: `status`, `statusCode`, `expose`, and `headers`
 * (the challenges, Retry-After, a session cookie's removal), which Koa's handler sets again after
 * clearing the response's own.
 */
export type RefusalError = HttpAuthError & {
  readonly status: number;
  readonly statusCode: number;
  readonly expose: true;
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
};

/**
 * Turns a `respond` decision into an http-errors-shaped error (`status`, `expose`, `headers`) for a
 * framework's error handler: what the Express and Koa adapters pass to `onRefused` and, with
 * `passErrors`, to the error handler.
 */
export function refusalError(
  decision: AuthDecision & { type: 'respond' },
  /** The response prepared for it: its `Connection: close` is kept in `headers` too. */
  response?: ChallengeResponse,
): RefusalError {
  const error = new HttpAuthError(decision.error.code, {
    cause: decision.error,
    ...(decision.error.reason === undefined ? {} : { reason: decision.error.reason }),
  });
  const headers: Record<string, string | readonly string[]> = {};
  for (const [name, values] of response?.headers ?? groupHeaders(decision.headers)) {
    if (name === 'content-type') continue;
    headers[name] = values.length === 1 ? (values[0] as string) : values;
  }
  // `expose`: the message is the fixed, client-safe text of the code (docs/errors.md).
  Object.assign(error, {
    status: decision.status,
    statusCode: decision.status,
    expose: true,
    headers,
  });
  return error as RefusalError;
}

/**
 * Set a refusal's status and headers (challenges, Retry-After, Connection: close) on a Node
 * response and drain the request body, leaving the body to an application's `onRefused` hook:
 * whatever it sends, the client still learns how to authenticate (RFC 9110 §11.6.1 requires
 * WWW-Authenticate on every 401).
 */
export function prepareRefusal(
  req: NodeRequest,
  res: NodeResponse,
  decision: AuthDecision & { type: 'respond' },
  options: ResolvedAdapterOptions,
  body?: BodyLoader,
): ChallengeResponse {
  const response = challengeResponse(req, decision, options, body);
  if (res.headersSent) return response;
  res.statusCode = response.status;
  for (const [name, values] of response.headers) {
    if (name === 'content-type') continue;
    if (name === 'connection' && req.httpVersionMajor >= 2) continue;
    res.setHeader(name, values.length === 1 ? (values[0] as string) : [...values]);
  }
  drainRequestBody(req, res, response, options, keepsConnection(decision));
  return response;
}
