/**
 * HTTP_1_1_REQUIRED: NTLM authenticates a connection, and HTTP/2 multiplexes unrelated requests
 * over one, so NTLM credentials on an HTTP/2 stream cannot be answered with a handshake leg. As
 * IIS does, the stream is reset with the HTTP_1_1_REQUIRED error code (0xd, RFC 9113 §8.2.3,
 * RFC 7540 §9.2.1): browsers and curl then retry the request over HTTP/1.1, where NTLM works.
 * The loop says when (`ERR_HTTPAUTH_HTTP11_REQUIRED`); this module does it on a Node stream.
 */
import { constants } from 'node:http2';
import type { AuthDecision } from '../loop/authenticator.js';
import type { NodeRequest } from './message.js';

/** The part of an HTTP/2 stream the reset needs (node:http2 `ServerHttp2Stream`). */
interface ClosableStream {
  readonly destroyed: boolean;
  close(code?: number, callback?: () => void): void;
}

function streamOf(req: NodeRequest): ClosableStream | undefined {
  if (req.httpVersionMajor < 2 || !('stream' in req)) return undefined;
  const stream = (req as { stream?: unknown }).stream as Partial<ClosableStream> | undefined;
  return typeof stream?.close === 'function' ? (stream as ClosableStream) : undefined;
}

/** True when this refusal is to be answered by sending the client to HTTP/1.1. */
export function requiresHttp11(decision: AuthDecision): boolean {
  return decision.type === 'respond' && decision.error.code === 'ERR_HTTPAUTH_HTTP11_REQUIRED';
}

/**
 * Reset the request's HTTP/2 stream with HTTP_1_1_REQUIRED when the decision asks for it. True
 * when the stream was reset (or already gone): the caller then writes no response. False for
 * every other decision and for HTTP/1.x, where the caller writes the decision as usual.
 */
export function resetForHttp11(req: NodeRequest, decision: AuthDecision): boolean {
  if (!requiresHttp11(decision)) return false;
  const stream = streamOf(req);
  if (stream === undefined) return false;
  if (!stream.destroyed) stream.close(constants.NGHTTP2_HTTP_1_1_REQUIRED);
  return true;
}
