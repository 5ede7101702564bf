// Process CPU time per accept of one httpauth build, for before/after comparisons of the Kerberos
// accept path: run it alternately against two checkouts' packages/core/dist on the same tokens.
//   node bench/lib/kerberos-cpu.mjs CORE_DIST engine|acceptor TOKENS KEYTAB
// engine: createAuthenticator + negotiate() (header in, decision with the AP-REP out); acceptor:
// KerberosAcceptor.accept on each token's Kerberos mechToken. The first 1,000 tokens warm up,
// the rest are timed; three passes, each with a fresh authenticator or acceptor and store (so
// every token is new to its replay cache), and the best pass is printed, in µs per accept:
// CPU time moves less than wall time on a shared machine, and the best of three less again.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { kerberosAcceptor, kerberosMechTokens, negotiateEngine } from './negotiate-accept.mjs';

const [dist, mode, tokenPath, keytab] = process.argv.slice(2);
const core = await import(pathToFileURL(resolve(dist, 'index.js')).href);
const wire = await import(pathToFileURL(resolve(dist, 'wire.js')).href);
const tokens = readFileSync(tokenPath, 'utf8').trim().split('\n');
let runPass;
if (mode === 'engine') {
  runPass = async (list) => {
    const authenticate = negotiateEngine(core, keytab);
    const connection = new EventEmitter();
    for (const token of list) {
      const decision = await authenticate(token, connection);
      const reply = decision.headers?.find(([name]) => name === 'www-authenticate');
      if (decision.type !== 'authenticated' || reply === undefined) throw new Error('refused');
    }
  };
} else if (mode === 'acceptor') {
  const mechTokens = new Map(kerberosMechTokens(wire, tokens).map((m, i) => [tokens[i], m]));
  runPass = async (list) => {
    const accept = kerberosAcceptor(core, keytab);
    for (const token of list) {
      const result = await accept(mechTokens.get(token));
      if (!result.ok || result.responseToken === undefined) throw new Error('refused');
    }
  };
} else {
  throw new Error(`unknown mode ${mode}`);
}
const warmup = tokens.slice(0, 1000);
const timed = tokens.slice(1000);
let best = Infinity;
for (let pass = 0; pass < 3; pass++) {
  await runPass(warmup);
  const start = process.cpuUsage();
  await runPass(timed);
  const used = process.cpuUsage(start);
  best = Math.min(best, (used.user + used.system) / timed.length);
}
console.log(JSON.stringify({ mode, cpuUsPerAccept: best }));
