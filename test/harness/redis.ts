/**
 * Test harness: Debian's redis-server on loopback, one standalone server or a three-master Redis
 * Cluster, each in its own temp dir, started and stopped by the tests themselves.
 *
 *   const redis = await startRedis();            // redis.port, redis.url
 *   redis.pause(); redis.resume();               // SIGSTOP / SIGCONT: a Redis that stops answering
 *   await redis.stop(); await redis.start();     // an outage and a restart on the same port
 *   const cluster = await startRedisCluster();   // cluster.nodes: [{ host, port }] x 3
 *   await cluster.stop();
 *   const sentinel = await startRedisSentinel(master.port, 'mymaster');  // redis-server --sentinel
 */
import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const HOST = '127.0.0.1';
const REDIS_SERVER = '/usr/bin/redis-server';
const REDIS_CLI = '/usr/bin/redis-cli';
/** Generous: a loaded 2-core machine can take a while to start a process. */
const START_TIMEOUT_MS = 20_000;

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) {
    try {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/**
 * A random high port whose cluster bus port (port + 10000) is free as well. Random rather than
 * ephemeral: redis-server needs the number before it binds.
 */
export async function freeRedisPort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = 20_000 + Math.floor(Math.random() * 25_000);
    if ((await portFree(port)) && (await portFree(port + 10_000))) return port;
  }
  throw new Error('no free port pair for redis-server');
}

/** Sends one inline command over RESP and resolves with the first reply line, or undefined. */
export function redisCommand(
  port: number,
  command: string,
  timeoutMs = 1000,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    let reply = '';
    const done = (value: string | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.once('error', () => done(undefined));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      const end = reply.indexOf('\r\n');
      if (end !== -1) done(reply.slice(0, end));
    });
    socket.once('connect', () => socket.write(`${command}\r\n`));
  });
}

function run(file: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 30_000 }, (error, stdout, stderr) => {
      if (error !== null)
        reject(new Error(`${file} ${args.join(' ')}: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** The redis-server process id while running. */
  readonly pid: number | undefined;
  /** Starts it again on the same port (after `stop`). */
  start(): Promise<void>;
  /** SIGTERM and wait for the exit (resumes a paused server first). */
  stop(): Promise<void>;
  /** SIGSTOP: the socket stays open and nothing answers. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Stops it and removes its temp dir. */
  dispose(): Promise<void>;
}

export interface StartRedisOptions {
  readonly port?: number;
  readonly dir?: string;
  /** Extra redis-server arguments. */
  readonly args?: readonly string[];
}

export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freeRedisPort());
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'httpauth-redis-')));
  const args = [
    '--bind',
    HOST,
    '--port',
    String(port),
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--logfile',
    join(dir, `redis-${port}.log`),
    '--daemonize',
    'no',
    ...(options.args ?? []),
  ];
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  async function start(): Promise<void> {
    if (child !== undefined) throw new Error('redis-server already running');
    const server = spawn(REDIS_SERVER, args, { stdio: 'ignore' });
    child = server;
    running.add(server);
    exited = new Promise((resolve) => {
      server.once('exit', () => {
        running.delete(server);
        if (child === server) child = undefined;
        resolve();
      });
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (child !== server) throw new Error(`redis-server on port ${port} exited at start`);
      if ((await redisCommand(port, 'PING')) === '+PONG') return;
      await sleep(50);
    }
    throw new Error(`redis-server on port ${port} did not start`);
  }

  async function stop(): Promise<void> {
    const current = child;
    if (current === undefined) return;
    current.kill('SIGCONT');
    current.kill('SIGTERM');
    const killer = setTimeout(() => current.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  }

  await start();
  return {
    host: HOST,
    port,
    url: `redis://${HOST}:${port}`,
    dir,
    get pid() {
      return child?.pid;
    },
    start,
    stop,
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
    async dispose() {
      await stop();
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisClusterHandle {
  /** Start-up nodes for ioredis Cluster. */
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
  readonly servers: readonly RedisServer[];
  readonly dir: string;
  stop(): Promise<void>;
}

/** Three (or `masters`) cluster-enabled servers joined with `redis-cli --cluster create`, no replicas. */
export async function startRedisCluster(masters = 3): Promise<RedisClusterHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'httpauth-redis-cluster-'));
  const servers: RedisServer[] = [];
  try {
    for (let index = 0; index < masters; index += 1) {
      const port = await freeRedisPort();
      servers.push(
        await startRedis({
          port,
          dir,
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, `nodes-${port}.conf`),
            '--cluster-node-timeout',
            '5000',
          ],
        }),
      );
    }
    await run(REDIS_CLI, [
      '--cluster',
      'create',
      ...servers.map((server) => `${HOST}:${server.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (const server of servers) {
      for (;;) {
        const info = await run(REDIS_CLI, [
          '-h',
          HOST,
          '-p',
          String(server.port),
          'cluster',
          'info',
        ]);
        if (info.includes('cluster_state:ok')) break;
        if (Date.now() > deadline) throw new Error('redis cluster did not reach state ok');
        await sleep(100);
      }
    }
  } catch (error) {
    for (const server of servers) await server.stop();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    nodes: servers.map((server) => ({ host: HOST, port: server.port })),
    servers,
    dir,
    async stop() {
      for (const server of servers) await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisSentinelHandle {
  readonly host: string;
  readonly port: number;
  readonly name: string;
  stop(): Promise<void>;
}

/**
 * One Sentinel (quorum 1) watching the master on `masterPort`, with short timeouts so a failover
 * happens within seconds: down after 1 s, failover timeout 5 s. Sentinel rewrites its config
 * file, so it lives in its own temp dir.
 */
export async function startRedisSentinel(
  masterPort: number,
  name = 'mymaster',
): Promise<RedisSentinelHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'httpauth-redis-sentinel-'));
  const port = await freeRedisPort();
  const config = join(dir, 'sentinel.conf');
  await writeFile(
    config,
    [
      `bind ${HOST}`,
      `port ${port}`,
      `dir ${dir}`,
      `logfile ${join(dir, 'sentinel.log')}`,
      `sentinel monitor ${name} ${HOST} ${masterPort} 1`,
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 5000`,
      `sentinel parallel-syncs ${name} 1`,
      '',
    ].join('\n'),
  );
  const child = spawn(REDIS_SERVER, [config, '--sentinel'], { stdio: 'ignore' });
  running.add(child);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running.delete(child);
      resolve();
    });
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if ((await redisCommand(port, 'PING')) === '+PONG') break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('redis sentinel did not start');
    }
    await sleep(50);
  }
  return {
    host: HOST,
    port,
    name,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
