// Where one accept's microseconds go: each phase of the Kerberos accept path timed alone, in a
// loop over the benchmark's own MIT-made SPNEGO tokens (one process, after a warm-up; the best
// of REPS passes, so a shared machine's preemption shows less), then the raw acceptor and the
// whole engine path on the same tokens. A sampling profile (suites/profile.ts) says which
// functions are hot; this says what each step costs on its own, with no profiler attached.
//   node bench/lib/kerberos-phases.mjs TOKENS KEYTAB   prints {"phases": [{label, us}]}
// The phases call the engine's own internal functions from packages/core/dist, in the order an
// accept runs them; they are measured separately, so their sum differs from the whole by the
// glue between them (promises, objects, the loop) and by cache effects.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';

const dist = new URL('../../packages/core/dist/', import.meta.url).href;
const load = (path) => import(dist + path);
const { createAuthenticator, negotiate, KerberosAcceptor, MemoryStore } = await load('index.js');
const { decodeNegTokenInit } = await load('negotiate/neg-token-init.js');
const { classifyNegotiateToken } = await load('negotiate/negotiate-token.js');
const { encodeNegTokenResp } = await load('negotiate/neg-token-resp.js');
const { parseCredentials } = await load('grammar/http-auth.js');
const { decodeStrictBase64 } = await load('grammar/base64.js');
const { decodeGssToken } = await load('kerberos/gss-token.js');
const { decodeApReq } = await load('kerberos/messages/ap-req.js');
const { TicketCache } = await load('kerberos/ticket-cache.js');
const { decryptTicket } = await load('kerberos/ticket-decryption.js');
const authenticatorChecks = await load('kerberos/authenticator-checks.js');
const { decryptAuthenticator, checkAuthenticatorAndTimes, gssChecksumOf } = authenticatorChecks;
const { establishContext } = await load('kerberos/ap-reply.js');
const { recordAuthenticator } = await load('kerberos/replay-cache.js');
const { clientPrincipal } = await load('kerberos/client-identity.js');
const { Keytab, parseKeytab } = await load('kerberos/keytab.js');
const { unparsePrincipal } = await load('kerberos/messages/principal-name.js');

const [tokenPath, keytabPath] = process.argv.slice(2);
const REPS = 5;
const WARMUP = 500;
const SKEW = 3_600_000;
const base64 = readFileSync(tokenPath, 'utf8').trim().split('\n');
const count = base64.length;
const headers = base64.map((token) => `Negotiate ${token}`);
const spnego = base64.map((token) => Buffer.from(token, 'base64'));
const mechTokens = spnego.map((token) => decodeNegTokenInit(token).mechToken);
const messages = mechTokens.map((token) => decodeGssToken(token).message);
const apReqs = messages.map((message) => decodeApReq(message));
const keytab = new Keytab(parseKeytab(readFileSync(keytabPath)));
const { ticket } = apReqs[0];
const service = unparsePrincipal(ticket.sname, ticket.realm);
const serviceKey = keytab.find(service, ticket.encPart.etype, ticket.encPart.kvno);
const decrypted = decryptTicket(apReqs[0], serviceKey, () => {}, new Set());
const authenticators = apReqs.map((apReq) => decryptAuthenticator(apReq, decrypted.sessionKey));
const clientName = unparsePrincipal(decrypted.encTicket.cname, decrypted.encTicket.crealm);
// The GSS flags MIT's client sends with mutual authentication (RFC 4121 §4.1.1.1).
const GSS_FLAGS = gssChecksumOf(authenticators[0]).flags;
const KRB5_OID = '1.2.840.113554.1.2.2';
const apRep = establishContext(
  apReqs[0],
  authenticators[0],
  decrypted.sessionKey,
  GSS_FLAGS,
  KRB5_OID,
  () => {},
).responseToken;
const now = Date.now();

const phases = [];
/** Best µs per call over REPS passes of `run(i)` for every token; `reset` before each pass. */
async function time(label, run, reset) {
  reset?.();
  for (let i = 0; i < WARMUP; i++) await run(i);
  let best = Infinity;
  for (let rep = 0; rep < REPS; rep++) {
    reset?.();
    const start = process.hrtime.bigint();
    for (let i = 0; i < count; i++) await run(i);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e3 / count);
  }
  phases.push({ label, us: best });
}

await time('Authorization header parsing (scheme, token68)', (i) => parseCredentials(headers[i]));
await time('base64: strict check + decode', (i) => decodeStrictBase64(base64[i]));
await time('token classification (SPNEGO / Kerberos / NTLM)', (i) =>
  classifyNegotiateToken(spnego[i]),
);
await time('SPNEGO NegTokenInit decoding', (i) => decodeNegTokenInit(spnego[i]));
await time('GSS framing (RFC 2743 §3.1)', (i) => decodeGssToken(mechTokens[i]));
await time('AP-REQ decoding (ticket and authenticator DER)', (i) => decodeApReq(messages[i]));
await time('ticket cache lookup key (SHA-256 of the ticket)', (i) =>
  TicketCache.keyOf(apReqs[i].ticket.der),
);
await time('authenticator: decrypt + HMAC + DER decoding', (i) =>
  decryptAuthenticator(apReqs[i], decrypted.sessionKey),
);
await time('authenticator: client, time, GSS checksum checks', (i) => {
  checkAuthenticatorAndTimes(authenticators[i], decrypted.encTicket, now, SKEW);
  gssChecksumOf(authenticators[i]);
});
let store;
await time(
  'replay cache: SHA-256 key + MemoryStore add (awaited)',
  (i) => recordAuthenticator(store, apReqs[i].authenticator.cipher, clientName, 2 * SKEW),
  () => {
    store = new MemoryStore();
  },
);
await time('AP-REP: subkey, EncAPRepPart, encrypt + HMAC, GSS framing', (i) =>
  establishContext(
    apReqs[i],
    authenticators[i],
    decrypted.sessionKey,
    GSS_FLAGS,
    KRB5_OID,
    () => {},
  ),
);
await time('client Principal (from the cached ticket and PAC facts)', () =>
  clientPrincipal({
    name: clientName,
    encTicket: decrypted.encTicket,
    pac: decrypted.pac,
    localRealm: true,
    delegated: false,
    channelBound: false,
  }),
);
await time('SPNEGO NegTokenResp (accept-completed + AP-REP) + base64', () =>
  encodeNegTokenResp({ negState: 0, supportedMech: KRB5_OID, responseToken: apRep }).toString(
    'base64',
  ),
);

let acceptor;
await time(
  'the raw acceptor, whole (KerberosAcceptor.accept)',
  async (i) => {
    const result = await acceptor.accept(mechTokens[i], {
      store,
      now: Date.now(),
      channelBinding: undefined,
    });
    if (!result.ok || result.responseToken === undefined) throw new Error('not accepted');
  },
  () => {
    acceptor = new KerberosAcceptor({ keytab: keytabPath, clockSkewMs: SKEW });
    store = new MemoryStore();
  },
);
let authenticator;
const connection = new EventEmitter();
await time(
  'the engine path, whole (createAuthenticator + negotiate(): header in, decision out)',
  async (i) => {
    const decision = await authenticator.authenticate({
      method: 'GET',
      target: '/api',
      headers: { host: 'localhost', authorization: headers[i] },
      connection,
      httpVersionMajor: 1,
      secure: false,
      clientAddress: '127.0.0.1',
    });
    if (decision.type !== 'authenticated') throw new Error('not accepted');
  },
  () => {
    authenticator = createAuthenticator({
      packages: [
        negotiate({ kerberos: { keytab: keytabPath, clockSkewMs: SKEW }, kerberosOnly: true }),
      ],
    });
  },
);
console.log(JSON.stringify({ phases }));
