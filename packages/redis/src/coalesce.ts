/**
 * One write per burst of commands. The store sends each command as it is issued (ioredis's
 * auto-pipelining is off by default, client.ts), which is quickest one at a time; but commands
 * issued together (a Digest wave, several requests resolved by one read) would each cost a write
 * system call: in a burst of 8 adds that was about 40% of the process's CPU. Here the first
 * command of a burst corks the connection's socket and a process.nextTick uncorks it, so every
 * command issued in the same turn of the event loop leaves in one writev, and a lone command
 * still leaves before the event loop polls again (no setImmediate, no Pipeline object). Redis
 * Cluster keeps ioredis's own auto-pipelining (a socket per node).
 */
import type { Socket } from 'node:net';
import type { Commands, RedisClient } from './client.js';

export function coalescingCommands(client: RedisClient): Commands {
  const raw = client as unknown as Commands;
  if ((client as { isCluster?: unknown }).isCluster === true) return raw;
  let corked: Socket | undefined;
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
    process.nextTick(uncork);
  };
  const set = raw.set as (...args: unknown[]) => Promise<string | null>;
  return {
    set: (...args: unknown[]) => (cork(), set.apply(client, args)),
    get: (key: string) => (cork(), raw.get(key)),
    del: (key: string) => (cork(), raw.del(key)),
    ping: () => (cork(), raw.ping()),
    evalsha: (sha1: string, keys: number, ...args: string[]) => (
      cork(),
      raw.evalsha(sha1, keys, ...args)
    ),
    eval: (source: string, keys: number, ...args: string[]) => (
      cork(),
      raw.eval(source, keys, ...args)
    ),
  } as Commands;
}
