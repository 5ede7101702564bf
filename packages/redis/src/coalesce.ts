/**
 * One write per burst of commands. The store sends each command as it is issued (ioredis's
 * auto-pipelining is off by default, client.ts), which is quickest one at a time; but commands
 * issued together (a Digest wave, several requests resolved by one read) would each cost a write
 * system call: in a burst of 8 adds that was about 40% of the process's CPU. Here the first
 * command of a burst corks the connection's socket, and:
 *
 *   - with nothing else in flight, a process.nextTick uncorks it: every command issued in the same
 *     turn leaves in one writev, and a lone command leaves before the event loop polls again;
 *   - with commands already in flight (requests waiting on Redis, as under load), setImmediate
 *     uncorks it, after the event loop's poll phase: the commands that the replies read in that
 *     phase set off go out together, as ioredis's auto-pipelining would batch them, which saves
 *     both processes a system call and a wake-up per command where throughput matters.
 *
 * Redis Cluster keeps ioredis's own auto-pipelining (a socket per node).
 */
import type { Socket } from 'node:net';
import type { Commands, RedisClient } from './client.js';

export function coalescingCommands(client: RedisClient): Commands {
  const raw = client as unknown as Commands;
  if ((client as { isCluster?: unknown }).isCluster === true) return raw;
  let corked: Socket | undefined;
  let inFlight = 0;
  const settled = (): void => {
    inFlight -= 1;
  };
  const counted = <T>(reply: Promise<T>): Promise<T> => {
    inFlight += 1;
    reply.then(settled, settled);
    return reply;
  };
  const uncork = (): void => {
    const socket = corked;
    corked = undefined;
    socket?.uncork();
  };
  const cork = (): void => {
    if (corked !== undefined) return;
    const socket = (client as { stream?: Socket }).stream;
    if (socket === undefined || !socket.writable || typeof socket.cork !== 'function') return;
    socket.cork();
    corked = socket;
    if (inFlight === 0) process.nextTick(uncork);
    else setImmediate(uncork);
  };
  const set = raw.set as (...args: unknown[]) => Promise<string | null>;
  return {
    set: (...args: unknown[]) => (cork(), counted(set.apply(client, args))),
    get: (key: string) => (cork(), counted(raw.get(key))),
    del: (key: string) => (cork(), counted(raw.del(key))),
    ping: () => (cork(), counted(raw.ping())),
    evalsha: (sha1: string, keys: number, ...args: string[]) => (
      cork(),
      counted(raw.evalsha(sha1, keys, ...args))
    ),
    eval: (source: string, keys: number, ...args: string[]) => (
      cork(),
      counted(raw.eval(source, keys, ...args))
    ),
  } as Commands;
}
