/**
 * The `store` section (shared state for several gateway instances behind a load balancer) and
 * the front-proxy settings (`trustedProxies`, `channelBindingCertificate`). Types, ranges and
 * defaults come from the schema; this module adds what a schema cannot check: a password written
 * into the file's URL (secrets come from a file or the environment, never inline), CIDRs, and
 * the settings that only make sense together (several instances must share the Digest nonce key,
 * or a nonce one issued is refused by the others).
 */
import { isIP } from 'node:net';
import type { ConfigReader, Json } from './config-checks.js';
import { isObject } from './config-checks.js';
import type { ConfigOverrides, RedisStoreConfig, StoreConfig } from './config-types.js';

type Node = { host: string; port: number };

function nodes(value: unknown): Node[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const valid = value.filter(
    (n): n is Node => isObject(n) && typeof n['host'] === 'string' && typeof n['port'] === 'number',
  );
  return valid.length === 0 ? undefined : valid;
}

/** True when a redis:// URL names a password (the user-info part after a colon). */
function urlHasPassword(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    return false;
  }
}

/** The file's `store`, with HTTPAUTH_GATEWAY_REDIS_URL replacing any address the file gives. */
export function storeWithOverrides(root: Json, overrides: ConfigOverrides): Json {
  if (overrides.redisUrl === undefined) return root;
  const store = isObject(root['store']) ? root['store'] : {};
  const redis = isObject(store['redis']) ? store['redis'] : {};
  const { sentinels: _s, name: _n, cluster: _c, ...rest } = redis;
  return { ...root, store: { ...store, redis: { ...rest, url: overrides.redisUrl } } };
}

function parseRedis(
  raw: unknown,
  fileUrl: unknown,
  overrides: ConfigOverrides,
  read: ConfigReader,
): RedisStoreConfig {
  const r = read.section(raw);
  const url = read.optionalStr(r['url']);
  if (typeof fileUrl === 'string' && urlHasPassword(fileUrl))
    read.problems.push(
      'store.redis.url must not carry a password: use store.redis.passwordFile or ' +
        'HTTPAUTH_GATEWAY_REDIS_PASSWORD',
    );
  const sentinels = nodes(r['sentinels']);
  const name = read.optionalStr(r['name']);
  if (sentinels !== undefined && name === undefined)
    read.problems.push('store.redis.name (the Sentinel master name) is required with sentinels');
  const cluster = nodes(r['cluster']);
  const username = read.optionalStr(r['username']);
  const passwordFile = read.optionalFile(r['passwordFile']);
  const caFile = read.optionalFile(r['caFile']);
  if (passwordFile !== undefined && overrides.redisPassword !== undefined)
    read.problems.push(
      'store.redis.passwordFile and HTTPAUTH_GATEWAY_REDIS_PASSWORD: give the password once',
    );
  return {
    ...(url === undefined ? {} : { url }),
    ...(sentinels === undefined ? {} : { sentinels }),
    ...(name === undefined ? {} : { name }),
    ...(cluster === undefined ? {} : { cluster }),
    ...(username === undefined ? {} : { username }),
    ...(passwordFile === undefined ? {} : { passwordFile }),
    ...(overrides.redisPassword === undefined ? {} : { password: overrides.redisPassword }),
    tls: read.bool(r['tls'], 'store.redis.tls') || url?.startsWith('rediss:') === true,
    ...(caFile === undefined ? {} : { caFile }),
    keyPrefix: read.str(r['keyPrefix'], 'store.redis.keyPrefix'),
    commandTimeoutMs: read.num(r['commandTimeoutMs'], 'store.redis.commandTimeoutMs'),
    fallback: read.choice<'none' | 'local'>(r['fallback'], 'store.redis.fallback'),
  };
}

/**
 * `store`, or undefined without one. `fileUrl` is the URL as the file wrote it (the environment's
 * may carry a password; the file's may not).
 */
export function parseStore(
  root: Json,
  fileUrl: unknown,
  overrides: ConfigOverrides,
  read: ConfigReader,
): StoreConfig | undefined {
  if (root['store'] === undefined) return undefined;
  const store = parseRedis(read.section(root['store'])['redis'], fileUrl, overrides, read);
  const auth = read.section(root['auth']);
  const digest = read.section(auth['digest']);
  if (auth['digest'] !== undefined && digest['nonceKeyFile'] === undefined)
    read.problems.push(
      'auth.digest.nonceKeyFile is required with store: every instance must share the nonce ' +
        'key, or a nonce one instance issued is refused by the others',
    );
  return { redis: store };
}

/** An address, or an address/prefix-length CIDR, IPv4 or IPv6. */
export function isAddressOrCidr(text: string): boolean {
  const [address = '', bits, extra] = text.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

export function parseTrustedProxies(
  raw: unknown,
  override: string | undefined,
  read: ConfigReader,
): string[] {
  const listed =
    override === undefined
      ? (read.strings(raw) ?? [])
      : override
          .split(',')
          .map((entry) => entry.trim())
          .filter((entry) => entry !== '');
  for (const entry of listed)
    if (!isAddressOrCidr(entry))
      read.problems.push(`trustedProxies: "${entry}" is not an IPv4/IPv6 address or CIDR`);
  return listed;
}
