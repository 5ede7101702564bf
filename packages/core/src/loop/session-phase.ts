/**
 * The session-cookie phase (like mod_auth_gssapi's GssapiUseSessions): a valid authentication
 * session cookie authenticates a request without a handshake; a completed handshake issues one;
 * a tampered, expired, revoked or foreign cookie is cleared. Revocation, when enabled, costs one
 * store read per request that carries a cookie.
 */
import { HttpAuthError } from '../errors.js';
import type { Principal } from '../principal.js';
import type { AuthRequest } from '../security-package.js';
import type { SessionData, SessionOptions } from '../session/session-cookie.js';
import { SessionCookies } from '../session/session-cookie.js';
import type { KeyValueStore } from '../store/types.js';
import type { AuthInfo, Header } from './decision.js';
import { sessionRevokedKey } from '../store/keys.js';

/**
 * The `sessions` option of `createAuthenticator`: authentication-session cookies (like
 * mod_auth_gssapi's GssapiUseSessions), with optional revocation through the store.
 */
export interface AuthenticatorSessionOptions extends SessionOptions {
  /** Check every session against a revocation list in the store (one store read per request). */
  readonly revocable?: boolean;
}

/** What a request's cookie says: none sent, a session to reuse, or one to clear. */
export type SessionLookup =
  | { readonly type: 'none' }
  | { readonly type: 'valid'; readonly data: SessionData }
  | { readonly type: 'invalid' };

const DEFAULT_SESSION_MAX_AGE_MS = 3_600_000;
const NO_SESSION: SessionLookup = { type: 'none' };
const INVALID_SESSION: SessionLookup = { type: 'invalid' };

export class SessionPhase {
  readonly #cookies: SessionCookies;
  readonly #store: KeyValueStore;
  readonly #revocable: boolean;
  readonly #maxAgeMs: number;

  constructor(options: AuthenticatorSessionOptions, store: KeyValueStore) {
    this.#cookies = new SessionCookies(options);
    this.#store = store;
    this.#revocable = options.revocable === true;
    this.#maxAgeMs = options.maxAgeMs ?? DEFAULT_SESSION_MAX_AGE_MS;
  }

  async lookup(request: AuthRequest, now: number): Promise<SessionLookup> {
    const opened = this.#open(request, now);
    if (opened.type !== 'valid' || !this.#revocable) return opened;
    if ((await this.#store.get(sessionRevokedKey(opened.data.id))) !== undefined) {
      return { type: 'invalid' };
    }
    return opened;
  }

  /**
   * The same lookup without waiting, when nothing has to be read from the store (sessions that
   * are not revocable): the cookie is opened (or found among those already opened) and its
   * expiry checked exactly as `lookup` does. Undefined when revocation needs the store read.
   */
  lookupNow(request: AuthRequest, now: number): SessionLookup | undefined {
    return this.#revocable ? undefined : this.#open(request, now);
  }

  #open(request: AuthRequest, now: number): SessionLookup {
    const value = this.#cookies.find(request);
    if (value === undefined) return NO_SESSION;
    const data = this.#cookies.open(value, now, request);
    if (data === undefined) return INVALID_SESSION;
    return { type: 'valid', data };
  }

  /** The Set-Cookie header that removes the request's cookie. */
  clear(request: AuthRequest): Header {
    return ['set-cookie', this.#cookies.clearCookie(request)];
  }

  /** A new session for a principal that just completed a handshake. */
  issue(
    principal: Principal,
    now: number,
    request: AuthRequest,
  ): { readonly header: Header; readonly session: NonNullable<AuthInfo['session']> } | undefined {
    const issued = this.#cookies.issue(principal, now, request);
    if (issued === undefined) return undefined;
    return {
      header: ['set-cookie', issued.setCookie],
      session: { id: issued.data.id, expiresAt: issued.data.expiresAt, reused: false },
    };
  }

  /** Revoke a session by id until it would have expired anyway. */
  async revoke(id: string): Promise<void> {
    if (!this.#revocable) throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
    await this.#store.add(sessionRevokedKey(id), '1', this.#maxAgeMs);
  }
}
