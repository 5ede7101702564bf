/**
 * The gateway's Prometheus metrics, built on core's exposition primitives (Counter, Gauge,
 * Histogram, renderFamilies), which escape label values and stop each family at MAX_SERIES.
 *
 * Every label value comes from a closed set, so no client can grow the series without bound (a
 * scheme name, an upstream error code or a status code the client or upstream chose would
 * otherwise become a new series that never expires): the configured mechanisms plus `none`,
 * the stable error codes, status codes 100-599, a fixed list of socket error codes; anything
 * else is `other`. MAX_SERIES per family is the second bound.
 */
import { ERROR_CODES } from '@httpauth/core';
import { bounded, Counter, Gauge, Histogram, renderFamilies } from '@httpauth/core/adapter';
import type { CounterChild, HistogramChild, Labels } from '@httpauth/core/adapter';
import { MECHANISMS } from './config-types.js';

export { MAX_SERIES, PROMETHEUS_CONTENT_TYPE } from '@httpauth/core/adapter';

/** Mechanism names whose success series are kept (a principal's mechanism is one of a few). */
const SUCCESS_SERIES_KEPT = 32;

const UPSTREAM_ERROR_KINDS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'HPE_INVALID_CONSTANT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * The gateway's Prometheus metrics (served on `metricsPath`): requests by status, authentication
 * outcomes, upstream errors, request duration, pending handshakes and in-flight requests. Every
 * label value comes from a closed set.
 */
export class GatewayMetrics {
  readonly #mechanisms: ReadonlySet<string>;
  readonly #codes: ReadonlySet<string> = new Set([...Object.keys(ERROR_CODES), 'ok']);
  readonly #requests = new Counter(
    'httpauth_gateway_requests_total',
    'Requests answered, by status code.',
  );
  readonly #auth = new Counter(
    'httpauth_gateway_auth_total',
    'Authentication outcomes by mechanism and reason code.',
  );
  readonly #upstreamErrors = new Counter(
    'httpauth_gateway_upstream_errors_total',
    'Requests that could not reach the upstream.',
  );
  readonly #duration = new Histogram(
    'httpauth_gateway_request_duration_seconds',
    'Time from request to response headers.',
  );
  /** The gauges' values at the moment render() was called (the gateway passes them in). */
  #pendingHandshakes = 0;
  #inFlight = 0;
  readonly #families = [
    this.#requests,
    this.#auth,
    this.#upstreamErrors,
    this.#duration,
    new Gauge(
      'httpauth_gateway_pending_handshakes',
      'Connection-bound handshakes in progress.',
      () => this.#pendingHandshakes,
    ),
    new Gauge(
      'httpauth_gateway_in_flight_requests',
      'Requests being served.',
      () => this.#inFlight,
    ),
  ];

  /** `mechanisms`: the label values allowed for the mechanism label (the configured ones). */
  constructor(mechanisms: readonly string[] = MECHANISMS) {
    // Success labels carry the principal's mechanism (Kerberos, NTLM, Digest, Basic, Session).
    this.#mechanisms = new Set([...mechanisms, 'kerberos', 'session', 'none']);
  }

  /**
   * The series counted for every request, kept rather than found by their label text each time:
   * one per status code (at most 501 of them and `other`), one per success mechanism.
   */
  readonly #byStatus = new Map<number, CounterChild>();
  readonly #successes = new Map<string, CounterChild>();
  /** Made on the first request, so an idle gateway renders no duration series (as before). */
  #durationSeries: HistogramChild | undefined;

  /** Counts one answered request by status code and records its duration in seconds. */
  request(status: number, seconds: number): void {
    let series = this.#byStatus.get(status);
    if (series === undefined) {
      const known = Number.isInteger(status) && status >= 100 && status <= 599;
      series = this.#requests.child({ code: known ? String(status) : 'other' });
      // Only the closed set is kept: any other number counts under `other` without a new entry.
      if (known) this.#byStatus.set(status, series);
    }
    series.inc();
    (this.#durationSeries ??= this.#duration.child()).observe(seconds);
  }

  /** outcome: success | challenge | failure; reason: the stable error code, or "ok". */
  auth(outcome: 'success' | 'challenge' | 'failure', mechanism: string, reason: string): void {
    if (outcome === 'success' && reason === 'ok') {
      this.#success(mechanism).inc();
      return;
    }
    this.#auth.inc(this.#authLabels(outcome, mechanism, reason));
  }

  #authLabels(outcome: string, mechanism: string, reason: string): Labels {
    return {
      outcome,
      mechanism: this.#mechanisms.has(mechanism.toLowerCase()) ? mechanism : 'other',
      reason: bounded(reason, this.#codes),
    };
  }

  /** A success's series by the principal's mechanism (a handful of names; bounded anyway). */
  #success(mechanism: string): CounterChild {
    let series = this.#successes.get(mechanism);
    if (series === undefined) {
      series = this.#auth.child(this.#authLabels('success', mechanism, 'ok'));
      if (this.#successes.size >= SUCCESS_SERIES_KEPT) this.#successes.clear();
      this.#successes.set(mechanism, series);
    }
    return series;
  }

  /**
   * Counts a request that could not reach the upstream, by socket error code (`timeout`, else a
   * known code or `other`).
   */
  upstreamError(kind: string): void {
    this.#upstreamErrors.inc({
      kind: kind === 'timeout' ? kind : bounded(kind, UPSTREAM_ERROR_KINDS),
    });
  }

  /**
   * The metrics in the Prometheus text exposition format, with the gauges set to the given values.
   */
  render(pendingHandshakes: number, inFlight: number): string {
    this.#pendingHandshakes = pendingHandshakes;
    this.#inFlight = inFlight;
    return renderFamilies(this.#families);
  }
}
