/**
 * @httpauth/core/adapter: the Node glue the framework adapters (@httpauth/express, /fastify,
 * /koa, /passport) and the gateway are built on, and adapters for other frameworks can be:
 * request translation, response writing, connection handling and the shared adapter options.
 *
 * @module @httpauth/core/adapter
 */
export {
  DEFAULT_INTEGRITY_BODY_BYTES,
  DEFAULT_MAX_DRAIN_BYTES,
  isAuthenticator,
  resolveAdapterOptions,
  resolveAdapterOptionsFrom,
  resolveAuthenticator,
} from './node/options.js';
export type {
  AdapterOptions,
  AuthenticatorSource,
  ResolvedAdapterOptions,
} from './node/options.js';
export type { ChallengeResponse, NodeRequest, NodeResponse } from './node/message.js';
export { toAuthRequest } from './node/request.js';
export { authenticateAndLog, authenticateAndLogNow, logDecision } from './node/decision-log.js';
export { authenticateNow } from './loop/authenticator.js';
export { isPromiseLike } from './loop/decision.js';
export type {
  AuthLogger,
  LogMethod,
  LoggerOptions,
  ResolvedLogger,
  SuccessLogLevel,
} from './node/decision-log.js';
export { createBodyLoader } from './node/body.js';
export type { BodyLoader } from './node/body.js';
export {
  applySuccessHeaders,
  challengeResponse,
  groupHeaders,
  sendChallenge,
} from './node/response.js';
export { disposeWhenDone, drainRequestBody, keepsConnection } from './node/connection.js';
export { resetForHttp11 } from './node/http11.js';
export {
  anonymousHeaders,
  passesAnonymously,
  prepareRefusal,
  refusalError,
  resolveSeams,
} from './node/seams.js';
export type { RefusalError, ResolvedSeams, SeamOptions } from './node/seams.js';

// Prometheus exposition primitives, for adapters and the gateway that expose their own metrics.
export {
  bounded,
  Counter,
  Gauge,
  Histogram,
  labelText,
  MAX_SERIES,
  PROMETHEUS_CONTENT_TYPE,
  renderFamilies,
} from './metrics/exposition.js';
export type {
  CounterChild,
  HistogramChild,
  HistogramSeries,
  Labels,
} from './metrics/exposition.js';
