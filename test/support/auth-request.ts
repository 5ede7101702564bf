// The request the challenge loop sees, for tests that call authenticate() without a server.
import type { AuthRequest } from '@httpauth/core';

/**
 * `GET /` over HTTP/1.1 without TLS, carrying `authorization` when given (an array is several
 * header lines) beside `extra.headers`; `extra` sets any other field (target, connection...).
 */
export function authRequest(
  authorization?: string | string[],
  extra: Partial<AuthRequest> = {},
): AuthRequest {
  const { headers, ...fields } = extra;
  return {
    method: 'GET',
    target: '/',
    headers: { ...headers, ...(authorization !== undefined && { authorization }) },
    httpVersionMajor: 1,
    secure: false,
    ...fields,
  };
}
