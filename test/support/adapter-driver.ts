// What the adapter contract suites (adapter-contract.ts, adapter-seams-contract.ts) need from one
// adapter: mount it with options on a loopback server, register it (to see options refused), and
// a route that reports the identity the adapter stored (`req.auth`, `request.auth`,
// `ctx.state.auth`, or the argument of core's createHandler). Each adapter's test file writes a
// small driver and runs the suites with it, as the store contract suite does for stores.
import { Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuthenticatorOptions } from '@httpauth/core';
import type { ClientResponse } from './http-client.js';

export { waitFor } from './wait.js';

/** The authenticator the contract inspects (pending handshakes); any copy of core's works. */
export interface ContractAuthenticator {
  readonly pendingHandshakes: number;
  authenticate: (...args: never[]) => unknown;
}

/** What the adapter is mounted with: an authenticator, or options it builds one from. */
export type MountSource = ContractAuthenticator | (AuthenticatorOptions & Record<string, unknown>);

/**
 * The options that fit an adapter into an existing app, written once for every framework: the
 * driver turns each into the framework's own form (a predicate on the request path, a refusal
 * hook that answers `no: CODE` as text/plain, an error handler of its kind).
 */
export interface SeamSpec {
  /** `unless`: skip authentication for requests to this path. */
  readonly skipPath?: string;
  /** `unless`: a predicate that throws. */
  readonly skipThrows?: boolean;
  readonly optional?: boolean;
  readonly passErrors?: boolean;
  readonly property?: string;
  /** `onRefused`: record `${code} ${status}`, answer `no: ${code}` as text/plain. */
  readonly onRefused?: (code: string, status: number) => void;
  /**
   * Install the framework's error handler (after the adapter): it answers the refusal's status
   * and challenge lines with the JSON `{ mine: code, isHttpAuth }`.
   */
  readonly errorHandler?: boolean;
  /** Before the adapter, another library sets `auth` to `{ sub: 'jwt-user' }`. */
  readonly foreignAuth?: boolean;
}

export interface MountOptions {
  /** Adapter options beside the source: trustProxy, integrityBody, maxDrainBytes. */
  readonly adapter?: Record<string, unknown>;
  readonly seams?: SeamSpec;
  /** Node's keep-alive timeout on the listening server (the default 5 s can end a test early). */
  readonly keepAliveTimeout?: number;
}

export interface Mounted {
  /** `http://127.0.0.1:PORT` */
  readonly base: string;
  close(): Promise<void>;
}

/**
 * Every route of a mounted app answers 200 with this JSON: the identity's principal name (under
 * `auth`, or the seam's `property`), the byte length of the body the route received (Digest
 * auth-int style: the adapter read it first and kept it), and `auth` when `foreignAuth` set it.
 */
export interface RouteEcho {
  readonly name: string | null;
  readonly raw: number | null;
  readonly other?: unknown;
}

export interface AdapterDriver {
  /** e.g. `Express`: used in the suite names. */
  readonly name: string;
  createAuthenticator(options: AuthenticatorOptions): ContractAuthenticator;
  mount(source: MountSource, options?: MountOptions): Promise<Mounted>;
  /** Register the adapter as the application would; throws or rejects on invalid options. */
  register(source: unknown, adapter?: Record<string, unknown>): Promise<void>;
}

/** A driver for an adapter with the seam options (unless, optional, onRefused, passErrors, property). */
export interface SeamDriver extends AdapterDriver {
  /** Register with raw seam options (invalid ones included) beside valid packages. */
  registerSeams(packages: AuthenticatorOptions['packages'], seams: unknown): Promise<void>;
  /**
   * Seams this adapter does not offer (and refuses at registration): node:http's createHandler
   * passes the identity as an argument (no `property`) and has no error handler (no `passErrors`).
   */
  readonly lacks?: readonly ('passErrors' | 'property')[];
  /** The exact body the framework's own error handler gives a refusal, where it is plain. */
  frameworkErrorBody?(refusal: { code: string; message: string }): string;
}

/** The port of a listening `http://127.0.0.1:PORT` base. */
export function portOf(base: string): number {
  return Number(new URL(base).port);
}

export const TOKEN_CHALLENGES = ['Token realm="one"', 'Token realm="two"'];
export const ALL_CHALLENGES = [...TOKEN_CHALLENGES, 'Hand'];

export function echo(res: ClientResponse): RouteEcho {
  return JSON.parse(res.body) as RouteEcho;
}

export function errorCode(res: ClientResponse): string {
  return (JSON.parse(res.body) as { error: string }).error;
}

/** Mount once per test, closing the server whatever the test does. */
export async function withMounted(
  mounting: Promise<Mounted>,
  run: (base: string) => Promise<void>,
): Promise<void> {
  const mounted = await mounting;
  try {
    await run(mounted.base);
  } finally {
    await mounted.close();
  }
}

/** A keep-alive agent with one socket: every request on it shares one connection. */
export async function onOneConnection(run: (agent: Agent) => Promise<void>): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await run(agent);
  } finally {
    agent.destroy();
  }
}

/** Listen on a random loopback port; `close` also ends kept-alive connections. */
export function listening(server: Server, keepAliveTimeout?: number): Promise<Mounted> {
  if (keepAliveTimeout !== undefined) server.keepAliveTimeout = keepAliveTimeout;
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/**
 * The seam options every framework spells the same way, with `unless` built on the framework's
 * request path; the driver adds its own `onRefused` (the hook's signature is the framework's).
 */
export function commonSeams<Req>(
  seams: SeamSpec,
  pathOf: (request: Req) => string,
): {
  unless?: (request: Req) => boolean;
  optional?: boolean;
  passErrors?: boolean;
  property?: string;
} {
  const { skipPath, skipThrows, optional, passErrors, property } = seams;
  const throwing = (): boolean => {
    throw new Error('boom');
  };
  return {
    ...(skipPath !== undefined && { unless: (request: Req) => pathOf(request) === skipPath }),
    ...(skipThrows === true && { unless: throwing }),
    ...(optional !== undefined && { optional }),
    ...(passErrors !== undefined && { passErrors }),
    ...(property !== undefined && { property }),
  };
}

/** What every route of a mounted app answers (see RouteEcho). */
export function routeEcho(
  seams: SeamSpec,
  fields: Record<string, unknown>,
  raw: number | null,
): RouteEcho {
  const identity = fields[seams.property ?? 'auth'] as { principal?: { name: string } } | null;
  return {
    name: identity?.principal?.name ?? null,
    raw,
    ...(seams.foreignAuth === true && { other: fields.auth }),
  };
}

/** The identity another library (express-jwt's shape) put under `auth` before the adapter. */
export const FOREIGN_AUTH = { sub: 'jwt-user' };
