/**
 * Store health through node:diagnostics_channel, beside core's `httpauth:success` / `failure`
 * channels. One 'down' event when an outage starts and one 'up' event when it ends, never one
 * per request; events carry a coarse reason, never a key (keys hold nonces and principal names).
 *
 *   import { subscribe } from 'node:diagnostics_channel';
 *   subscribe('httpauth:store', (event) => metrics.gauge('redis_up', event.state === 'up' ? 1 : 0));
 */
import { channel } from 'node:diagnostics_channel';

/**
 * The diagnostics channel on which `RedisStore` publishes a {@link StoreStateEvent} when an outage
 * starts and when it ends.
 */
export const CHANNEL_STORE = 'httpauth:store';

/** Why Redis was judged unavailable. */
export type StoreFailureReason = 'timeout' | 'connection' | 'reply' | 'data-loss';

/**
 * Published on `httpauth:store` once when Redis becomes unavailable (`down`, with a coarse reason)
 * and once when it answers again (`up`); never a key.
 */
export interface StoreStateEvent {
  readonly store: 'redis';
  /** 'down' when an outage starts, 'up' when Redis answers again. */
  readonly state: 'down' | 'up';
  /** The configured failure policy: 'closed' answers 503, 'local' serves from memory. */
  readonly policy: 'closed' | 'local';
  /** Present on 'down'. */
  readonly reason?: StoreFailureReason;
  /** Present on 'up' with the local policy: entries written back to Redis. */
  readonly reconciled?: number;
}

const storeChannel = channel(CHANNEL_STORE);

export function publishStoreState(event: StoreStateEvent): void {
  if (storeChannel.hasSubscribers) storeChannel.publish(event);
}
