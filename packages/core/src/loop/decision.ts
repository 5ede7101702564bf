/**
 * What the loop answers for one request, and what a request that got through carries. Adapters
 * only translate: `authenticated` lets the request on with `auth`; `respond` is a 401 or 407 with
 * challenges (RFC 9110 §11.6.1, §11.7.1), or a 400/403/503 with a stable error code.
 */
import type { HttpAuthError } from '../errors.js';
import type { ImpersonationContext } from '../impersonation/context.js';
import type { Principal } from '../principal.js';
import type { SecurityContextData } from '../security-package.js';

/**
 * One response header as a name and a value; a decision lists them in order (several
 * `WWW-Authenticate` lines are several entries).
 */
export type Header = readonly [name: string, value: string];

/** What a request that got through carries: `req.auth`, `request.auth`, `ctx.state.auth`. */
export interface AuthInfo {
  readonly principal: Principal;
  readonly impersonation: ImpersonationContext;
  /** Keys and credentials the package produced (session key, delegated credential). */
  readonly context: SecurityContextData | undefined;
  /** The authentication session (cookie) this request was authenticated by, or issued with. */
  readonly session?: { readonly id: string; readonly expiresAt: number; readonly reused: boolean };
}

/**
 * What `Authenticator.authenticate` decides: `authenticated` (with the identity and the headers for
 * the successful response), or `respond` (the status, headers and error to answer with instead of
 * running the application).
 */
export type AuthDecision =
  | {
      readonly type: 'authenticated';
      /**
       * The auth-scheme that authenticated this request, as the package names it ('Negotiate',
       * 'NTLM', 'Digest', 'Basic'), or 'Session' for an authentication-session cookie.
       */
      readonly scheme: string;
      /** True when no handshake ran: a connection that stays authenticated, or a session. */
      readonly reused: boolean;
      readonly auth: AuthInfo;
      /** Headers for the successful response (mutual authentication, Authentication-Info). */
      readonly headers: readonly Header[];
    }
  | {
      readonly type: 'respond';
      /**
       * The auth-scheme whose credentials were refused or continued (the package's spelling; the
       * client's own spelling for an unsupported scheme), or undefined when none were sent.
       */
      readonly scheme: string | undefined;
      readonly status: number;
      readonly headers: readonly Header[];
      readonly error: HttpAuthError;
    };

/** The non-success half of AuthDecision. */
export type RespondDecision = Extract<AuthDecision, { readonly type: 'respond' }>;

/** The JSON body adapters send with a non-success decision: a stable code and a fixed message. */
export function errorBody(error: HttpAuthError): { error: string; message: string } {
  return { error: error.code, message: error.message };
}

/** True for a promise (or any thenable): a decision, or an impersonation, still to come. */
export function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}
