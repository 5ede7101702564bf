/**
 * The gateway: authenticate every request with httpauth, then forward it to the upstream over a
 * keep-alive pool, streaming bodies both ways, with the identity in headers.
 *
 *   client --(Negotiate/NTLM/Digest/Basic, TLS)--> gateway --(X-Remote-User ...)--> upstream
 *
 * This module only assembles the parts from a validated configuration: the authenticator
 * (packages.ts), the path rules (rules.ts), forwarding (forward.ts), the request phases
 * (proxy-request.ts), nginx auth_request (auth-request.ts), upgrades (upgrade.ts) and the
 * server (server.ts); and it runs the listen/close lifecycle.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createAuthenticator } from '@httpauth/core';
import type { Authenticator, AuthenticatorOptions, KeyValueStore } from '@httpauth/core';
import { resolveAdapterOptions } from '@httpauth/core/node';
import type { GatewayConfig } from './config-types.js';
import { GatewayConfigError } from './config-types.js';
import { buildDirectory } from './directory.js';
import { Upstream } from './forward.js';
import type { ForwardContext } from './forward.js';
import { createLogger } from './logger.js';
import type { Logger } from './logger.js';
import { GatewayMetrics } from './metrics.js';
import { RequestOutcomes } from './outcomes.js';
import { buildPackages, ntlmWarnings, readSecret } from './packages.js';
import type { ProxyContext, ServingState } from './proxy-request.js';
import { ProxyTrust } from './proxy-trust.js';
import { PathRules } from './rules.js';
import { createGatewayServer } from './server.js';
import { buildStore } from './store.js';
import { UpstreamHeaders } from './upstream-headers.js';

export interface GatewayOptions {
  /** A shared store (e.g. @httpauth/redis) for several gateway nodes. */
  readonly store?: KeyValueStore;
  /** Where log lines go (default stdout). */
  readonly logWrite?: (line: string) => void;
}

export interface Gateway {
  readonly server: Server;
  readonly authenticator: Authenticator;
  readonly metrics: GatewayMetrics;
  /** Start listening; resolves with the bound address. */
  listen(): Promise<{ host: string; port: number }>;
  /** Stop accepting, let in-flight requests finish (up to the grace period), then close. */
  close(): Promise<void>;
}

/** The authentication-session options for core, with the secrets read from their files. */
function sessionOptions(config: GatewayConfig): AuthenticatorOptions['sessions'] {
  if (config.sessions === undefined) return undefined;
  return {
    keys: config.sessions.keys.map((k) => ({
      id: k.id,
      secret: readSecret(k.secretFile, `sessions key ${k.id}`, 32),
    })),
    cookieName: config.sessions.cookieName,
    maxAgeMs: config.sessions.maxAgeSec * 1000,
  };
}

/** The shared store `store.redis` configures (undefined: core's in-memory store). */
function storeOf(config: GatewayConfig, logger: Logger): KeyValueStore | undefined {
  if (config.store === undefined) return undefined;
  if (config.store.redis.fallback === 'local')
    logger.log(
      'warn',
      'store.redis.fallback is local: during a Redis outage each instance ' +
        'keeps its own replay cache, so a replay to another instance is not refused',
    );
  return buildStore(config.store.redis, (message) => logger.log('warn', message));
}

function readFileOf(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new GatewayConfigError([
      `cannot read channelBindingCertificate ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    ]);
  }
}

export function createGateway(config: GatewayConfig, options: GatewayOptions = {}): Gateway {
  const logger: Logger = createLogger(config.log.level, options.logWrite);
  const metrics = new GatewayMetrics(config.auth.mechanisms);
  const rules = new PathRules(config.rules, config.pathCase);
  for (const warning of ntlmWarnings(config)) logger.log('warn', warning);
  const upstream = new Upstream(config.upstream);
  const signatureSecret =
    config.identity.signature === undefined
      ? undefined
      : readSecret(config.identity.signature.secretFile, 'identity.signature.secretFile', 32);
  const sessions = sessionOptions(config);

  const built = buildPackages(config);
  const directory = buildDirectory(config.directory);
  const store = options.store ?? storeOf(config, logger);
  const authenticator = createAuthenticator({
    packages: built.packages,
    ...(directory === undefined ? {} : { directory }),
    maxHeaderBytes: config.maxHeaderBytes,
    ...(store === undefined ? {} : { store }),
    ...(config.channelBindingCertificate === undefined
      ? {}
      : { channelBindingCertificate: readFileOf(config.channelBindingCertificate) }),
    ...(sessions === undefined ? {} : { sessions }),
  });
  const adapterOptions = resolveAdapterOptions({ trustProxy: config.trustProxy });
  const trust = new ProxyTrust(config.trustProxy, config.trustedProxies);
  const exchangeHeaders = new UpstreamHeaders(config, signatureSecret, trust);
  const outcomes = new RequestOutcomes(logger, metrics);
  const state: ServingState = { closing: false, inFlight: 0 };
  const forwarding: ForwardContext = { upstream, exchangeHeaders, metrics, logger, outcomes };
  const proxy: ProxyContext = {
    config,
    authenticator,
    adapterOptions,
    trust,
    rules,
    metrics,
    forwarding,
    authRequest: {
      authenticator,
      adapterOptions,
      trust,
      rules,
      exchangeHeaders,
      userFormat: config.identity.userFormat,
      outcomes,
    },
    state,
  };
  const server = createGatewayServer(config, logger, proxy, {
    authenticator,
    adapterOptions,
    trust,
    rules,
    metrics,
    upstream,
    exchangeHeaders,
    outcomes,
  });

  return {
    server,
    authenticator,
    metrics,
    listen() {
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
          upstream.close();
          void authenticator.close();
          built.close();
          void directory?.close();
          logger.log('info', 'stopped');
          resolve();
        });
        // Idle keep-alive connections would hold close() open: end them now; busy ones finish.
        server.closeIdleConnections();
      });
    },
  };
}
