// Tiny security packages for adapter tests: one per-request scheme and one connection-bound,
// two-leg scheme shaped like NTLM, so the adapters can be tested before and apart from the real
// packages. They check nothing cryptographic; they only exercise the challenge loop's paths.
import { createHash } from 'node:crypto';
import {
  HttpAuthError,
  type AuthRequest,
  type ImpersonationContext,
  type Principal,
  type SecurityPackage,
} from '@httpauth/core';

export interface Seen {
  requests: AuthRequest[];
}

/**
 * `Token` scheme, per request. `Token good-NAME` authenticates NAME, `Token bad` is denied,
 * `Token body-SHA256HEX` authenticates only when the request body hashes to that value (a
 * stand-in for Digest auth-int), and any params form is refused as malformed.
 */
export function tokenPackage(seen?: Seen, challenges = ['Token realm="one"', 'Token realm="two"']) {
  const pkg: SecurityPackage = {
    name: 'Token',
    scheme: 'Token',
    connectionBound: false,
    challenges: () => challenges,
    async accept(credentials, context) {
      seen?.requests.push(context.request);
      const token = credentials.token68;
      if (token === undefined) throw new HttpAuthError('ERR_HTTPAUTH_HEADER_MALFORMED');
      if (token.startsWith('good-')) {
        const user = token.slice(5);
        const principal: Principal = { name: user, user, realm: 'test', mechanism: 'Basic' };
        return { type: 'complete', principal, authenticationInfo: `user=${user}` };
      }
      if (token.startsWith('body-')) {
        const loader = context.request.body;
        if (loader === undefined)
          return { type: 'reject', error: new HttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS') };
        const body = await loader();
        const digest = createHash('sha256').update(body).digest('hex');
        if (digest !== token.slice(5)) {
          return { type: 'reject', error: new HttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS') };
        }
        const principal: Principal = { name: 'body', user: 'body', mechanism: 'Basic' };
        return { type: 'complete', principal };
      }
      return { type: 'reject', error: new HttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS') };
    },
  };
  return pkg;
}

/**
 * `Hand` scheme, connection-bound like NTLM: `Hand one` starts (401 `Hand two-please`), `Hand
 * two` completes only on the connection that sent `one`, with a mutual-auth token.
 */
export function handshakePackage(options: { persist?: boolean } = {}) {
  const pkg: SecurityPackage = {
    name: 'Hand',
    scheme: 'Hand',
    connectionBound: true,
    challenges: () => ['Hand'],
    async accept(credentials, context) {
      const slot = context.handshake;
      if (slot === undefined) throw new HttpAuthError('ERR_HTTPAUTH_CONNECTION_REQUIRED');
      if (credentials.token68 === 'one') {
        slot.set('waiting');
        return { type: 'continue', token: 'two-please' };
      }
      if (credentials.token68 === 'two' && slot.get() === 'waiting') {
        const principal: Principal = {
          name: 'HAND\\carol',
          user: 'carol',
          realm: 'HAND',
          mechanism: 'NTLM',
        };
        return { type: 'complete', principal, token: 'mutual', persist: options.persist === true };
      }
      return { type: 'reject', error: new HttpAuthError('ERR_HTTPAUTH_HANDSHAKE_EXPIRED') };
    },
  };
  return pkg;
}

/** An impersonation factory that counts dispose() calls. */
export function countingImpersonation() {
  const state = { created: 0, disposed: 0 };
  const factory = (principal: Principal): ImpersonationContext => {
    state.created++;
    let done = false;
    return {
      level: 'identify',
      principal,
      dispose: async () => {
        if (!done) {
          done = true;
          state.disposed++;
        }
      },
      toJSON: () => ({ level: 'identify' }),
    };
  };
  return { state, factory };
}
