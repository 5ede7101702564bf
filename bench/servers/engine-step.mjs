// The engine as the Node glue calls it, without an adapter around it: toAuthRequest() then
// authenticateNow(), asked `times` times for the same request (the benchmarks that separate the
// engine's first call of a request from its further calls: tls-app.mjs, in-place-app.mjs).
import { createAuthenticator } from '@httpauth/core';
import { authenticateNow, resolveAdapterOptions, toAuthRequest } from '@httpauth/core/adapter';

/**
 * A step for `authenticatorOptions`: (req, target?) -> the decision, or a promise of it (a
 * connection's first logon waits; the loop stops asking then).
 */
export function engineStep(authenticatorOptions, times = 1) {
  const authenticator = createAuthenticator(authenticatorOptions);
  const adapterOptions = resolveAdapterOptions({});
  return (req, target) => {
    const request = toAuthRequest(req, adapterOptions, undefined, target);
    let decision = authenticateNow(authenticator, request);
    for (let i = 1; i < times && typeof decision.then !== 'function'; i++) {
      decision = authenticateNow(authenticator, request);
    }
    return decision;
  };
}

/** The engine's view of the request alone (toAuthRequest with the default adapter options). */
export function translateStep() {
  const adapterOptions = resolveAdapterOptions({});
  return (req) => toAuthRequest(req, adapterOptions);
}
