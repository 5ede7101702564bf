/**
 * Authorization as Koa middleware: after httpAuth(), continue only when `ctx.state.auth`
 * satisfies the rules; otherwise answer 403 with ERR_HTTPAUTH_FORBIDDEN (not a new challenge:
 * the client already proved who it is).
 *
 *   app.use(httpAuth({ packages }));
 *   router.get('/admin', authorize(requireGroup('S-1-5-21-…-512')), handler);
 */
import type { AuthorizationRule } from '@httpauth/core';
import { combineRules, errorBody, HttpAuthError } from '@httpauth/core';
import type { Middleware } from 'koa';
import type { HttpAuthState } from './types.js';

/** Several rules must all hold (use anyOf() for alternatives). */
export function authorize(...rules: AuthorizationRule[]): Middleware<Partial<HttpAuthState>> {
  const rule = combineRules(rules);
  return async (ctx, next) => {
    if (rule.test(ctx.state.auth)) {
      await next();
      return;
    }
    ctx.status = 403;
    ctx.type = 'application/json; charset=utf-8';
    ctx.body = JSON.stringify(errorBody(new HttpAuthError('ERR_HTTPAUTH_FORBIDDEN')));
  };
}
