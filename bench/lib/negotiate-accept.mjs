// The Kerberos accept paths the benchmarks time, shared by bench/suites/kerberos-worker.mjs (this
// checkout's build) and bench/lib/kerberos-cpu.mjs (any checkout's packages/core/dist): each takes
// the @httpauth/core module it is to drive, so the caller chooses which build runs.

/** Clock skew on every side: the tokens are made minutes before the pass (MIT: clockskew = 3600). */
export const CLOCK_SKEW_MS = 3_600_000;

/** The Kerberos mechTokens inside SPNEGO NegTokenInits (base64 lines), with core's ./wire. */
export function kerberosMechTokens(wire, spnegoTokens) {
  return spnegoTokens.map(
    (token) => wire.decodeNegTokenInit(Buffer.from(token, 'base64')).mechToken,
  );
}

/**
 * The whole engine path: createAuthenticator + negotiate() (Kerberos only) with the keytab;
 * `store` (optional) holds the replay cache. Returns authenticate(token, connection): the decision
 * for one `Authorization: Negotiate <token>` request on that keep-alive connection.
 */
export function negotiateEngine(core, keytab, store) {
  const authenticator = core.createAuthenticator({
    packages: [
      core.negotiate({ kerberos: { keytab, clockSkewMs: CLOCK_SKEW_MS }, kerberosOnly: true }),
    ],
    ...(store === undefined ? {} : { store }),
  });
  return (token, connection) =>
    authenticator.authenticate({
      method: 'GET',
      target: '/api',
      headers: { host: 'localhost', authorization: `Negotiate ${token}` },
      connection,
      httpVersionMajor: 1,
      secure: false,
      clientAddress: '127.0.0.1',
    });
}

/**
 * The raw acceptor: a KerberosAcceptor with a replay cache of its own. Returns accept(mechToken):
 * its result (an AP-REP in responseToken when the client asked for mutual authentication).
 */
export function kerberosAcceptor(core, keytab) {
  const acceptor = new core.KerberosAcceptor({ keytab, clockSkewMs: CLOCK_SKEW_MS });
  const store = new core.MemoryStore();
  return (mechToken) =>
    acceptor.accept(mechToken, { store, now: Date.now(), channelBinding: undefined });
}
