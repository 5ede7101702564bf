/**
 * Prometheus metrics in the text exposition format (version 0.0.4), kept in plain Maps: the
 * gateway has a handful of series, so a client library would add weight and nothing else.
 *
 * Every label value comes from a closed set, so no client can grow the series without bound (a
 * scheme name, an upstream error code or a status code the client or upstream chose would
 * otherwise become a new series that never expires): the configured mechanisms plus `none`,
 * the stable error codes, status codes 100-599, a fixed list of socket error codes; anything
 * else is `other`. Each counter also stops adding series at MAX_SERIES, as a second bound.
 */
import { ERROR_CODES } from '@httpauth/core';
import { MECHANISMS } from './config-types.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function labelText(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return (
    '{' +
    entries
      .map(
        ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
      )
      .join(',') +
    '}'
  );
}

/** Series per counter at most; a new label set past this is counted under `other` labels. */
export const MAX_SERIES = 512;

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

function bounded(value: string, allowed: ReadonlySet<string>): string {
  return allowed.has(value) ? value : 'other';
}

export class GatewayMetrics {
  readonly #mechanisms: ReadonlySet<string>;
  readonly #codes: ReadonlySet<string> = new Set([...Object.keys(ERROR_CODES), 'ok']);
  readonly #requests = new Map<string, number>();
  readonly #auth = new Map<string, number>();
  readonly #upstreamErrors = new Map<string, number>();
  readonly #buckets = new Array<number>(LATENCY_BUCKETS.length).fill(0);
  #latencyCount = 0;
  #latencySum = 0;

  /** `mechanisms`: the label values allowed for the mechanism label (the configured ones). */
  constructor(mechanisms: readonly string[] = MECHANISMS) {
    // Success labels carry the principal's mechanism (Kerberos, NTLM, Digest, Basic, Session).
    this.#mechanisms = new Set([...mechanisms, 'kerberos', 'session', 'none']);
  }

  #inc(map: Map<string, number>, labels: Record<string, string>): void {
    let key = labelText(labels);
    if (!map.has(key) && map.size >= MAX_SERIES) {
      key = labelText(Object.fromEntries(Object.keys(labels).map((k) => [k, 'other'])));
    }
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  request(status: number, seconds: number): void {
    const code =
      Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'other';
    this.#inc(this.#requests, { code });
    this.#latencyCount++;
    this.#latencySum += seconds;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      if (seconds <= (LATENCY_BUCKETS[i] as number))
        this.#buckets[i] = (this.#buckets[i] as number) + 1;
    }
  }

  /** outcome: success | challenge | failure; reason: the stable error code, or "ok". */
  auth(outcome: 'success' | 'challenge' | 'failure', mechanism: string, reason: string): void {
    this.#inc(this.#auth, {
      outcome,
      mechanism: this.#mechanisms.has(mechanism.toLowerCase()) ? mechanism : 'other',
      reason: bounded(reason, this.#codes),
    });
  }

  upstreamError(kind: string): void {
    this.#inc(this.#upstreamErrors, {
      kind: kind === 'timeout' ? kind : bounded(kind, UPSTREAM_ERROR_KINDS),
    });
  }

  render(pendingHandshakes: number, inFlight: number): string {
    const lines: string[] = [];
    const counter = (name: string, help: string, map: Map<string, number>) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
      for (const [labels, value] of map) lines.push(`${name}${labels} ${value}`);
    };
    counter(
      'httpauth_gateway_requests_total',
      'Requests answered, by status code.',
      this.#requests,
    );
    counter(
      'httpauth_gateway_auth_total',
      'Authentication outcomes by mechanism and reason code.',
      this.#auth,
    );
    counter(
      'httpauth_gateway_upstream_errors_total',
      'Requests that could not reach the upstream.',
      this.#upstreamErrors,
    );
    lines.push(
      '# HELP httpauth_gateway_request_duration_seconds Time from request to response headers.',
      '# TYPE httpauth_gateway_request_duration_seconds histogram',
    );
    LATENCY_BUCKETS.forEach((le, i) => {
      lines.push(
        `httpauth_gateway_request_duration_seconds_bucket{le="${le}"} ${this.#buckets[i]}`,
      );
    });
    lines.push(
      `httpauth_gateway_request_duration_seconds_bucket{le="+Inf"} ${this.#latencyCount}`,
      `httpauth_gateway_request_duration_seconds_sum ${this.#latencySum}`,
      `httpauth_gateway_request_duration_seconds_count ${this.#latencyCount}`,
      '# HELP httpauth_gateway_pending_handshakes Connection-bound handshakes in progress.',
      '# TYPE httpauth_gateway_pending_handshakes gauge',
      `httpauth_gateway_pending_handshakes ${pendingHandshakes}`,
      '# HELP httpauth_gateway_in_flight_requests Requests being served.',
      '# TYPE httpauth_gateway_in_flight_requests gauge',
      `httpauth_gateway_in_flight_requests ${inFlight}`,
    );
    return lines.join('\n') + '\n';
  }
}
