/**
 * Authorization as Express middleware: after httpAuth(), let the request through only when the
 * authenticated principal satisfies the rules; otherwise answer 403 with ERR_HTTPAUTH_FORBIDDEN
 * (not a new challenge: the client already proved who it is).
 *
 *   app.use(httpAuth({ packages }));
 *   app.get('/admin', authorize(requireGroup('S-1-5-21-…-512')), handler);
 */
import type { AuthorizationRule } from '@httpauth/core';
import { combineRules, errorBody, HttpAuthError } from '@httpauth/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** Several rules must all hold (use anyOf() for alternatives). */
export function authorize(...rules: AuthorizationRule[]): RequestHandler {
  const rule = combineRules(rules);
  return (req: Request, res: Response, next: NextFunction): void => {
    if (rule.test(req.auth)) {
      next();
      return;
    }
    res.status(403).json(errorBody(new HttpAuthError('ERR_HTTPAUTH_FORBIDDEN')));
  };
}
