/**
 * The start-up sanity check of a Negotiate cluster (comparison 3): a token accepted by one worker
 * must be refused when replayed to another (RFC 4120 §3.2.3: the acceptor remembers
 * authenticators for the clock-skew window, and several processes serving one service are one
 * acceptor to the client). Each "connection" is an agent with one keep-alive socket, so all of
 * its requests reach the same worker; `x-bench-whoami: 1` makes the route name its worker.
 * Throws (failing the suite) when the replay is accepted or no second worker is reached.
 */
import { Agent, request } from 'node:http';

interface Reply {
  readonly status: number;
  readonly worker: string | undefined;
}

function get(agent: Agent, port: number, token: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port,
        path: '/api',
        headers: { authorization: `Negotiate ${token}`, 'x-bench-whoami': '1' },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const worker = res.headers['x-bench-worker'];
          resolve({
            status: res.statusCode ?? 0,
            worker: typeof worker === 'string' ? worker : undefined,
          });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * Uses tokens from `tokens` (each at most once, besides the replay) and returns how many it used,
 * so the load can skip them. `label` names the server in errors.
 */
export async function assertReplayRefusedAcrossWorkers(
  port: number,
  tokens: readonly string[],
  label: string,
): Promise<number> {
  let used = 0;
  const next = (): string => {
    const token = tokens[used++];
    if (token === undefined) throw new Error(`${label}: replay check ran out of tokens`);
    return token;
  };
  const agents: Agent[] = [];
  const connection = (): Agent => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    return agent;
  };
  try {
    const first = connection();
    const replayed = next();
    const accepted = await get(first, port, replayed);
    if (accepted.status !== 200 || accepted.worker === undefined) {
      throw new Error(`${label}: replay check: a fresh token got ${accepted.status}`);
    }
    // New connections until one lands on another worker (node:cluster hands them out round robin).
    for (let attempt = 0; attempt < 16; attempt++) {
      const other = connection();
      const fresh = await get(other, port, next());
      if (fresh.status !== 200 || fresh.worker === undefined) {
        throw new Error(`${label}: replay check: a fresh token got ${fresh.status}`);
      }
      if (fresh.worker === accepted.worker) continue;
      const replay = await get(other, port, replayed);
      if (replay.status !== 401) {
        throw new Error(
          `${label}: a token accepted by worker ${accepted.worker} was answered ${replay.status} when replayed to worker ${fresh.worker}: the workers do not share a replay cache`,
        );
      }
      return used;
    }
    throw new Error(`${label}: replay check: every connection reached the same worker`);
  } finally {
    for (const agent of agents) agent.destroy();
  }
}
