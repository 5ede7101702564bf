/**
 * The many-connections client (issue 16): opens N keep-alive sockets to a node:http server with
 * NTLM, authenticates every one (NEGOTIATE, CHALLENGE, AUTHENTICATE computed by the NTLM
 * engineer's test client), then for `seconds` sends authenticated requests at a fixed rate spread
 * over all N connections (round robin, one request at a time per connection, skipping a busy one)
 * and records each request's latency, write to last byte. Prints one JSON line.
 *
 *   node --import tsx bench/suites/scale-client.ts PORT N RATE SECONDS
 *
 * Bounded: connecting stops after 120 s, the measurement after `seconds`, and a request still
 * unanswered 5 s after the measurement counts as an error.
 */
import { connect, type Socket } from 'node:net';
import { authenticate, negotiate } from '../../packages/core/test/ntlm-client.js';

const [portArg = '0', countArg = '10000', rateArg = '2000', secondsArg = '5'] =
  process.argv.slice(2);
const port = Number(portArg);
const count = Number(countArg);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const USER = 'alice';
const PASSWORD = 'Wonderland1';

interface Response {
  status: number;
  head: string;
}

/** One keep-alive connection that answers one request at a time. */
class Conn {
  busy = false;
  #buffer = '';
  #waiting: ((response: Response) => void) | undefined;
  constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.setNoDelay(true);
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      this.#drain();
    });
  }

  #drain(): void {
    const end = this.#buffer.indexOf('\r\n\r\n');
    if (end === -1) return;
    const head = this.#buffer.slice(0, end);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (this.#buffer.length < end + 4 + length) return;
    this.#buffer = this.#buffer.slice(end + 4 + length);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.({ status: Number(head.slice(9, 12)), head });
  }

  send(authorization?: string): Promise<Response> {
    return new Promise((resolve) => {
      this.#waiting = resolve;
      this.socket.write(
        `GET /api HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n` +
          (authorization === undefined ? '' : `Authorization: ${authorization}\r\n`) +
          '\r\n',
      );
    });
  }
}

function open(): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('error', reject);
    socket.once('connect', () => resolve(new Conn(socket)));
  });
}

const type1 = negotiate();
async function handshake(conn: Conn): Promise<void> {
  const challenge = await conn.send(`NTLM ${type1.toString('base64')}`);
  const token = /\r\nwww-authenticate: NTLM (\S+)/i.exec(challenge.head)?.[1];
  if (challenge.status !== 401 || token === undefined)
    throw new Error(`no CHALLENGE: ${challenge.head}`);
  const type3 = authenticate(type1, Buffer.from(token, 'base64'), {
    user: USER,
    password: PASSWORD,
    domain: 'EXAMPLE',
  }).message;
  const done = await conn.send(`NTLM ${type3.toString('base64')}`);
  if (done.status !== 200) throw new Error(`AUTHENTICATE answered ${done.status}`);
}

const connectDeadline = Date.now() + 120_000;
const conns: Conn[] = [];
let next = 0;
// 200 connects and handshakes in flight, so the listen backlog never overflows.
await Promise.all(
  Array.from({ length: 200 }, async () => {
    while (next < count) {
      if (Date.now() > connectDeadline)
        throw new Error(`only ${conns.length} connections in 120 s`);
      next += 1;
      const conn = await open();
      await handshake(conn);
      conns.push(conn);
    }
  }),
);

// Open-loop load: by time t, rate × t requests should have started; a tick sends what is due.
const latencies: number[] = [];
let errors = 0;
let skipped = 0;
let cursor = 0;
let sent = 0;
const started = performance.now();
const durationMs = seconds * 1000;
await new Promise<void>((resolve) => {
  const tick = setInterval(() => {
    const elapsed = performance.now() - started;
    if (elapsed >= durationMs) {
      clearInterval(tick);
      resolve();
      return;
    }
    const due = Math.floor((elapsed / 1000) * rate);
    while (sent < due) {
      sent += 1;
      let conn: Conn | undefined;
      for (let tries = 0; tries < conns.length; tries += 1) {
        const candidate = conns[cursor++ % conns.length]!;
        if (!candidate.busy) {
          conn = candidate;
          break;
        }
      }
      if (conn === undefined) {
        skipped += 1;
        continue;
      }
      const chosen = conn;
      chosen.busy = true;
      const t0 = performance.now();
      void chosen.send().then((response) => {
        chosen.busy = false;
        if (response.status === 200) latencies.push(performance.now() - t0);
        else errors += 1;
      });
    }
  }, 1);
});
// Let the last requests finish (bounded), then count what is still open as errors.
const drainUntil = performance.now() + 5000;
while (conns.some((conn) => conn.busy) && performance.now() < drainUntil) {
  await new Promise((resolve) => setTimeout(resolve, 10));
}
errors += conns.filter((conn) => conn.busy).length;
latencies.sort((a, b) => a - b);
const at = (q: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
console.log(
  JSON.stringify({
    connections: conns.length,
    requests: latencies.length,
    errors,
    skipped,
    p50: at(0.5),
    p99: at(0.99),
    max: latencies[latencies.length - 1] ?? NaN,
  }),
);
for (const conn of conns) conn.socket.destroy();
process.exit(0);
