/**
 * What the gateway records about each request it answers: a metric and a log line per response,
 * a metric per authentication decision, and the 400 every path gives for a request it cannot
 * judge. Shared by the proxy, auth_request and upgrade paths so they count alike.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthDecision, AuthInfo, AuthRequest, ErrorCode } from '@httpauth/core';
import { logDecision, type AuthLogger } from '@httpauth/core/adapter';
import type { Logger } from './logger.js';
import type { GatewayMetrics } from './metrics.js';
import { errorJson, json, schemeLabel } from './responses.js';

export class RequestOutcomes {
  /** The gateway's JSON logger behind the adapters' logger interface (fields, then message). */
  private readonly decisionLogger: AuthLogger;

  constructor(
    private readonly logger: Logger,
    private readonly metrics: GatewayMetrics,
  ) {
    this.decisionLogger = {
      info: (fields, msg) => logger.log('info', msg ?? 'httpauth', fields),
      warn: (fields, msg) => logger.log('warn', msg ?? 'httpauth', fields),
      debug: (fields, msg) => logger.log('debug', msg ?? 'httpauth', fields),
    };
  }

  /** One response sent: count it and log it (path without query, never a credential). */
  finish(
    req: IncomingMessage,
    path: string,
    auth: AuthInfo | undefined,
    status: number,
    started: bigint,
  ): void {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.metrics.request(status, seconds);
    if (this.logger.enabled?.('info') === false) return;
    this.logger.log('info', 'request', {
      method: req.method,
      path,
      status,
      ms: Math.round(seconds * 1000),
      ...(auth === undefined
        ? {}
        : { user: auth.principal.name, mechanism: auth.principal.mechanism }),
    });
  }

  /**
   * Count an authentication decision under its outcome, scheme and stable code, and log it with
   * the fields every adapter's `logger` writes (the audit event's: the failure's operator-only
   * reason and detail, client address, method, path, duration).
   */
  recordDecision(decision: AuthDecision, request: AuthRequest, started: bigint): void {
    // Failures are logged at warn, successes at info: build no line the level drops.
    const { logger } = this;
    if (logger.enabled?.('warn') !== false) {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const successLevel = logger.enabled?.('info') === false ? false : 'info';
      logDecision(this.decisionLogger, successLevel, decision, request, ms);
    }
    if (decision.type === 'authenticated') {
      this.metrics.auth('success', decision.auth.principal.mechanism, 'ok');
      return;
    }
    const code = decision.error.code;
    const outcome =
      code === 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED' || code === 'ERR_HTTPAUTH_HANDSHAKE_CONTINUE'
        ? 'challenge'
        : 'failure';
    this.metrics.auth(outcome, schemeLabel(decision), code);
  }

  /** A 400 with a stable code; framing errors also close the connection (the body is unread). */
  badRequest(req: IncomingMessage, res: ServerResponse, code: ErrorCode, started: bigint): void {
    json(
      res,
      400,
      errorJson(code),
      code === 'ERR_HTTPAUTH_BODY_FRAMING' ? { connection: 'close' } : {},
    );
    this.finish(req, '-', undefined, 400, started);
  }
}
