/**
 * Small response helpers shared by the gateway's request, auth_request and upgrade paths.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { errorBody, HttpAuthError } from '@httpauth/core';
import type { AuthDecision, ErrorCode } from '@httpauth/core';

export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: OutgoingHttpHeaders = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** The JSON body for a stable code, with that code's one fixed message (core's errorBody). */
export function errorJson(code: ErrorCode): { error: string; message: string } {
  return errorBody(new HttpAuthError(code));
}

/**
 * The metric label for a decision's scheme (core names it, so the Authorization header is never
 * parsed twice): lower case, 'none' when the request carried no credentials. Labels outside the
 * configured set become 'other' in GatewayMetrics.
 */
export function schemeLabel(decision: AuthDecision): string {
  return decision.scheme?.toLowerCase() ?? 'none';
}
