/**
 * The listening server: HTTP or HTTPS with the strict parser, a request listener that counts
 * in-flight requests and turns anything thrown into a coded 503, WebSocket upgrades, and coded
 * 400s for requests Node's parser refuses.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { ClientCertificatesConfig, GatewayConfig } from './config-types.js';
import { parseErrorResponse } from './framing.js';
import type { Logger } from './logger.js';
import { handleRequest } from './proxy-request.js';
import type { ProxyContext, ServingState } from './proxy-request.js';
import { errorJson, json } from './responses.js';
import { handleUpgrade } from './upgrade.js';
import type { UpgradeContext } from './upgrade.js';

/** Room for the request line and the other headers next to the largest Authorization header. */
const HEADER_SLACK_BYTES = 16 * 1024;

/** What serves a request: the generation current when it arrived (generation.ts). */
export interface Serving {
  readonly proxy: ProxyContext;
  readonly upgrade: UpgradeContext;
  /** Count a request against this generation; `release` when its response has closed. */
  enter(): void;
  release(): void;
  hold<T>(work: Promise<T>): Promise<T>;
}

/**
 * With client certificates the handshake asks for one, naming the configured anchors in the
 * CertificateRequest (RFC 8446 §4.3.2 certificate_authorities) so clients offer a matching
 * certificate, and never refuses the handshake itself: the certificate package decides, so a bad
 * certificate gets a coded answer and a client without one can still use auth.mechanisms.
 */
function clientCertificateRequest(clientCertificates: ClientCertificatesConfig | undefined): {
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
  ca?: Buffer;
} {
  if (clientCertificates === undefined) return {};
  return {
    requestCert: true,
    rejectUnauthorized: false,
    ca: readFileSync(clientCertificates.ca),
  };
}

export function createGatewayServer(
  config: Pick<GatewayConfig, 'listen' | 'maxHeaderBytes'>,
  logger: Logger,
  state: ServingState,
  current: () => Serving,
): Server {
  /** Anything thrown while serving: a coded 503 if nothing was sent yet, else the socket ends. */
  const internalError = (res: ServerResponse, error: unknown): void => {
    logger.log('error', 'internal error', {
      error: error instanceof Error ? error.name : 'unknown',
    });
    if (!res.headersSent) json(res, 503, errorJson('ERR_HTTPAUTH_INTERNAL'));
    else res.destroy();
  };
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    state.inFlight++;
    const serving = current();
    serving.enter();
    // One listener for both counters ('close' is emitted once per response).
    res.on('close', () => {
      state.inFlight--;
      serving.release();
    });
    if (state.closing) res.setHeader('connection', 'close');
    // Most requests (public paths, kept connections) are handled without a promise; one that
    // waits for its authentication returns it, and a failure either way becomes the coded 503.
    let pending: Promise<void> | undefined;
    try {
      pending = handleRequest(serving.proxy, req, res);
    } catch (error) {
      internalError(res, error);
      return;
    }
    if (pending !== undefined) pending.catch((error: unknown) => internalError(res, error));
  };

  const serverOptions = {
    maxHeaderSize: config.maxHeaderBytes + HEADER_SLACK_BYTES,
    // Never the lenient parser (not even under --insecure-http-parser): it accepts the
    // ambiguous framings smuggling is built on (RFC 9112 §6.3, §11.2).
    insecureHTTPParser: false,
    keepAliveTimeout: 65_000,
  };
  const server: Server =
    config.listen.tls === undefined
      ? createHttpServer(serverOptions, listener)
      : (createHttpsServer(
          {
            ...serverOptions,
            cert: readFileSync(config.listen.tls.cert),
            key: readFileSync(config.listen.tls.key),
            ...clientCertificateRequest(config.listen.tls.clientCertificates),
          },
          listener,
        ) as unknown as Server);
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const serving = current();
    serving.hold(handleUpgrade(serving.upgrade, req, socket, head)).catch(() => socket.destroy());
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) return;
    // A framing error gets its stable code; other parse errors a bare 400 (no code fits them).
    socket.end(
      parseErrorResponse(error.code, (framing) =>
        framing ? JSON.stringify(errorJson('ERR_HTTPAUTH_BODY_FRAMING')) : '',
      ),
    );
  });
  return server;
}
