/**
 * @httpauth/passport: httpauth as a Passport strategy, for apps already built on passport
 * (sessions, `req.user`, `failureRedirect`, several strategies).
 *
 *   passport.use(new HttpAuthStrategy({ packages: [negotiate({ kerberos: { keytab } })] }, verify));
 *   app.get('/', passport.authenticate('httpauth'), (req, res) => res.json(req.user));
 *
 * The protocol (and the multi-leg handshake, bound to the connection for NTLM) stays in
 * @httpauth/core; this file maps the engine's decision onto passport's actions.
 */
import type { AuthenticatorOptions, AuthInfo, Authenticator, Principal } from '@httpauth/core';
import { HttpAuthError } from '@httpauth/core';
import {
  applySuccessHeaders,
  authenticateAndLog,
  challengeResponse,
  createBodyLoader,
  disposeWhenDone,
  drainRequestBody,
  keepsConnection,
  resolveAdapterOptionsFrom,
  resolveAuthenticator,
  toAuthRequest,
  type AdapterOptions,
  type BodyLoader,
  type NodeResponse,
  type ResolvedAdapterOptions,
} from '@httpauth/core/adapter';
import type { Request } from 'express';
import { Strategy } from 'passport-strategy';
import { addChallengeHeadersOnWrite, challengeInfo, type HttpAuthChallenge } from './challenge.js';

export type { AdapterOptions } from '@httpauth/core/adapter';
export type { AuthInfo, Principal } from '@httpauth/core';
export type { HttpAuthChallenge } from './challenge.js';

/** Authenticator options and adapter options in one object. */
export interface HttpAuthStrategyOptions extends AuthenticatorOptions, AdapterOptions {
  /** The name passport knows the strategy by (default `httpauth`). */
  readonly name?: string;
}

/** `done(null, user)`; `done(null, false)` when the app does not know this principal. */
export type VerifyDone = (error: unknown, user?: unknown, info?: unknown) => void;

/**
 * Maps the authenticated principal to the app's user. Declare `done` and call it
 * (`done(null, user)`), or take only the principal and return the user (or a promise of it);
 * `false` means the app has no such user (403).
 */
export type VerifyFunction = (principal: Principal, done: VerifyDone) => unknown;

/** What `req.authInfo` carries after this strategy succeeded. */
export interface HttpAuthInfo extends AuthInfo {
  /** The mechanism that authenticated the client (`Negotiate`, `NTLM`, `Digest`, `Basic`). */
  readonly mechanism: Principal['mechanism'];
}

/**
 * A Passport strategy (registered as `httpauth`) over the httpauth engine: Negotiate, NTLM, Digest
 * or Basic with the multi-leg handshake handled. Each challenge or refused leg is passport's
 * `fail(challenge, status)` (so `failureRedirect` and other strategies work), a server-side failure
 * (503) is `error` with its status, and success maps the principal through `verify` to `req.user`.
 */
export class HttpAuthStrategy extends Strategy {
  name: string;
  /** The authenticator behind the strategy (close it on shutdown when you built it from options). */
  readonly authenticator: Authenticator;
  // Plain (not #private) fields: passport runs each request on Object.create(strategy).
  private readonly adapterOptions: ResolvedAdapterOptions;
  private readonly verify: VerifyFunction | undefined;

  /**
   * @param source an Authenticator from createAuthenticator(), or options to build one
   * @param verify maps the principal to `req.user` (default: the principal itself)
   */
  constructor(source: Authenticator | HttpAuthStrategyOptions, verify?: VerifyFunction) {
    super();
    if (verify !== undefined && typeof verify !== 'function') {
      throw new TypeError('HttpAuthStrategy: verify must be a function');
    }
    this.adapterOptions = resolveAdapterOptionsFrom(source);
    this.authenticator = resolveAuthenticator(source).authenticator;
    const name = (source as { name?: unknown }).name;
    this.name = typeof name === 'string' && !('authenticate' in source) ? name : 'httpauth';
    this.verify = verify;
  }

  override authenticate(req: Request): void {
    const res = req.res;
    if (res === undefined) {
      // Challenges, mutual-authentication tokens and the dispose hook all need the response;
      // Express links it as req.res.
      this.error(new TypeError('HttpAuthStrategy needs req.res (use it with Express)'));
      return;
    }
    const body: BodyLoader | undefined =
      this.adapterOptions.integrityBodyMaxBytes > 0
        ? createBodyLoader(req, req, this.adapterOptions.integrityBodyMaxBytes)
        : undefined;
    const request = toAuthRequest(req, this.adapterOptions, body, req.originalUrl);
    // The `logger` option writes one line per refusal or success, as every adapter does.
    authenticateAndLog(this.authenticator, request, this.adapterOptions)
      .then(async (decision) => {
        if (decision.type === 'respond') {
          this.refuse(req, res, decision, body);
          return;
        }
        disposeWhenDone(res, decision.auth);
        const user = await this.verified(decision.auth.principal);
        if (user === false || user === null || user === undefined) {
          // Valid credentials, but the app has no such user (passport-local's `done(null, false)`).
          this.fail(challengeInfo('ERR_HTTPAUTH_FORBIDDEN', []), 403);
          return;
        }
        applySuccessHeaders(res, decision.headers);
        const info: HttpAuthInfo = {
          ...decision.auth,
          mechanism: decision.auth.principal.mechanism,
        };
        this.success(user, info);
      })
      .catch((error: unknown) => {
        // The app's own verify errors pass through untouched; anything else gets a stable code.
        this.error(
          error instanceof Error
            ? error
            : new HttpAuthError('ERR_HTTPAUTH_INTERNAL', { cause: error }),
        );
      });
  }

  /**
   * A challenge or a refusal. Client-side failures go to `this.fail` so passport can try the next
   * strategy, honour `failureRedirect`, or answer 401 with every strategy's challenge; a server
   * that cannot decide (store or domain controller unavailable, 5xx) goes to `this.error` with
   * its status and Retry-After, so it is neither retried as bad credentials nor turned into 500.
   */
  private refuse(
    req: Request,
    res: NodeResponse,
    decision: Parameters<typeof challengeResponse>[1],
    body: BodyLoader | undefined,
  ): void {
    const response = challengeResponse(req, decision, this.adapterOptions, body);
    drainRequestBody(req, res, response, this.adapterOptions, keepsConnection(decision));
    if (response.closeConnection) res.setHeader('connection', 'close');
    if (decision.status >= 500) {
      this.error(
        Object.assign(decision.error, {
          status: decision.status,
          statusCode: decision.status,
          headers: headerObject(response.headers),
          expose: true,
        }),
      );
      return;
    }
    const info: HttpAuthChallenge = challengeInfo(decision.error.code, decision.headers);
    addChallengeHeadersOnWrite(res, decision.status, response.headers);
    this.fail(info, decision.status);
  }

  private async verified(principal: Principal): Promise<unknown> {
    const verify = this.verify;
    if (verify === undefined) return principal;
    if (verify.length >= 2) {
      return new Promise((resolve, reject) => {
        verify(principal, (error, user) => {
          if (error !== null && error !== undefined) reject(error as Error);
          else resolve(user);
        });
      });
    }
    // One declared parameter: the async form; `done` is not offered, so it cannot be called twice.
    return (verify as (p: Principal) => unknown)(principal);
  }
}

/** The error response's headers (Retry-After...), in the form Express's finalhandler reads. */
function headerObject(headers: ReadonlyMap<string, readonly string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, values] of headers) {
    if (name === 'content-type' || name === 'connection' || values.length === 0) continue;
    out[name] = values.join(', ');
  }
  return out;
}

export default HttpAuthStrategy;
