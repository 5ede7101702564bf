/**
 * createHandler: a request listener for plain node:http (and the HTTP/2 compatibility API), for
 * servers without a framework. Published as `@httpauth/core/node`:
 *
 *   import { createServer } from 'node:http';
 *   import { digest } from '@httpauth/core';
 *   import { createHandler } from '@httpauth/core/node';
 *
 *   const handler = createHandler({ packages: [digest({ ... })] }, (req, res, auth) => {
 *     res.end(`hello ${auth.principal.name}`);
 *   });
 *   createServer(handler).listen(8080, '127.0.0.1');
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { HttpAuthError } from '../errors.js';
import type { AuthInfo, Authenticator, AuthenticatorOptions } from '../loop/authenticator.js';
import type { BodyLoader } from './body.js';
import { createBodyLoader } from './body.js';
import { disposeWhenDone } from './connection.js';
import { authenticateAndLog } from './decision-log.js';
import type { AdapterOptions, AuthenticatorSource } from './options.js';
import { resolveAdapterOptionsFrom, resolveAuthenticator } from './options.js';
import { toAuthRequest } from './request.js';
import { applySuccessHeaders, sendChallenge } from './response.js';

/** The requests a handler accepts: node:http and node:http2 (compatibility API). */
export type AnyRequest = IncomingMessage | Http2ServerRequest;
/** The responses a handler writes to: node:http and node:http2 (compatibility API). */
export type AnyResponse = ServerResponse | Http2ServerResponse;

/** The request as the application handler sees it: the raw body is kept when auth-int read it. */
export type AuthenticatedRequest<Req extends AnyRequest = AnyRequest> = Req & {
  auth: AuthInfo;
  /** The request body, when Digest auth-int had to read it (the stream is then consumed). */
  rawBody?: Buffer;
};

export type AuthenticatedHandler<
  Req extends AnyRequest = IncomingMessage,
  Res extends AnyResponse = ServerResponse,
> = (req: AuthenticatedRequest<Req>, res: Res, auth: AuthInfo) => unknown;

export interface NodeHandlerOptions extends AdapterOptions {
  /** Called with anything the application handler throws (after a 500 is sent). */
  readonly onError?: (error: unknown) => void;
}

export type NodeHandler<Req extends AnyRequest, Res extends AnyResponse> = ((
  req: Req,
  res: Res,
) => void) & { readonly authenticator: Authenticator };

/**
 * Build a request listener that authenticates every request and calls `handler` only for those
 * that got through; the others receive the challenge or error response here.
 */
export function createHandler<
  Req extends AnyRequest = IncomingMessage,
  Res extends AnyResponse = ServerResponse,
>(
  source: AuthenticatorSource | (AuthenticatorOptions & AdapterOptions),
  handler: AuthenticatedHandler<Req, Res>,
  options: NodeHandlerOptions = {},
): NodeHandler<Req, Res> {
  if (typeof handler !== 'function') throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  const adapterOptions = resolveAdapterOptionsFrom(source, options);
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const { authenticator } = resolveAuthenticator(source);
  const onError = options.onError;

  const fail = (res: AnyResponse, error: unknown): void => {
    onError?.(error);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.statusCode = 500;
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end('Internal Server Error');
  };

  const listener = (req: Req, res: Res): void => {
    const body: BodyLoader | undefined =
      adapterOptions.integrityBodyMaxBytes > 0
        ? createBodyLoader(req, req, adapterOptions.integrityBodyMaxBytes)
        : undefined;
    authenticateAndLog(
      authenticator,
      toAuthRequest(req, adapterOptions, body),
      adapterOptions,
    ).then(
      async (decision) => {
        if (decision.type === 'respond') {
          sendChallenge(req, res, decision, adapterOptions, body);
          return;
        }
        applySuccessHeaders(res, decision.headers);
        disposeWhenDone(res, decision.auth, onError);
        const authed = req as AuthenticatedRequest<Req>;
        authed.auth = decision.auth;
        if (body?.body !== undefined) authed.rawBody = body.body;
        try {
          await handler(authed, res, decision.auth);
        } catch (error) {
          fail(res, error);
        }
      },
      (error: unknown) => fail(res, error),
    );
  };
  return Object.assign(listener, { authenticator });
}
