// One timed pass of Kerberos AP-REQ acceptance in this process, over a file of SPNEGO tokens made
// by MIT's client (what a browser sends after `Negotiate `). Prints {accepts, ms, rate, failures}.
//   ours   TOKENS KEYTAB WARMUP          the raw acceptor: KerberosAcceptor.accept() on each
//                                        token's Kerberos mechToken (SPNEGO removed before timing)
//   engine TOKENS KEYTAB WARMUP INFLIGHT the whole engine path: createAuthenticator + negotiate(),
//                                        an `Authorization: Negotiate <token>` header in, a decision
//                                        with the `WWW-Authenticate: Negotiate <AP-REP>` header out
//   mit    TOKENS KEYTAB WARMUP INFLIGHT the `kerberos` addon (MIT GSSAPI) as passport-negotiate
//                                        drives it: initializeServer + step per token
//   floor-full | floor-seen TOKENS KEYTAB WARMUP
//                                        the crypto floor (bench/lib/crypto-floor.mjs) at the
//                                        tokens' sizes and enctype
// Every accepting mode verifies the AP-REQ fully and produces the AP-REP (every token asks for
// mutual auth). The replay cache is fresh in each process, so each token is seen once per pass
// (the JavaScript modes' steady-state warm-up, below, uses an acceptor and cache of its own).
// Clock skew: 1 hour on every side (the tokens are made minutes before the pass), MIT reads it
// from the realm's krb5.conf (clockskew = 3600).
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { kerberosAcceptor, kerberosMechTokens, negotiateEngine } from '../lib/negotiate-accept.mjs';

const [mode, tokenPath, keytab, warmupText, inflightText] = process.argv.slice(2);
const spnegoTokens = readFileSync(tokenPath, 'utf8').trim().split('\n');
const warmup = Number(warmupText);
const inflight = Number(inflightText ?? '1');

async function kerberosTokens() {
  return kerberosMechTokens(await import('@httpauth/core/wire'), spnegoTokens);
}

let tokens = spnegoTokens;
let acceptOne;
let closeStore = async () => {};
/** For the JavaScript modes: a fresh acceptor (and replay cache) for the steady-state warm-up. */
let freshAcceptOne;
if (mode === 'ours') {
  const core = await import('@httpauth/core');
  tokens = await kerberosTokens();
  freshAcceptOne = () => {
    const accept = kerberosAcceptor(core, keytab);
    return async (token) => {
      const result = await accept(token);
      // An AP-REP must come back: the client asked for mutual authentication.
      return result.ok && result.responseToken !== undefined && result.responseToken.length > 0;
    };
  };
  acceptOne = freshAcceptOne();
} else if (mode === 'engine') {
  const core = await import('@httpauth/core');
  // BENCH_REDIS_URL: the replay cache in Redis (@httpauth/redis), as a cluster keeps it.
  let store;
  if (process.env.BENCH_REDIS_URL !== undefined) {
    const { RedisStore } = await import('@httpauth/redis');
    store = new RedisStore({ url: process.env.BENCH_REDIS_URL });
    await store.ready();
    closeStore = () => store.close();
  }
  const engine = (withStore) => {
    const authenticate = negotiateEngine(core, keytab, withStore);
    // One keep-alive connection per lane, as an adapter passes its socket.
    const connections = new Map();
    return async (token, lane) => {
      let connection = connections.get(lane);
      if (connection === undefined) connections.set(lane, (connection = new EventEmitter()));
      const decision = await authenticate(token, connection);
      if (decision.type !== 'authenticated') return false;
      const reply = decision.headers.find(([name]) => name === 'www-authenticate');
      return reply !== undefined && /^Negotiate [A-Za-z0-9+/]{40,}=*$/.test(reply[1]);
    };
  };
  // A shared Redis would remember the warm-up's tokens as replays: no steady-state warm-up there.
  if (store === undefined) freshAcceptOne = () => engine(undefined);
  acceptOne = engine(store);
} else if (mode === 'mit') {
  process.env.KRB5_KTNAME = `FILE:${keytab}`;
  const kerberos = (await import('kerberos')).default;
  acceptOne = async (token) => {
    // The addon's server context is single use, so a server accepts one token, as
    // passport-negotiate does per request.
    const server = await kerberos.initializeServer('HTTP@localhost');
    await server.step(token);
    return (
      server.contextComplete === true &&
      typeof server.response === 'string' &&
      server.response.length > 0
    );
  };
} else if (mode === 'floor-full' || mode === 'floor-seen') {
  const { cryptoFloor } = await import('../lib/crypto-floor.mjs');
  const floorInputs = await import('../lib/floor-inputs.mjs');
  const floor = cryptoFloor(await floorInputs.fromTokens(await kerberosTokens(), keytab));
  const step = mode === 'floor-full' ? floor.full : floor.seen;
  acceptOne = async () => {
    step();
    return true;
  };
  // Stateless: the same steady-state warm-up as the other JavaScript modes.
  freshAcceptOne = () => acceptOne;
} else {
  throw new Error(`unknown mode ${mode}`);
}

let failures = 0;
async function pass(list) {
  let next = 0;
  const lane = async (id) => {
    while (next < list.length) {
      const token = list[next++];
      try {
        if (!(await acceptOne(token, id))) failures++;
      } catch {
        failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: inflight }, (_, id) => lane(id)));
}

// Steady state for the JavaScript modes: V8 keeps optimising the accept path over its first
// ten thousand calls or so (CPU per accept over successive passes of the 6,000 tokens, engine
// path: 177, 107, 86, then 79 µs; raw acceptor: 103, 66, 54, then 54-63 µs), and a server runs
// for hours. So every token goes twice through a throwaway acceptor with its own replay cache
// first; the timed instance is fresh and sees each token once. The addon's work is native code:
// its 'warmup' tokens below warm its binding.
// BENCH_STEADY_STATE_PASSES=0: none (the profile suite, whose per-accept figures count one pass).
const STEADY_STATE_PASSES = Number(process.env.BENCH_STEADY_STATE_PASSES ?? 2);
if (freshAcceptOne !== undefined) {
  const timedAcceptOne = acceptOne;
  for (let round = 0; round < STEADY_STATE_PASSES; round++) {
    acceptOne = freshAcceptOne();
    await pass(tokens);
  }
  acceptOne = timedAcceptOne;
}
await pass(tokens.slice(0, warmup));
const timed = tokens.slice(warmup);
const start = process.hrtime.bigint();
const cpuStart = process.cpuUsage();
await pass(timed);
const ms = Number(process.hrtime.bigint() - start) / 1e6;
// CPU time of the whole process (every thread: the addon's pool too), per accept: on a shared
// machine this moves less than the wall-clock rate.
const cpu = process.cpuUsage(cpuStart);
const cpuUs = (cpu.user + cpu.system) / timed.length;
console.log(
  JSON.stringify({ accepts: timed.length, ms, rate: (timed.length / ms) * 1000, cpuUs, failures }),
);
await closeStore();
