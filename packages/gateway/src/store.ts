/**
 * The shared store from `store.redis`: @httpauth/redis's RedisStore, so every gateway instance
 * behind a load balancer sees one Kerberos replay cache, one set of Digest nonce counts and one
 * session revocation list (a replay refused by one instance is refused by all). The store fails
 * closed by default: an operation Redis cannot answer is refused with 503, never accepted.
 */
import { RedisStore } from '@httpauth/redis';
import type { RedisStoreOptions } from '@httpauth/redis';
import type { RedisStoreConfig } from './config-types.js';
import { readConfiguredFile, readSecret } from './packages.js';

/** ioredis connection options shared by standalone, Sentinel and Cluster: credentials and TLS. */
function connectionOptions(
  config: RedisStoreConfig,
): NonNullable<RedisStoreOptions['redisOptions']> {
  const password =
    config.password ??
    (config.passwordFile === undefined
      ? undefined
      : readSecret(config.passwordFile, 'store.redis.passwordFile', 1).toString('utf8'));
  const ca =
    config.caFile === undefined
      ? undefined
      : readConfiguredFile(config.caFile, 'store.redis.caFile');
  return {
    ...(config.username === undefined ? {} : { username: config.username }),
    ...(password === undefined ? {} : { password }),
    ...(config.tls ? { tls: ca === undefined ? {} : { ca } } : {}),
  };
}

export function buildStore(config: RedisStoreConfig, warn: (message: string) => void): RedisStore {
  const redisOptions = connectionOptions(config);
  const common: RedisStoreOptions = {
    keyPrefix: config.keyPrefix,
    commandTimeoutMs: config.commandTimeoutMs,
    fallback: config.fallback,
    warn,
  };
  if (config.cluster !== undefined)
    return new RedisStore({
      ...common,
      cluster: config.cluster,
      clusterOptions: { redisOptions },
    });
  if (config.sentinels !== undefined)
    return new RedisStore({
      ...common,
      sentinels: config.sentinels,
      ...(config.name === undefined ? {} : { name: config.name }),
      redisOptions,
    });
  return new RedisStore({ ...common, url: config.url ?? '', redisOptions });
}
