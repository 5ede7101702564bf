/**
 * How a challenge reaches the client through passport.
 *
 * Passport collects the `challenge` of every failing strategy and, when it answers 401 itself,
 * sets `WWW-Authenticate` to the array of the string ones (one header line each). The engine may
 * offer several challenges at once (Negotiate, NTLM, Digest): joined into one string they would
 * form a single line that browsers do not split (a Digest challenge itself contains commas), so
 * each must be its own line (RFC 7235 §4.1 allows both forms; clients reliably parse only this
 * one). The strategy therefore hands passport a non-string challenge (an info object, which
 * custom callbacks and `failureMessage` see) and adds its own header lines when the response
 * goes out with the challenge status, after those of any other failing strategy.
 */
import type { ErrorCode, Header } from '@httpauth/core';
import { HttpAuthError } from '@httpauth/core';
import type { NodeResponse } from '@httpauth/core/adapter';

/** The `challenge` passport hands to custom callbacks and `failureMessage`. */
export interface HttpAuthChallenge {
  /** A stable `ERR_HTTPAUTH_*` code (docs/errors.md). */
  readonly code: ErrorCode;
  readonly message: string;
  /** The challenges (WWW-Authenticate values) the engine offered, in offer order. */
  readonly challenges: readonly string[];
}

const CHALLENGE_HEADERS = new Set(['www-authenticate', 'proxy-authenticate']);

export function challengeInfo(code: ErrorCode, headers: readonly Header[]): HttpAuthChallenge {
  return {
    code,
    message: new HttpAuthError(code).message,
    challenges: headers
      .filter(([name]) => CHALLENGE_HEADERS.has(name.toLowerCase()))
      .map(([, value]) => value),
  };
}

function valuesOf(value: number | string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value.map(String) : [String(value as string | number)];
}

/**
 * Add the decision's headers (challenges, Retry-After...) when the response head is written with
 * `status`, the status passport answers with when the strategies failed. A failureRedirect or an
 * app's own response with another status gets none of them.
 */
export function addChallengeHeadersOnWrite(
  res: NodeResponse,
  status: number,
  headers: ReadonlyMap<string, readonly string[]>,
): void {
  // writeHead is the one point every response head goes through (res.end() calls it too).
  const writeHead = res.writeHead as (...args: unknown[]) => NodeResponse;
  const patched = function (this: NodeResponse, ...args: unknown[]): NodeResponse {
    res.writeHead = writeHead as typeof res.writeHead;
    const code = typeof args[0] === 'number' ? args[0] : res.statusCode;
    if (code === status && !res.headersSent) {
      for (const [name, values] of headers) {
        if (name === 'content-type' || name === 'connection') continue;
        // Other strategies' challenges (set by passport) first: passport orders by priority.
        const existing = valuesOf(res.getHeader(name)).filter((v) => !values.includes(v));
        const merged = [...existing, ...values];
        res.setHeader(name, merged.length === 1 ? (merged[0] as string) : merged);
      }
    }
    return writeHead.apply(this, args);
  };
  res.writeHead = patched as typeof res.writeHead;
}
