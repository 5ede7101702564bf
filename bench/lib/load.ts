/**
 * Load generation for the HTTP comparisons: autocannon (a real load generator) on keep-alive
 * connections, with a per-connection state for the schemes whose requests depend on earlier
 * responses. Modes:
 *   none       plain GET
 *   negotiate  `Authorization: Negotiate <token>` with a distinct pre-made token per request
 *   ntlm       per connection: NEGOTIATE, AUTHENTICATE (computed from the CHALLENGE), then plain
 *              requests on the authenticated connection (NTLM authenticates the connection)
 *   digest     per connection: one 401 for a nonce, then valid answers with nc = 1, 2, 3, ...
 *   cookie     per connection: authenticate once (Negotiate token), then send the session cookie
 * Every response is checked: a 2xx count that does not match the requests is an error.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
// The load generator is a client: it uses the published codecs (`npm run bench` builds first), so
// the process holds one copy of core, the one the servers under test run.
import { decodeDigestChallenge as decodeChallenge } from '@httpauth/core/wire';
import {
  authenticate as ntlmAuthenticate,
  negotiate as ntlmNegotiate,
} from '../../packages/core/test/ntlm-client.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon');

export const BENCH_USER = 'alice';
export const BENCH_PASSWORD = 'Wonderland1';
export const DIGEST_REALM = 'bench@httpauth';
const SERVER_SCRIPT = new URL('../servers/app.mjs', import.meta.url).pathname;

export interface Server {
  readonly port: number;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** USER_HZ: what /proc/PID/stat counts CPU time in (100 on Linux's every architecture). */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * A process's CPU time so far (user + system, µs), from /proc: a server's own work, whatever
 * the load generator beside it on the same cores costs. Undefined where /proc is missing.
 */
export function processCpuMicros(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Start a child that prints {"port":N} when ready (bench/servers/app.mjs or any other). */
export function startChild(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; ipc?: boolean } = {},
): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      stdio: options.ipc === true ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start: ${err.slice(-2000)}`));
    }, 30_000);
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('{"port"'));
      if (line === undefined) return;
      clearTimeout(timer);
      const { port } = JSON.parse(line) as { port: number };
      resolve({
        port,
        child,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 5000).unref();
          }),
      });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening: ${err.slice(-2000)}`));
    });
  });
}

export interface AppConfig {
  framework: 'node' | 'express' | 'fastify' | 'koa';
  auth:
    | 'none'
    | 'negotiate'
    | 'ntlm'
    | 'digest'
    | 'http-auth'
    | 'basic-kerberos'
    | 'noop'
    | 'digest-floor';
  workers?: number;
  keytab?: string;
  port?: number;
  /** Answer with exactly these bytes (application/json), as a static file would be served. */
  staticBody?: string;
  /** Keep the shared state (replay cache) of every worker in this Redis (@httpauth/redis). */
  redisUrl?: string;
  /** basic-kerberos: the users' realm and its KDCs. */
  realm?: string;
  kdcs?: readonly string[];
}

export function startApp(
  config: AppConfig,
  options: { env?: NodeJS.ProcessEnv; nodeArgs?: string[]; ipc?: boolean } = {},
): Promise<Server> {
  return startChild(
    process.execPath,
    [...(options.nodeArgs ?? []), SERVER_SCRIPT, JSON.stringify(config)],
    options,
  );
}

export type LoadMode = 'none' | 'negotiate' | 'ntlm' | 'digest' | 'cookie';

export interface LoadOptions {
  port: number;
  path?: string;
  mode: LoadMode;
  connections: number;
  /** Seconds (ignored for negotiate, which sends each token once). */
  duration: number;
  /** Base64 tokens for negotiate/cookie modes; each sent once. */
  tokens?: readonly string[];
  /** Stop after this many requests instead of after `duration`. */
  amount?: number;
}

export interface LoadResult {
  /** Successful (2xx) responses per second. */
  rps: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  latencyP50: number;
  latencyP99: number;
}

type Headers = Record<string, string>;
interface Ctx {
  state: number;
  nonce?: string;
  opaque?: string;
  nc: number;
  type1?: Buffer;
  cookie?: string;
  /** Digest: answers made before the load starts (nc 1..n), so the generator stays cheap. */
  ready?: string[];
  pos?: number;
  /** Digest: H(A1), H(A2) and the cnonce for `answeredNonce` (computed once per nonce). */
  ha1?: string;
  ha2?: string;
  cnonce?: string;
  answeredNonce?: string;
}

/**
 * One Digest answer (RFC 7616 §3.4.1, qop=auth) for the connection's nonce and the next nc. The
 * generator must not be what limits a run: H(A1) and H(A2) are the same for every request of a
 * connection, and a client may keep its cnonce while nc rises (§3.4), so each answer costs one
 * hash (computed here with node:crypto, independently of the server's code). MD5 for http-auth,
 * which speaks RFC 2617 only.
 */
function digestHeader(ctx: Ctx, path: string, md5: boolean): string {
  const algorithm = md5 ? 'md5' : 'sha256';
  if (ctx.ha1 === undefined || ctx.answeredNonce !== ctx.nonce) {
    ctx.ha1 = hash(algorithm, `${BENCH_USER}:${DIGEST_REALM}:${BENCH_PASSWORD}`, 'hex');
    ctx.ha2 = hash(algorithm, `GET:${path}`, 'hex');
    ctx.cnonce = randomBytes(8).toString('hex');
    ctx.answeredNonce = ctx.nonce;
  }
  ctx.nc += 1;
  const nc = ctx.nc.toString(16).padStart(8, '0');
  const response = hash(
    algorithm,
    `${ctx.ha1}:${ctx.nonce}:${nc}:${ctx.cnonce}:auth:${ctx.ha2}`,
    'hex',
  );
  const opaque = ctx.opaque === undefined ? '' : `, opaque="${ctx.opaque}"`;
  return (
    `Digest username="${BENCH_USER}", realm="${DIGEST_REALM}", uri="${path}", ` +
    `algorithm=${md5 ? 'MD5' : 'SHA-256'}, nonce="${ctx.nonce}", nc=${nc}, ` +
    `cnonce="${ctx.cnonce}", qop=auth, response="${response}"${opaque}`
  );
}

/** One fresh nonce per connection, from a real 401 of the server under test. */
async function digestNonces(
  port: number,
  path: string,
  count: number,
  md5: boolean,
): Promise<Ctx[]> {
  const contexts: Ctx[] = [];
  for (let i = 0; i < count; i++) {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    await response.arrayBuffer();
    const challenge = response.headers.get('www-authenticate') ?? '';
    const nonce = /nonce="([^"]+)"/.exec(challenge)?.[1];
    if (response.status !== 401 || nonce === undefined) throw new Error('no Digest challenge');
    contexts.push({ state: 0, nc: 0, nonce, opaque: /opaque="([^"]+)"/.exec(challenge)?.[1] });
  }
  return contexts;
}

/**
 * Throws unless the load was answered: no socket errors, at least one 2xx, and no more refusals
 * than `allowedRefusals` (the 401s a run's handshakes and nonces need).
 */
export function assertAnswered(label: string, result: LoadResult, allowedRefusals: number): void {
  if (result.errors > 0 || result.non2xx > allowedRefusals || result.ok === 0) {
    throw new Error(
      `${label}: ${result.ok} ok, ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  }
}

export async function runLoad(
  options: LoadOptions & { digestMd5?: boolean; digestPool?: number },
): Promise<LoadResult> {
  const path = options.path ?? '/api';
  const initial: Ctx[] = [];
  if (options.mode === 'digest') {
    // Made beforehand, the load generator's own work stays close to that of the no-auth run.
    // Enough for the whole run at a rate above any this hardware reaches (the pool used to be
    // 20,000 answers, a fifth of a 5 s run at 25k req/s: the rest were computed during the run
    // by the generator, on the same two cores as the server, which lowered the Digest rows).
    const expected = options.amount ?? options.duration * 50_000;
    const perConnection = Math.ceil((options.digestPool ?? expected) / options.connections);
    for (const ctx of await digestNonces(
      options.port,
      path,
      options.connections,
      options.digestMd5 === true,
    )) {
      ctx.ready = [];
      for (let i = 0; i < perConnection; i++) {
        ctx.ready.push(digestHeader(ctx, path, options.digestMd5 === true));
      }
      ctx.pos = 0;
      initial.push(ctx);
    }
  }
  return runPrepared(options, path, initial);
}

function runPrepared(
  options: LoadOptions & { digestMd5?: boolean },
  path: string,
  initial: Ctx[],
): Promise<LoadResult> {
  const tokens = options.tokens ?? [];
  let nextToken = 0;
  // The clock stops at the last response: autocannon notices a reached `amount` only on its
  // once-a-second tick, and its own duration is rounded.
  let lastResponse = 0n;
  const withAuth = (req: { headers?: Headers }, value: string | undefined, extra?: Headers) => ({
    ...req,
    method: 'GET',
    path,
    headers: { ...(value === undefined ? {} : { authorization: value }), ...(extra ?? {}) },
  });
  const mode = options.mode;
  const request = {
    setupRequest(req: { headers?: Headers }, ctx: Ctx) {
      switch (mode) {
        case 'none':
          return withAuth(req, undefined);
        case 'negotiate': {
          if (nextToken >= tokens.length) return withAuth(req, undefined);
          return withAuth(req, `Negotiate ${tokens[nextToken++]}`);
        }
        case 'cookie':
          if (ctx.cookie !== undefined) return withAuth(req, undefined, { cookie: ctx.cookie });
          return withAuth(req, `Negotiate ${tokens[nextToken++ % tokens.length]}`);
        case 'ntlm':
          if (ctx.state === 0) {
            ctx.type1 = ntlmNegotiate();
            return withAuth(req, `NTLM ${ctx.type1.toString('base64')}`);
          }
          if (ctx.state === 1) {
            const challenge = Buffer.from(ctx.nonce!, 'base64');
            const type3 = ntlmAuthenticate(ctx.type1!, challenge, {
              user: BENCH_USER,
              password: BENCH_PASSWORD,
              domain: 'EXAMPLE',
            }).message;
            return withAuth(req, `NTLM ${type3.toString('base64')}`);
          }
          return withAuth(req, undefined);
        case 'digest':
          if (ctx.ready !== undefined && ctx.pos! < ctx.ready.length) {
            return withAuth(req, ctx.ready[ctx.pos!++]);
          }
          if (ctx.nonce === undefined) return withAuth(req, undefined);
          return withAuth(req, digestHeader(ctx, path, options.digestMd5 === true));
      }
    },
    onResponse(
      status: number,
      _body: string,
      ctx: Ctx,
      rawHeaders: Record<string, string | string[]>,
    ) {
      lastResponse = process.hrtime.bigint();
      // autocannon keeps the header names as sent; servers differ in case.
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(rawHeaders)) headers[name.toLowerCase()] = value;
      const challenge = headers['www-authenticate'];
      const first = Array.isArray(challenge) ? challenge[0] : challenge;
      if (mode === 'ntlm') {
        if (ctx.state === 0 && status === 401 && first?.startsWith('NTLM ')) {
          ctx.nonce = first.slice(5);
          ctx.state = 1;
        } else if (ctx.state === 1 && status === 200) ctx.state = 2;
      } else if (
        mode === 'digest' &&
        status === 401 &&
        first !== undefined &&
        ctx.ready === undefined
      ) {
        const list = Array.isArray(challenge) ? challenge : [first];
        const digestChallenge = list.find((v) => v.startsWith('Digest'))!;
        if (options.digestMd5 === true) {
          ctx.nonce = /nonce="([^"]+)"/.exec(digestChallenge)![1];
          ctx.opaque = /opaque="([^"]+)"/.exec(digestChallenge)?.[1];
        } else {
          const parsed = decodeChallenge(digestChallenge);
          ctx.nonce = parsed.nonce;
          ctx.opaque = parsed.opaque;
        }
        ctx.nc = 0;
        ctx.ready = undefined;
      } else if (mode === 'cookie' && status === 200 && ctx.cookie === undefined) {
        const set = headers['set-cookie'];
        const value = Array.isArray(set) ? set[0] : set;
        if (value !== undefined) ctx.cookie = value.split(';')[0];
      }
    },
  };
  let clients = 0;
  return new Promise((resolve, reject) => {
    // Own clock: autocannon's `duration` is coarse, which matters for runs bounded by a count.
    const started = process.hrtime.bigint();
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${options.port}`,
        connections: options.connections,
        pipelining: 1,
        // Negotiate runs may be bounded by their token set instead: each token is sent once.
        ...(options.amount === undefined
          ? { duration: options.duration }
          : { amount: options.amount }),
        timeout: 10,
        requests: [request],
        // autocannon clears its per-connection context whenever it loops over `requests`; the
        // handshake state must live as long as the connection, so keep one context object.
        setupClient(client: { requestIterator: { context: Ctx; resetContext: () => void } }) {
          client.requestIterator.context = initial[clients++] ?? { state: 0, nc: 0 };
          client.requestIterator.resetContext = () => {};
        },
      },
      (error: Error | null, result: Record<string, any>) => {
        if (error) return reject(error);
        const seconds =
          Number((lastResponse > started ? lastResponse : process.hrtime.bigint()) - started) / 1e9;
        const ok = result['2xx'] as number;
        resolve({
          rps: ok / seconds,
          ok,
          non2xx: result.non2xx as number,
          errors: result.errors as number,
          timeouts: result.timeouts as number,
          seconds,
          latencyP50: result.latency.p50 as number,
          latencyP99: result.latency.p99 as number,
        });
      },
    );
    void instance;
  });
}
