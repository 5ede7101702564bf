/**
 * nginx auth_request mode: answer a subrequest with 200 and the identity headers, or with the
 * challenge for nginx to pass on. X-Original-URI (nginx's $request_uri, raw) is judged in its
 * canonical form, like any proxied request; an ambiguous or missing one is refused with 400.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Authenticator } from '@httpauth/core';
import { sendChallenge } from '@httpauth/core/adapter';
import type { ResolvedAdapterOptions } from '@httpauth/core/adapter';
import { canonicalTarget } from './canonical-path.js';
import { authRequestOf } from './forwarded.js';
import type { ProxyTrust } from './proxy-trust.js';
import { identityValues } from './identity.js';
import type { RequestOutcomes } from './outcomes.js';
import { errorJson, json } from './responses.js';
import type { SiteMap } from './routes.js';

export interface AuthRequestContext {
  readonly authenticator: Authenticator;
  readonly adapterOptions: ResolvedAdapterOptions;
  /** Which front proxies are believed (proxy-trust.ts). */
  readonly trust: ProxyTrust;
  /** The top-level upstream and the routes: the rules and headers of the site asked about. */
  readonly sites: SiteMap;
  readonly userFormat: 'name' | 'user';
  readonly outcomes: RequestOutcomes;
}

/**
 * nginx auth_request: 200 + identity headers, or the challenge (connection-bound NTLM
 * excluded). X-Original-URI (nginx's $request_uri, raw) is judged in its canonical form.
 */
export async function answerAuthRequest(
  context: AuthRequestContext,
  req: IncomingMessage,
  res: ServerResponse,
  started: bigint,
): Promise<void> {
  const { authenticator, adapterOptions, outcomes } = context;
  const originalUri = req.headers['x-original-uri'];
  const originalMethod = req.headers['x-original-method'];
  // Without X-Original-URI the path nginx is asking about is unknown: judging the endpoint's own
  // path instead would skip every path rule (fail open on a missing proxy_set_header).
  if (typeof originalUri !== 'string') {
    return outcomes.badRequest(req, res, 'ERR_HTTPAUTH_PATH_AMBIGUOUS', started);
  }
  const original = canonicalTarget(originalUri);
  if (!original.ok) return outcomes.badRequest(req, res, 'ERR_HTTPAUTH_PATH_AMBIGUOUS', started);
  // Rules judge the canonical path; Digest's uri and the signature cover the target as nginx
  // received it and passes it on ($request_uri, proxy_pass without a URI part).
  const path = original.path;
  const target = originalUri;
  const method =
    typeof originalMethod === 'string' && /^[A-Z]{1,16}$/.test(originalMethod)
      ? originalMethod
      : 'GET';
  const view = context.trust.view(req);
  const { rules, exchangeHeaders } = context.sites.pick(view.host, path);
  const base = authRequestOf(req, adapterOptions, view);
  // nginx opens a new upstream connection per subrequest: no connection-bound handshakes.
  const request = { ...base, method, target, connection: undefined };
  const decision = await authenticator.authenticate(request);
  outcomes.recordDecision(decision, request, started);
  if (decision.type === 'respond') {
    sendChallenge(req, res, decision, adapterOptions);
    outcomes.finish(req, path, undefined, decision.status, started);
    return;
  }
  if (!rules.match(path).allows(decision.auth)) {
    json(res, 403, errorJson('ERR_HTTPAUTH_FORBIDDEN'));
    outcomes.finish(req, path, decision.auth, 403, started);
    return;
  }
  const headers: OutgoingHttpHeaders = {};
  exchangeHeaders.setIdentity(
    headers,
    identityValues(decision.auth.principal, context.userFormat),
    method,
    target,
  );
  exchangeHeaders.setCertificateFingerprint(headers, decision.auth.principal);
  for (const [name, value] of decision.headers) headers[name] = value;
  res.writeHead(200, { ...headers, 'content-length': 0 });
  res.end();
  void decision.auth.impersonation.dispose();
  outcomes.finish(req, path, decision.auth, 200, started);
}
