/**
 * Small response helpers shared by the gateway's request, auth_request and upgrade paths.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { errorBody, HttpAuthError } from '@httpauth/core';
import type { ErrorCode } from '@httpauth/core';

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

/** The scheme of an Authorization header, for metric labels (never the token). */
export function schemeOf(headers: IncomingHttpHeaders): string {
  const value = headers.authorization;
  if (value === undefined) return 'none';
  const match = /^\s*([A-Za-z0-9!#$%&'*+.^_`|~-]{1,20})/.exec(value);
  return match === null ? 'invalid' : (match[1] as string).toLowerCase();
}
