/**
 * One mechanism, N authentications in process through createAuthenticator with its default
 * MemoryStore, and the process's memory after a full GC at the start (after a warm-up), halfway
 * and at the end (issue 16: flat RSS over 1,000,000 authentications per mechanism).
 *
 *   node --expose-gc --import tsx bench/suites/scale-worker.ts <basic|digest|ntlm|negotiate> N LIMIT_MS
 *
 * Time is simulated: every authentication advances the authenticator's and the store's clock by
 * 2 ms, so the run stands for a node serving 500 authentications a second for N × 2 ms (2,000 s
 * for a million). Replay records (10 minutes), Digest nonces and cached tickets then expire during
 * the run, as they would on a server that runs for days; with a real clock a million
 * authentications in two minutes would all still be inside one replay window, and what would be
 * measured is the window, not a leak. Bounded: stops at LIMIT_MS of wall time and says how far it
 * got. Prints one JSON line.
 */
import { EventEmitter } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import type { AuthRequest, Authenticator } from '@httpauth/core';
import {
  basic,
  createAuthenticator,
  digest,
  Keytab,
  MemoryStore,
  negotiate,
  ntlm,
} from '@httpauth/core';
import { encodeKeytab, ntowfv1 } from '@httpauth/core/wire';
import {
  authenticate as ntlmAuthenticate,
  negotiate as ntlmNegotiate,
} from '../../packages/core/test/ntlm-client.js';
import {
  forgeApReq,
  randomKey,
  reuseTicket,
} from '../../packages/core/test/fixtures/kerberos/forge.js';

const [mechanism = 'basic', countArg = '20000', limitArg = '120000'] = process.argv.slice(2);
const planned = Number(countArg);
const limitMs = Number(limitArg);
const STEP_MS = 2;
const USERS = 1000;
const TICKET_USES = 40;
let simulated = Date.now();
const clock = () => simulated;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

function memory() {
  gc!();
  gc!();
  const usage = process.memoryUsage();
  return { rss: usage.rss, heap: usage.heapUsed, arrayBuffers: usage.arrayBuffers };
}

const request = (authorization: string | undefined, connection?: EventEmitter): AuthRequest => ({
  method: 'GET',
  target: '/',
  headers: authorization === undefined ? {} : { authorization },
  ...(connection === undefined ? {} : { connection: connection as never }),
  httpVersionMajor: 1,
  secure: true,
});

const challengeOf = (
  decision: Awaited<ReturnType<Authenticator['authenticate']>>,
  scheme: string,
) => {
  const header = decision.headers.find(
    ([name, value]) => name === 'www-authenticate' && value.startsWith(scheme),
  );
  if (header === undefined) throw new Error(`${scheme}: no challenge (${decision.type})`);
  return header[1];
};

/** Each mechanism: its authenticator and one authentication (which must succeed). */
type Step = (i: number) => Promise<void>;

function ok(decision: { type: string; error?: { code: string } }, what: string): void {
  if (decision.type !== 'authenticated')
    throw new Error(`${what}: ${decision.error?.code ?? decision.type}`);
}

function basicStep(): Step {
  const auth = createAuthenticator({
    store: new MemoryStore({ now: clock }),
    now: clock,
    packages: [basic({ realm: 'scale', verify: (user, password) => password === `pw-${user}` })],
  });
  const headers = Array.from(
    { length: USERS },
    (_, u) => `Basic ${Buffer.from(`user${u}:pw-user${u}`).toString('base64')}`,
  );
  return async (i) => ok(await auth.authenticate(request(headers[i % USERS])), 'Basic');
}

function digestStep(): Step {
  const realm = 'scale@example.test';
  const auth = createAuthenticator({
    store: new MemoryStore({ now: clock }),
    now: clock,
    packages: [
      digest({
        realm,
        nonceKey: randomBytes(32),
        credentials: (user: string) => ({ password: `pw-${user}` }),
      }),
    ],
  });
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  const ha2 = sha256('GET:/');
  // 100 clients in turn, each with its own nonce; a client asks for a new nonce every 100 of its
  // requests (as browsers do on a new tab or after a stale answer).
  const clients = Array.from({ length: 100 }, (_, c) => ({
    user: `user${c}`,
    nonce: '',
    opaque: '',
    nc: 0,
  }));
  const refresh = async (client: (typeof clients)[number]) => {
    const challenge = challengeOf(await auth.authenticate(request(undefined)), 'Digest');
    client.nonce = /nonce="([^"]+)"/.exec(challenge)![1]!;
    client.opaque = /opaque="([^"]+)"/.exec(challenge)?.[1] ?? '';
    client.nc = 0;
  };
  return async (i) => {
    const client = clients[i % clients.length]!;
    if (client.nc === 0 || client.nc >= 100) await refresh(client);
    client.nc += 1;
    const nc = client.nc.toString(16).padStart(8, '0');
    const cnonce = randomBytes(8).toString('hex');
    const ha1 = sha256(`${client.user}:${realm}:pw-${client.user}`);
    const response = sha256(`${ha1}:${client.nonce}:${nc}:${cnonce}:auth:${ha2}`);
    const header =
      `Digest username="${client.user}", realm="${realm}", uri="/", algorithm=SHA-256, ` +
      `nonce="${client.nonce}", nc=${nc}, cnonce="${cnonce}", qop=auth, response="${response}"` +
      (client.opaque === '' ? '' : `, opaque="${client.opaque}"`);
    ok(await auth.authenticate(request(header)), 'Digest');
  };
}

function ntlmStep(): Step {
  const hashes = new Map<string, Buffer>();
  const auth = createAuthenticator({
    store: new MemoryStore({ now: clock }),
    now: clock,
    packages: [
      ntlm({
        domain: 'EXAMPLE',
        credentials: (user: string) => {
          let hash = hashes.get(user);
          if (hash === undefined) hashes.set(user, (hash = ntowfv1(`pw-${user}`)));
          return hash;
        },
      }),
    ],
  });
  const type1 = ntlmNegotiate();
  const type1Header = `NTLM ${type1.toString('base64')}`;
  // A connection per handshake, closed after it (a client that authenticates and goes away).
  return async (i) => {
    const connection = Object.assign(new EventEmitter(), {
      remoteAddress: `10.0.${(i >> 8) & 255}.${i & 255}`,
    });
    const challenge = challengeOf(
      await auth.authenticate(request(type1Header, connection)),
      'NTLM',
    );
    const user = `user${i % USERS}`;
    const type3 = ntlmAuthenticate(type1, Buffer.from(challenge.slice(5), 'base64'), {
      user,
      password: `pw-${user}`,
      domain: 'EXAMPLE',
    }).message;
    ok(await auth.authenticate(request(`NTLM ${type3.toString('base64')}`, connection)), 'NTLM');
    connection.emit('close');
  };
}

function negotiateStep(): Step {
  const serviceKey = randomKey(18);
  const keytab = Keytab.parse(
    encodeKeytab([
      { realm: 'EXAMPLE.TEST', components: ['HTTP', 'localhost'], kvno: 2, key: serviceKey },
    ]),
  );
  const auth = createAuthenticator({
    store: new MemoryStore({ now: clock }),
    now: clock,
    packages: [negotiate({ kerberos: { keytab }, kerberosOnly: true })],
  });
  // A client gets a ticket (an hour) and sends 40 AP-REQs with it before the next client comes:
  // 25,000 tickets per million, so the acceptor's ticket cache reaches its bound (10,000) at
  // 400,000, before the halfway mark, as the replay cache's 10-minute window does at 300,000.
  let ticket:
    { token: Buffer; sessionKey: ReturnType<typeof randomKey>; client: string[] } | undefined;
  return async (i) => {
    const now = clock();
    if (i % TICKET_USES === 0 || ticket === undefined) {
      const client = [`user${Math.floor(i / TICKET_USES) % USERS}`];
      const forged = forgeApReq({
        serviceKey,
        kvno: 2,
        client,
        authtime: now - 60_000,
        endtime: now + 3_600_000,
        ctime: now,
      });
      ticket = { ...forged, client };
    }
    const token =
      i % TICKET_USES === 0
        ? ticket.token
        : reuseTicket(ticket.token, ticket.sessionKey, {
            ctime: now,
            cusec: i % 1_000_000,
            client: ticket.client,
          });
    ok(await auth.authenticate(request(`Negotiate ${token.toString('base64')}`)), 'Negotiate');
  };
}

const steps: Record<string, () => Step> = {
  basic: basicStep,
  digest: digestStep,
  ntlm: ntlmStep,
  negotiate: negotiateStep,
};
const makeStep = steps[mechanism];
if (makeStep === undefined) throw new Error(`unknown mechanism ${mechanism}`);
const step = makeStep();

const warmUp = Math.min(10_000, Math.floor(planned / 20));
/** Memory after a full GC every tenth of the planned run; "halfway" is the one nearest half of what ran. */
const checkpoint = Math.max(1, Math.floor(planned / 10));
const checkpoints: (ReturnType<typeof memory> & { at: number })[] = [];
const started = performance.now();
let done = 0;
for (; done < planned + warmUp; done += 1) {
  const counted = done - warmUp;
  if (counted >= 0 && counted % checkpoint === 0) checkpoints.push({ ...memory(), at: counted });
  simulated += STEP_MS;
  await step(done);
  if ((done & 1023) === 0 && performance.now() - started > limitMs) {
    done += 1;
    break;
  }
}
const counted = Math.max(0, done - warmUp);
const end = memory();
const half = checkpoints.reduce((best, one) =>
  Math.abs(one.at - counted / 2) < Math.abs(best.at - counted / 2) ? one : best,
);
console.log(
  JSON.stringify({
    mechanism,
    planned,
    done: counted,
    elapsedMs: Math.round(performance.now() - started),
    start: checkpoints[0],
    half,
    end,
  }),
);
process.exit(0);
