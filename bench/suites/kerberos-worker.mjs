// One timed pass of Kerberos AP-REQ acceptance in this process, over a token file made by MIT's
// client. Prints {accepts, ms, failures}. Modes:
//   ours TOKENS KEYTAB WARMUP          httpauth's KerberosAcceptor, fresh in-memory replay cache
//   mit  TOKENS KEYTAB WARMUP INFLIGHT the `kerberos` addon (MIT GSSAPI): initializeServer + step
// Both verify the AP-REQ fully and produce the AP-REP (every token asks for mutual auth).
// The replay cache is fresh in each process, so each token is seen once per pass.
import { readFileSync } from 'node:fs';

const [mode, tokenPath, keytab, warmupText, inflightText] = process.argv.slice(2);
const tokens = readFileSync(tokenPath, 'utf8').trim().split('\n');
const warmup = Number(warmupText);
const inflight = Number(inflightText ?? '1');

let acceptOne;
if (mode === 'ours') {
  const { KerberosAcceptor, MemoryStore } = await import('@httpauth/core');
  const acceptor = new KerberosAcceptor({ keytab, clockSkewMs: 3_600_000 });
  const store = new MemoryStore();
  acceptOne = async (token) => {
    const result = await acceptor.accept(Buffer.from(token, 'base64'), {
      store,
      now: Date.now(),
      channelBinding: undefined,
    });
    // An AP-REP must come back: the client asked for mutual authentication.
    return result.ok && result.responseToken !== undefined && result.responseToken.length > 0;
  };
} else if (mode === 'mit') {
  process.env.KRB5_KTNAME = `FILE:${keytab}`;
  const kerberos = (await import('kerberos')).default;
  acceptOne = async (token) => {
    // The addon's server context is single use, so a server accepts one token, as in an app.
    const server = await kerberos.initializeServer('HTTP@localhost');
    await server.step(token);
    return (
      server.contextComplete === true &&
      typeof server.response === 'string' &&
      server.response.length > 0
    );
  };
} else {
  throw new Error(`unknown mode ${mode}`);
}

let failures = 0;
async function pass(list) {
  let next = 0;
  const lane = async () => {
    while (next < list.length) {
      const token = list[next++];
      try {
        if (!(await acceptOne(token))) failures++;
      } catch {
        failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: inflight }, lane));
}

await pass(tokens.slice(0, warmup));
const timed = tokens.slice(warmup);
const start = process.hrtime.bigint();
await pass(timed);
const ms = Number(process.hrtime.bigint() - start) / 1e6;
console.log(
  JSON.stringify({ accepts: timed.length, ms, rate: (timed.length / ms) * 1000, failures }),
);
