/**
 * The Node messages the glue works on (HTTP/1.x and the HTTP/2 compatibility API), the facts
 * about a request body every other module of the glue asks, and the framework-neutral shape of
 * a challenge response.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

/** Requests the adapters accept: Node's HTTP/1.x request or the HTTP/2 compatibility request. */
export type NodeRequest = IncomingMessage | Http2ServerRequest;
/**
 * The responses the adapters write to: Node's HTTP/1.x response or the HTTP/2 compatibility
 * response.
 */
export type NodeResponse = ServerResponse | Http2ServerResponse;

/** The Content-Length the client declared, when it is a plain decimal number. */
export function declaredLength(req: NodeRequest): number | undefined {
  const value = req.headers['content-length'];
  if (value === undefined || !/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}

/** True when bytes of the request body may still be waiting on the connection. */
export function hasUnreadBody(req: NodeRequest): boolean {
  if (req.complete) return false;
  const declared = declaredLength(req);
  return (declared !== undefined && declared > 0) || req.headers['transfer-encoding'] !== undefined;
}

/** What to send for a `respond` decision, in framework-neutral form. */
export interface ChallengeResponse {
  readonly status: number;
  /** Header name -> values; several values mean several header lines. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  /** `{"error": CODE, "message": MESSAGE}` */
  readonly body: string;
  /** True when the connection should close after this response instead of being drained. */
  readonly closeConnection: boolean;
}
