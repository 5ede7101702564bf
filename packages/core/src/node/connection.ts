/**
 * Connection handling: keep an HTTP/1.1 connection usable for the client's next attempt (NTLM
 * and Negotiate need the same connection for their next leg), bound what is read to get there,
 * and release the impersonation context when the response is over.
 */
import type { AuthDecision, AuthInfo } from '../loop/authenticator.js';
import type { ResolvedAdapterOptions } from './options.js';
import type { ChallengeResponse, NodeRequest, NodeResponse } from './message.js';
import { hasUnreadBody } from './message.js';

/**
 * Whether a challenged response must keep its connection whatever the body: true while a
 * connection-bound handshake is in progress, since the client's next leg must arrive on this
 * same connection (an NTLM or multi-leg Negotiate handshake is bound to its connection).
 */
export function keepsConnection(decision: AuthDecision & { type: 'respond' }): boolean {
  return decision.error.code === 'ERR_HTTPAUTH_HANDSHAKE_CONTINUE';
}

/**
 * Read and discard the rest of a challenged request's body, so the connection can carry the
 * client's next attempt (HTTP/1.1 keep-alive; NTLM needs the same connection). Node's server
 * would dump an unread body after the response too; doing it here also bounds a chunked body of
 * unknown size: past `maxDrainBytes` the socket is closed once the response is out, except
 * during a handshake.
 */
export function drainRequestBody(
  req: NodeRequest,
  res: NodeResponse,
  response: ChallengeResponse,
  options: ResolvedAdapterOptions,
  keepConnection: boolean,
): void {
  if (req.httpVersionMajor >= 2 || response.closeConnection || !hasUnreadBody(req)) return;
  if (req.readableEnded || req.destroyed) return;
  let size = 0;
  const socket = req.socket;
  const stop = (): void => {
    req.off('data', onData);
    if (res.writableFinished) socket.destroy();
    else res.once('finish', () => socket.destroy());
  };
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    if (!keepConnection && size > options.maxDrainBytes) stop();
  };
  req.on('data', onData);
  req.resume();
}

/**
 * Call `auth.impersonation.dispose()` once, when the response finishes or the connection closes
 * first (the SSPI RevertToSelf / DeleteSecurityContext step). A failing dispose is reported to
 * `onError` rather than thrown, since nobody is left to catch it.
 */
export function disposeWhenDone(
  res: NodeResponse,
  auth: AuthInfo,
  onError?: (error: unknown) => void,
): void {
  // Listening for the end of every response costs about a tenth of Express's throughput; an
  // identify context has nothing to revert, so there is nothing to wait for.
  if (auth.impersonation.needsDispose === false) return;
  let done = false;
  const dispose = (): void => {
    if (done) return;
    done = true;
    res.off('finish', dispose);
    res.off('close', dispose);
    auth.impersonation.dispose().catch((error: unknown) => onError?.(error));
  };
  if (res.writableFinished || res.destroyed) {
    // Too late to wait for anything: release immediately.
    queueMicrotask(dispose);
    return;
  }
  res.once('finish', dispose);
  res.once('close', dispose);
}
