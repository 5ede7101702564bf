/**
 * The gateway: authenticate every request with httpauth, then forward it to the upstream over a
 * keep-alive pool, streaming bodies both ways, with the identity in headers.
 *
 *   client --(Negotiate/NTLM/Digest/Basic, TLS)--> gateway --(X-Remote-User ...)--> upstream
 *
 * This module runs the listen/reload/close lifecycle; what one configuration builds (the
 * authenticator, the sites with their rules and pools, the headers) is a generation
 * (generation.ts), swapped whole on reload; the server (server.ts) asks for the current one per
 * request.
 */
import type { Server } from 'node:http';
import type { Authenticator, KeyValueStore } from '@httpauth/core';
import type { GatewayConfig } from './config-types.js';
import { GatewayConfigError } from './config-types.js';
import { buildGeneration } from './generation.js';
import type { Generation, Shared } from './generation.js';
import { createLogger } from './logger.js';
import { GatewayMetrics } from './metrics.js';
import type { ServingState } from './proxy-request.js';
import { createGatewayServer } from './server.js';

/**
 * Options of `createGateway` that do not come from the configuration: a shared store built by the
 * caller, and where log lines go.
 */
export interface GatewayOptions {
  /** A shared store (e.g. @httpauth/redis) for several gateway nodes; kept across reloads. */
  readonly store?: KeyValueStore;
  /** Where log lines go (default stdout). */
  readonly logWrite?: (line: string) => void;
}

/**
 * A running gateway, from `createGateway`: the HTTP(S) server, the current authenticator and
 * metrics, and its lifecycle (`listen`, `reload` with a new configuration, `close`).
 */
export interface Gateway {
  readonly server: Server;
  /** The current generation's authenticator (a reload replaces it). */
  readonly authenticator: Authenticator;
  readonly metrics: GatewayMetrics;
  /** Wait for the shared store (bounded), start listening; resolves with the bound address. */
  listen(): Promise<{ host: string; port: number }>;
  /**
   * Serve new requests with this configuration (credential files are read again, the new store
   * is waited for as at start); running
   * requests finish on the old one. Throws a GatewayConfigError, and changes nothing, when the
   * configuration cannot be built or changes what only a restart can (listen, TLS).
   */
  reload(config: GatewayConfig): Promise<void>;
  /** Stop accepting, let in-flight requests finish (up to the grace period), then close. */
  close(): Promise<void>;
}

/** How long start-up and reload wait for a shared store to answer before serving anyway. */
const STORE_WAIT_MS = 10_000;

/** Settings bound to the listening socket: a reload cannot change them. */
function restartOnly(old: GatewayConfig, next: GatewayConfig): string[] {
  const problems: string[] = [];
  if (JSON.stringify(old.listen) !== JSON.stringify(next.listen))
    problems.push('listen (address or TLS) changes need a restart');
  if (old.maxHeaderBytes !== next.maxHeaderBytes)
    problems.push('maxHeaderBytes changes need a restart');
  return problems;
}

export function createGateway(config: GatewayConfig, options: GatewayOptions = {}): Gateway {
  const logger = createLogger(config.log.level, options.logWrite);
  const state: ServingState = { closing: false, inFlight: 0 };
  const shared: Shared = {
    logger,
    // A certificate logon's mechanism is 'Certificate': a label of its own, not 'other'.
    metrics: new GatewayMetrics([
      ...config.auth.mechanisms,
      ...(config.listen.tls?.clientCertificates === undefined ? [] : ['certificate']),
    ]),
    state,
    ...(options.store === undefined ? {} : { store: options.store }),
  };
  let current: Generation = buildGeneration(config, shared);
  /** Reloads started so far: only the latest may take over. */
  let reloads = 0;
  /** Serve once the store answers, so the first requests are not refused with 503 for nothing. */
  const storeReady = async (generation: Generation): Promise<void> => {
    if (!(await generation.storeReady(STORE_WAIT_MS)))
      logger.log(
        'warn',
        'the store does not answer yet; requests that need it get 503 until it does',
        {
          waitedMs: STORE_WAIT_MS,
        },
      );
  };
  const server = createGatewayServer(config, logger, state, () => current);

  return {
    server,
    get authenticator() {
      return current.authenticator;
    },
    metrics: shared.metrics,
    async listen() {
      await storeReady(current);
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.listen.port, config.listen.host, () => {
          server.off('error', reject);
          const address = server.address();
          const port =
            typeof address === 'object' && address !== null ? address.port : config.listen.port;
          logger.log('info', 'listening', {
            host: config.listen.host,
            port,
            upstream: config.upstream.url,
          });
          resolve({ host: config.listen.host, port });
        });
      });
    },
    async reload(next) {
      const problems = restartOnly(current.config, next);
      if (problems.length > 0) throw new GatewayConfigError(problems);
      const built = buildGeneration(next, shared);
      const ticket = ++reloads;
      await storeReady(built);
      // A later reload finished its wait first: this one is already out of date.
      if (ticket !== reloads || state.closing) {
        void built.retire();
        throw new GatewayConfigError(['superseded by a later reload']);
      }
      const old = current;
      current = built;
      void old.retire();
      logger.log('info', 'reloaded', { upstream: next.upstream.url, routes: next.routes.length });
    },
    close() {
      state.closing = true;
      return new Promise<void>((resolve) => {
        const deadline = setTimeout(
          () => server.closeAllConnections(),
          config.shutdownGraceSec * 1000,
        );
        deadline.unref();
        server.close(() => {
          clearTimeout(deadline);
          void current.retire().then(() => {
            logger.log('info', 'stopped');
            resolve();
          });
        });
        // Idle keep-alive connections would hold close() open: end them now; busy ones finish.
        server.closeIdleConnections();
      });
    },
  };
}
