/**
 * One generation of the gateway: everything built from one configuration (the authenticator
 * with its packages, credential files, store and directory; the sites with their upstream pools
 * and rules; the identity headers). A reload builds a new generation and serves new requests
 * with it, while requests already running finish on the one they started on; the old generation
 * is closed once its last request has ended. A configuration that fails to build leaves the
 * current generation serving.
 */
import { createAuthenticator } from '@httpauth/core';
import type { Authenticator, AuthenticatorOptions, KeyValueStore } from '@httpauth/core';
import { resolveAdapterOptions } from '@httpauth/core/adapter';
import type { GatewayConfig } from './config-types.js';
import { buildClientCertificate, type BuiltClientCertificate } from './certificates.js';
import { buildDirectory } from './directory.js';
import type { Logger } from './logger.js';
import type { GatewayMetrics } from './metrics.js';
import { RequestOutcomes } from './outcomes.js';
import {
  basicWarnings,
  buildPackages,
  ntlmWarnings,
  readConfiguredFile,
  readSecret,
} from './packages.js';
import type { ProxyContext, ServingState } from './proxy-request.js';
import { ProxyTrust } from './proxy-trust.js';
import { SiteMap } from './routes.js';
import { buildStore } from './store.js';
import type { RedisStore } from '@httpauth/redis';
import type { UpgradeContext } from './upgrade.js';

export interface Generation {
  readonly config: GatewayConfig;
  readonly authenticator: Authenticator;
  readonly proxy: ProxyContext;
  readonly upgrade: UpgradeContext;
  /** Count a request against this generation; `release` once its response has closed. */
  enter(): void;
  release(): void;
  /** Count an upgrade until it is admitted or refused (then the tunnel needs nothing of it). */
  hold<T>(work: Promise<T>): Promise<T>;
  /**
   * Wait (at most `timeoutMs`) for the shared store to answer; false when it did not (requests
   * that need it then get 503 until it does: the store fails closed).
   */
  storeReady(timeoutMs: number): Promise<boolean>;
  /** Close once no request of this generation is running any more. */
  retire(): Promise<void>;
}

/** Shared by every generation: what outlives a reload. */
export interface Shared {
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly state: ServingState;
  /** A store given by the embedding application (never closed by a reload). */
  readonly store?: KeyValueStore;
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
function storeOf(config: GatewayConfig, logger: Logger): RedisStore | undefined {
  if (config.store === undefined) return undefined;
  if (config.store.redis.fallback === 'local')
    logger.log(
      'warn',
      'store.redis.fallback is local: during a Redis outage each instance ' +
        'keeps its own replay cache, so a replay to another instance is not refused',
    );
  return buildStore(config.store.redis, (message) => logger.log('warn', message));
}

/** An embedder's store, shared by every generation: closing a generation must not close it. */
function unclosable(store: KeyValueStore): KeyValueStore {
  return {
    add: (key, value, ttlMs, owner) => store.add(key, value, ttlMs, owner),
    get: (key) => store.get(key),
    compareAndSet: (key, expected, value, ttlMs, owner) =>
      store.compareAndSet(key, expected, value, ttlMs, owner),
    advance: (key, value, ttlMs, owner) => store.advance(key, value, ttlMs, owner),
    delete: (key) => store.delete(key),
  };
}

function authenticatorOf(config: GatewayConfig, shared: Shared) {
  const built = buildPackages(config);
  let redis: RedisStore | undefined;
  let builtCertificate: BuiltClientCertificate | undefined;
  try {
    const sessions = sessionOptions(config);
    const certificate =
      config.channelBindingCertificate === undefined
        ? undefined
        : readConfiguredFile(config.channelBindingCertificate, 'channelBindingCertificate');
    const directory = buildDirectory(config.directory);
    // Built last: everything above may refuse the configuration, and a store holds connections.
    redis = shared.store === undefined ? storeOf(config, shared.logger) : undefined;
    const store = shared.store === undefined ? redis : unclosable(shared.store);
    const clientCertificates = config.listen.tls?.clientCertificates;
    // Its LDAP connection (a directory rule) opens on the first lookup.
    builtCertificate =
      clientCertificates === undefined
        ? undefined
        : buildClientCertificate(clientCertificates, config.directory);
    const authenticator = createAuthenticator({
      packages: built.packages,
      ...(builtCertificate === undefined ? {} : { certificate: builtCertificate.certificate }),
      ...(directory === undefined ? {} : { directory }),
      maxHeaderBytes: config.maxHeaderBytes,
      ...(store === undefined ? {} : { store }),
      ...(sessions === undefined ? {} : { sessions }),
      ...(certificate === undefined ? {} : { channelBindingCertificate: certificate }),
    });
    const close = async () => {
      await authenticator.close();
      built.close();
      await directory?.close();
      await builtCertificate?.close();
    };
    const ready = redis;
    const storeReady = async (timeoutMs: number): Promise<boolean> =>
      ready === undefined
        ? true
        : ready.ready(timeoutMs).then(
            () => true,
            () => false,
          );
    return { authenticator, close, storeReady };
  } catch (error) {
    built.close();
    void redis?.close();
    void builtCertificate?.close();
    throw error;
  }
}

export function buildGeneration(config: GatewayConfig, shared: Shared): Generation {
  const { logger, metrics, state } = shared;
  const trust = new ProxyTrust(config.trustProxy, config.trustedProxies);
  const sites = new SiteMap(config, trust);
  let built: ReturnType<typeof authenticatorOf>;
  try {
    built = authenticatorOf(config, shared);
  } catch (error) {
    sites.close();
    throw error;
  }
  for (const warning of [...ntlmWarnings(config), ...basicWarnings(config)])
    logger.log('warn', warning);
  const { authenticator } = built;
  const adapterOptions = resolveAdapterOptions({ trustProxy: config.trustProxy });
  const outcomes = new RequestOutcomes(logger, metrics);
  const { defaultSite } = sites;
  const proxy: ProxyContext = {
    config,
    authenticator,
    adapterOptions,
    trust,
    sites,
    metrics,
    forwarding: { ...defaultSite, metrics, logger, outcomes },
    authRequest: {
      authenticator,
      adapterOptions,
      trust,
      sites,
      userFormat: config.identity.userFormat,
      outcomes,
    },
    state,
  };
  const upgrade: UpgradeContext = {
    authenticator,
    adapterOptions,
    trust,
    sites,
    metrics,
    outcomes,
  };
  let running = 0;
  let retired: (() => void) | undefined;
  const closed = new Promise<void>((resolve) => {
    retired = resolve;
  });
  let retiring = false;
  const closeNow = () => {
    sites.close();
    void built.close().finally(() => retired?.());
  };
  const release = () => {
    running--;
    if (retiring && running === 0) closeNow();
  };
  return {
    config,
    authenticator,
    proxy,
    upgrade,
    enter() {
      running++;
    },
    release,
    hold(work) {
      running++;
      return work.finally(release);
    },
    storeReady: built.storeReady,
    retire() {
      if (!retiring) {
        retiring = true;
        if (running === 0) closeNow();
      }
      return closed;
    },
  };
}
