/**
 * @httpauth/redis: httpauth's shared state on Redis for several nodes. Explicit named exports.
 */
export { RedisStore } from './store.js';
export type { RedisClient, RedisStoreOptions, StoreFallback } from './store.js';
export { CHANNEL_STORE } from './events.js';
export type { StoreFailureReason, StoreStateEvent } from './events.js';
export { DEFAULT_KEY_PREFIX, redisKey, redisKeyLayout } from './keys.js';
export type { RedisKeyKind } from './keys.js';
export type { OwnerQuotaOptions } from './owner-quota.js';
