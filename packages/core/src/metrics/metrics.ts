/**
 * Metrics for applications, in the Prometheus text format: authentications by scheme, mechanism
 * and outcome, challenges, time spent authenticating, pending connection-bound handshakes, and
 * the store's latency and errors. Any adapter can expose them:
 *
 *   const metrics = createMetrics({ authenticators: [authenticator] });
 *   app.get('/metrics', (req, res) => res.type(metrics.contentType).send(metrics.text()));
 *
 * The counters come from the `httpauth:*` diagnostics channels, so they see every authenticator
 * in the process; pending handshakes come from the authenticators given (or `watch`ed). Every
 * label value comes from a closed set (known schemes and mechanisms, the stable error codes):
 * a client that sends `Authorization: Random123` is counted under `scheme="other"`, never as
 * a new series.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { ERROR_CODES, isHttpAuthError } from '../errors.js';
import {
  CHANNEL_CHALLENGE,
  CHANNEL_FAILURE,
  CHANNEL_SUCCESS,
  CHANNEL_WARNING,
  type ChallengeEvent,
  type FailureEvent,
  type SuccessEvent,
  type WarningEvent,
} from '../events.js';
import type { KeyValueStore } from '../store/types.js';
import {
  bounded,
  Counter,
  Gauge,
  Histogram,
  PROMETHEUS_CONTENT_TYPE,
  renderFamilies,
} from './exposition.js';

/** What metrics need of an authenticator: its packages' schemes and its pending handshakes. */
export interface MetricsSource {
  readonly packages: readonly { readonly scheme: string }[];
  readonly pendingHandshakes: number;
}

/**
 * Options of {@link createMetrics}: the authenticators whose pending handshakes are reported, and
 * the metric name prefix.
 */
export interface MetricsOptions {
  /** Authenticators whose pending handshakes are reported and whose schemes are label values. */
  readonly authenticators?: readonly MetricsSource[];
  /** Metric name prefix (default `httpauth`). */
  readonly prefix?: string;
}

/**
 * An application's authentication metrics: render them with `text()` on a `/metrics` route, wrap
 * the store with `instrumentStore`, and `close()` to stop counting.
 */
export interface HttpAuthMetrics {
  /** The Content-Type for `text()`. */
  readonly contentType: string;
  /** The current values in the Prometheus text exposition format. */
  text(): string;
  /** Report this authenticator's pending handshakes too. */
  watch(authenticator: MetricsSource): void;
  /**
   * A store that times every operation and counts its errors, then delegates to `store`. Give
   * the result to `createAuthenticator({ store })`; keep `store` itself for its own methods
   * (`RedisStore.ready()`).
   */
  instrumentStore(store: KeyValueStore): KeyValueStore;
  /** Stop listening to the diagnostics channels. */
  close(): void;
}

const KNOWN_SCHEMES = ['Negotiate', 'NTLM', 'Digest', 'Basic', 'Session'];
const MECHANISMS = new Set(['Kerberos', 'NTLM', 'Digest', 'Basic', 'Session', 'Certificate']);
const CODES = new Set(Object.keys(ERROR_CODES));
const WARNING_SOURCES = new Set(['directory', 'winbind']);

/** The optional duration the loop attaches to an event, in milliseconds. */
function durationSeconds(event: object): number | undefined {
  const value = (event as { durationMs?: unknown }).durationMs;
  return typeof value === 'number' ? value / 1000 : undefined;
}

/**
 * Counts authentications, challenges and their latency from the `httpauth:*` diagnostics channels
 * (every authenticator in the process), plus pending handshakes and store latency, for Prometheus.
 * Label values come from closed sets, so clients cannot create new series.
 */
export function createMetrics(options: MetricsOptions = {}): HttpAuthMetrics {
  const prefix = options.prefix ?? 'httpauth';
  const sources = new Set<MetricsSource>();
  const schemes = new Map<string, string>(KNOWN_SCHEMES.map((s) => [s.toLowerCase(), s]));

  const authentications = new Counter(
    `${prefix}_authentications_total`,
    'Authentication outcomes by scheme, mechanism, outcome and error code.',
  );
  const challenges = new Counter(
    `${prefix}_challenges_total`,
    'Challenges sent: initial 401s and handshake legs.',
  );
  const duration = new Histogram(
    `${prefix}_authentication_duration_seconds`,
    'Time from credentials received to the decision, by scheme and outcome.',
  );
  const warnings = new Counter(`${prefix}_warnings_total`, 'Degradations that failed no request.');
  const storeDuration = new Histogram(
    `${prefix}_store_operation_duration_seconds`,
    'Time of each store operation.',
  );
  const storeErrors = new Counter(
    `${prefix}_store_errors_total`,
    'Store operations that failed, by operation and error code.',
  );
  const pending = new Gauge(
    `${prefix}_pending_handshakes`,
    'Connection-bound handshakes in progress in this process.',
    () => [...sources].reduce((sum, source) => sum + source.pendingHandshakes, 0),
  );

  function watch(source: MetricsSource): void {
    sources.add(source);
    for (const pkg of source.packages) schemes.set(pkg.scheme.toLowerCase(), pkg.scheme);
  }
  for (const source of options.authenticators ?? []) watch(source);

  /** The package's spelling of a scheme the process knows, `none` or `other`. */
  function schemeLabel(scheme: string | undefined): string {
    if (scheme === undefined) return 'none';
    return schemes.get(scheme.toLowerCase()) ?? 'other';
  }

  const onSuccess = (message: unknown) => {
    const event = message as SuccessEvent;
    const scheme = schemeLabel(event.scheme);
    authentications.inc({
      scheme,
      mechanism: bounded(event.mechanism, MECHANISMS),
      outcome: event.reused ? 'reused' : 'success',
      code: 'ok',
    });
    const seconds = durationSeconds(event);
    if (seconds !== undefined) duration.observe(seconds, { scheme, outcome: 'success' });
  };
  const onFailure = (message: unknown) => {
    const event = message as FailureEvent;
    const scheme = schemeLabel(event.scheme);
    authentications.inc({
      scheme,
      mechanism: 'none',
      outcome: 'failure',
      code: bounded(event.code, CODES),
    });
    const seconds = durationSeconds(event);
    if (seconds !== undefined) duration.observe(seconds, { scheme, outcome: 'failure' });
  };
  const onChallenge = (message: unknown) => {
    const event = message as ChallengeEvent;
    const scheme = schemeLabel(event.scheme);
    challenges.inc({ scheme, step: event.step === 'continue' ? 'continue' : 'initial' });
    const seconds = durationSeconds(event);
    if (seconds !== undefined && event.step === 'continue') {
      duration.observe(seconds, { scheme, outcome: 'continue' });
    }
  };
  const onWarning = (message: unknown) => {
    const event = message as WarningEvent;
    warnings.inc({
      source: bounded(event.source, WARNING_SOURCES),
      code: bounded(event.code, CODES),
    });
  };
  subscribe(CHANNEL_SUCCESS, onSuccess);
  subscribe(CHANNEL_FAILURE, onFailure);
  subscribe(CHANNEL_CHALLENGE, onChallenge);
  subscribe(CHANNEL_WARNING, onWarning);

  function instrumentStore(store: KeyValueStore): KeyValueStore {
    const timed = <T>(operation: string, run: () => Promise<T>): Promise<T> => {
      const started = process.hrtime.bigint();
      const observe = () =>
        storeDuration.observe(Number(process.hrtime.bigint() - started) / 1e9, { operation });
      return run().then(
        (value) => {
          observe();
          return value;
        },
        (error: unknown) => {
          observe();
          const code = isHttpAuthError(error) ? error.code : 'other';
          storeErrors.inc({ operation, code: bounded(code, CODES) });
          throw error;
        },
      );
    };
    const instrumented: KeyValueStore = {
      add: (key, value, ttlMs, owner) => timed('add', () => store.add(key, value, ttlMs, owner)),
      get: (key) => timed('get', () => store.get(key)),
      compareAndSet: (key, expected, value, ttlMs, owner) =>
        timed('compareAndSet', () => store.compareAndSet(key, expected, value, ttlMs, owner)),
      advance: (key, value, ttlMs, owner) =>
        timed('advance', () => store.advance(key, value, ttlMs, owner)),
      delete: (key) => timed('delete', () => store.delete(key)),
    };
    if (store.close !== undefined) {
      return { ...instrumented, close: () => store.close!() };
    }
    return instrumented;
  }

  return {
    contentType: PROMETHEUS_CONTENT_TYPE,
    text: () =>
      renderFamilies([
        authentications,
        challenges,
        duration,
        pending,
        warnings,
        storeDuration,
        storeErrors,
      ]),
    watch,
    instrumentStore,
    close() {
      unsubscribe(CHANNEL_SUCCESS, onSuccess);
      unsubscribe(CHANNEL_FAILURE, onFailure);
      unsubscribe(CHANNEL_CHALLENGE, onChallenge);
      unsubscribe(CHANNEL_WARNING, onWarning);
    },
  };
}
