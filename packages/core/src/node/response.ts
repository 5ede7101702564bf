/**
 * Response writing: a `respond` decision becomes a status, headers and a JSON error body, in
 * framework-neutral form (challengeResponse) or written straight to a Node response
 * (sendChallenge); a `pass` decision adds its success headers (applySuccessHeaders).
 */
import { errorBody } from '../loop/authenticator.js';
import type { AuthDecision, Header } from '../loop/authenticator.js';
import type { BodyLoader } from './body.js';
import { drainRequestBody, keepsConnection } from './connection.js';
import { resetForHttp11 } from './http11.js';
import type { ResolvedAdapterOptions } from './options.js';
import type { ChallengeResponse, NodeRequest, NodeResponse } from './message.js';
import { declaredLength, hasUnreadBody } from './message.js';

/** Group decision headers by name, keeping their order (WWW-Authenticate in offer order). */
export function groupHeaders(headers: readonly Header[]): Map<string, string[]> {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    const list = grouped.get(key);
    if (list === undefined) grouped.set(key, [value]);
    else list.push(value);
  }
  return grouped;
}

/**
 * Turns a `respond` decision into a framework-neutral response: status, grouped headers, the JSON
 * error body, and whether the connection must close (a body too large to drain).
 */
export function challengeResponse(
  req: NodeRequest,
  decision: AuthDecision & { type: 'respond' },
  options: ResolvedAdapterOptions,
  body?: BodyLoader,
): ChallengeResponse {
  const headers = groupHeaders(decision.headers);
  headers.set('content-type', ['application/json; charset=utf-8']);
  let closeConnection = false;
  if (req.httpVersionMajor < 2 && !keepsConnection(decision)) {
    const declared = declaredLength(req);
    // A body cut short by the auth-int cap leaves bytes Node would have to read and discard.
    if (body?.failed === true) closeConnection = hasUnreadBody(req);
    else if (declared !== undefined && declared > options.maxDrainBytes) {
      closeConnection = hasUnreadBody(req);
    }
  }
  if (closeConnection) headers.set('connection', ['close']);
  return {
    status: decision.status,
    headers,
    body: JSON.stringify(errorBody(decision.error)),
    closeConnection,
  };
}

/**
 * Write a `respond` decision straight to a Node response (node:http handler, Express). Also
 * drains the request body. NTLM on an HTTP/2 stream gets no response: the stream is reset with
 * HTTP_1_1_REQUIRED instead (http11.ts).
 */
export function sendChallenge(
  req: NodeRequest,
  res: NodeResponse,
  decision: AuthDecision & { type: 'respond' },
  options: ResolvedAdapterOptions,
  body?: BodyLoader,
): void {
  if (resetForHttp11(req, decision)) return;
  const response = challengeResponse(req, decision, options, body);
  if (res.headersSent) {
    res.end();
    return;
  }
  res.statusCode = response.status;
  for (const [name, values] of response.headers) {
    if (name === 'connection' && req.httpVersionMajor >= 2) continue;
    res.setHeader(name, values.length === 1 ? (values[0] as string) : [...values]);
  }
  res.setHeader('content-length', Buffer.byteLength(response.body));
  drainRequestBody(req, res, response, options, keepsConnection(decision));
  res.end(response.body);
}

/** Add the success headers (mutual-authentication token, Authentication-Info) to a response. */
export function applySuccessHeaders(res: NodeResponse, headers: readonly Header[]): void {
  // A kept connection or a session adds none: nothing to group on most authenticated requests.
  if (headers.length === 0) return;
  // One header the response does not have yet (Digest's Authentication-Info, a Negotiate
  // mutual-authentication token): set as it is, with no grouping.
  if (headers.length === 1) {
    const [name, value] = headers[0] as Header;
    if (!res.hasHeader(name)) {
      res.setHeader(name, value);
      return;
    }
  }
  for (const [name, values] of groupHeaders(headers)) {
    const existing = res.getHeader(name);
    const merged: string[] = [];
    if (Array.isArray(existing)) merged.push(...existing.map(String));
    else if (existing !== undefined) merged.push(String(existing));
    merged.push(...values);
    res.setHeader(name, merged.length === 1 ? (merged[0] as string) : merged);
  }
}
