/**
 * @httpauth/core/node: createHandler, the request listener for plain node:http servers. The glue
 * adapters are built on is published separately, as `@httpauth/core/adapter`.
 *
 * @module @httpauth/core/node
 */
export { createHandler } from './handler.js';
export type {
  AnyRequest,
  AnyResponse,
  AuthenticatedHandler,
  AuthenticatedRequest,
  HandlerSource,
  MaybeAuthenticatedHandler,
  NodeHandler,
  NodeHandlerOptions,
  StrictHandlerOptions,
} from './handler.js';
export type { AdapterOptions, AuthenticatorSource } from './options.js';
export type { AuthLogger, LoggerOptions, SuccessLogLevel } from './decision-log.js';
