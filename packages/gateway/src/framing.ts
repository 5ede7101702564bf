/**
 * Request body framing towards the upstream, and retiring upstream sockets after any anomaly.
 *
 * Transfer-Encoding is hop-by-hop (RFC 9112 §6.1, §7): the gateway decodes the client's chunked
 * body and must frame it again itself. Node's client only adds chunked framing by default for
 * methods that usually carry a body; for GET, HEAD, DELETE and OPTIONS it writes the body bytes
 * raw, and the upstream parses them as the next request on that pooled socket (request
 * smuggling: a forged X-Remote-User, or the next user's request captured as a body). So the
 * framing is decided here for every method alike:
 *   - Content-Length from the client (Node has checked it is one valid number): forwarded as is;
 *   - Transfer-Encoding: chunked: forwarded as chunked, explicitly;
 *   - any other transfer coding, or both headers at once (RFC 9112 §6.3 calls that a possible
 *     smuggling attempt), is refused with 400 ERR_HTTPAUTH_BODY_FRAMING and the connection
 *     closed;
 *   - neither: no body at all, whatever the method.
 */
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders } from 'node:http';

export type BodyFraming =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  | { readonly kind: 'refused'; readonly reason: string };

/** The framing of a client request's body, from the headers Node parsed. */
export function bodyFraming(req: IncomingMessage): BodyFraming {
  const te = req.headers['transfer-encoding'];
  const cl = req.headers['content-length'];
  if (te !== undefined && cl !== undefined) {
    return { kind: 'refused', reason: 'content-length with transfer-encoding' };
  }
  if (te !== undefined) {
    if (te.trim().toLowerCase() !== 'chunked') {
      return { kind: 'refused', reason: 'transfer coding other than chunked' };
    }
    return { kind: 'chunked' };
  }
  if (cl !== undefined) {
    if (!/^\d{1,15}$/.test(cl)) return { kind: 'refused', reason: 'invalid content-length' };
    const length = Number(cl);
    return length === 0 ? { kind: 'none' } : { kind: 'length', length };
  }
  return { kind: 'none' };
}

/** Methods for which Node's client opens no body of its own. */
const BODYLESS_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'DELETE',
  'OPTIONS',
  'TRACE',
]);

/** Set the upstream framing headers (after the header filter removed the client's). */
export function applyFraming(
  headers: OutgoingHttpHeaders,
  framing: BodyFraming,
  method: string,
): void {
  delete headers['content-length'];
  delete headers['transfer-encoding'];
  if (framing.kind === 'length') headers['content-length'] = String(framing.length);
  else if (framing.kind === 'chunked') headers['transfer-encoding'] = 'chunked';
  // A body-less POST, PUT or PATCH says so: Node would otherwise open a chunked body for them.
  else if (framing.kind === 'none' && !BODYLESS_METHODS.has(method))
    headers['content-length'] = '0';
}

/**
 * Never let an upstream socket go back to the pool once anything about this exchange was off:
 * the client's body ended early or failed, the upstream answered before it had the whole body,
 * or either side errored. Node's agent reuses a socket only when the request has its
 * `shouldKeepAlive` set when the response ends; destroying it closes the socket at once.
 * forward.ts calls this from its own response, error and timeout handlers (one listener per
 * event and request, not two).
 */
export function retireUpstreamSocket(upstreamReq: ClientRequest): void {
  upstreamReq.shouldKeepAlive = false;
}

/**
 * The client's side of the same rule: a request stream that fails, or a body that ends before
 * it is complete, aborts the upstream request (its socket is then closed, never pooled).
 */
export function guardClientBody(
  req: IncomingMessage,
  upstreamReq: ClientRequest,
  framing: BodyFraming,
): void {
  req.on('error', () => upstreamReq.destroy());
  // Without a body there is nothing to cut short.
  if (framing.kind === 'none') return;
  req.on('close', () => {
    if (!req.complete) upstreamReq.destroy();
  });
}

/**
 * Node's parser errors (llhttp codes) that mean the body framing itself is bad: CL with TE, an
 * invalid Content-Length or Transfer-Encoding, broken chunks (RFC 9112 §6.3, §7.1).
 */
const FRAMING_PARSE_ERRORS = new Set([
  'HPE_UNEXPECTED_CONTENT_LENGTH',
  'HPE_INVALID_CONTENT_LENGTH',
  'HPE_INVALID_TRANSFER_ENCODING',
  'HPE_INVALID_CHUNK_SIZE',
  'HPE_CHUNK_EXTENSIONS_OVERFLOW',
  'HPE_INVALID_EOF_STATE',
]);

/** The answer to a request Node's parser refused; the connection is closed after it. */
export function parseErrorResponse(
  code: string | undefined,
  body: (framing: boolean) => string,
): string {
  const framing = code !== undefined && FRAMING_PARSE_ERRORS.has(code);
  const text = body(framing);
  return (
    'HTTP/1.1 400 Bad Request\r\ncontent-type: application/json; charset=utf-8\r\n' +
    `content-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`
  );
}
