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
import { MECHANISMS } from './config-types.js';

export { MAX_SERIES, PROMETHEUS_CONTENT_TYPE } from '@httpauth/core/adapter';

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

  /** Counts one answered request by status code and records its duration in seconds. */
  request(status: number, seconds: number): void {
    const code =
      Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'other';
    this.#requests.inc({ code });
    this.#duration.observe(seconds);
  }

  /** outcome: success | challenge | failure; reason: the stable error code, or "ok". */
  auth(outcome: 'success' | 'challenge' | 'failure', mechanism: string, reason: string): void {
    this.#auth.inc({
      outcome,
      mechanism: this.#mechanisms.has(mechanism.toLowerCase()) ? mechanism : 'other',
      reason: bounded(reason, this.#codes),
    });
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
