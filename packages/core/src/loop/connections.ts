/**
 * Per-connection state for connection-bound packages (NTLM, Negotiate falling back to NTLM).
 *
 * IIS and SSPI keep a partial security context per TCP connection between the legs of a
 * handshake; so do we, with four bounds that a client cannot push past: the number of pending
 * handshakes in the process, the number one client address may hold (so one host holding
 * thousands of half-open handshakes cannot lock everyone else out), the lifetime of each, and
 * the socket's life (state is dropped on 'close'). A completed NTLM authentication may stay on
 * the connection (IIS's default), so later requests on it are authenticated without a new
 * handshake.
 */
import type { ConnectionResult } from '../certificate/client-certificate.js';
import { HttpAuthError } from '../errors.js';
import type {
  AuthRequest,
  Connection,
  HandshakeSlot,
  SecurityContextData,
} from '../security-package.js';
import { clientAddressOf } from './client-address.js';
import type { Principal } from '../principal.js';

/**
 * Bounds on connection-bound handshakes (NTLM, Negotiate falling back to NTLM), part of
 * `createAuthenticator`'s options: how many may be pending in the process and per client address,
 * and for how long. A client over a bound is refused with 503 rather than crowding others out.
 */
export interface ConnectionLimits {
  /** Pending (incomplete) handshakes allowed in this process at once (default 10 000). */
  readonly maxPendingHandshakes?: number;
  /**
   * Pending handshakes one client address may hold at once (default 100). The address is the
   * request's `clientAddress` (the forwarded one behind a trusted proxy), else the socket's.
   */
  readonly maxPendingHandshakesPerClient?: number;
  /**
   * How long a handshake may stay incomplete, in milliseconds (default 30 000). A client computes
   * its AUTHENTICATE from the CHALLENGE without user interaction, so the Type 1 -> Type 3 gap is
   * one round trip plus the rest of the Type 1 request's body.
   */
  readonly handshakeTimeoutMs?: number;
}

export const DEFAULT_MAX_PENDING_HANDSHAKES = 10_000;
export const DEFAULT_MAX_PENDING_HANDSHAKES_PER_CLIENT = 100;
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 30_000;
const SWEEP_INTERVAL_MS = 1000;

function positiveLimit(value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  return value;
}

export interface ConnectionAuthentication {
  readonly principal: Principal;
  readonly context: SecurityContextData | undefined;
  readonly packageName: string;
}

/**
 * A certificate logon kept for the rest of its TLS handshake (LoopState.keptCertificates, keyed
 * by `AuthRequest.tlsHandshake`; certificate-phase.ts): what the connection's later requests are
 * admitted with, as an NTLM connection keeps its authentication (above).
 */
export interface KeptCertificate {
  /** The package's result it was built from: it holds while the package still answers with it. */
  readonly result: ConnectionResult;
  /** The principal as the first request got it (named by the directory, when configured). */
  readonly principal: Principal;
  readonly context: SecurityContextData | undefined;
}

interface PendingSlot {
  value: unknown;
  expiresAt: number;
  /** The client address the handshake counts against. */
  client: string;
}

interface ConnectionEntry {
  /** At most one pending handshake per connection: HTTP/1.1 requests on it are sequential. */
  pending: { packageName: string; slot: PendingSlot } | undefined;
  authenticated: ConnectionAuthentication | undefined;
}

export class ConnectionRegistry {
  readonly #entries = new Map<Connection, ConnectionEntry>();
  readonly #maxPending: number;
  readonly #maxPerClient: number;
  readonly #timeoutMs: number;
  #pendingCount = 0;
  readonly #pendingByClient = new Map<string, number>();
  #lastSweep = Number.NEGATIVE_INFINITY;

  constructor(limits: ConnectionLimits = {}) {
    if (limits === null || typeof limits !== 'object') {
      throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
    }
    this.#maxPending = positiveLimit(limits.maxPendingHandshakes, DEFAULT_MAX_PENDING_HANDSHAKES);
    this.#maxPerClient = positiveLimit(
      limits.maxPendingHandshakesPerClient,
      DEFAULT_MAX_PENDING_HANDSHAKES_PER_CLIENT,
    );
    this.#timeoutMs = positiveLimit(limits.handshakeTimeoutMs, DEFAULT_HANDSHAKE_TIMEOUT_MS);
  }

  /** Handshakes currently pending (for metrics and the memory benchmark). */
  get pendingHandshakes(): number {
    return this.#pendingCount;
  }

  /** Connections this registry holds any state for. */
  get trackedConnections(): number {
    return this.#entries.size;
  }

  #entry(connection: Connection): ConnectionEntry {
    let entry = this.#entries.get(connection);
    if (entry === undefined) {
      entry = { pending: undefined, authenticated: undefined };
      this.#entries.set(connection, entry);
      connection.once('close', () => this.#drop(connection));
    }
    return entry;
  }

  #drop(connection: Connection): void {
    const entry = this.#entries.get(connection);
    if (entry === undefined) return;
    this.#clearPending(entry);
    this.#entries.delete(connection);
  }

  #clearPending(entry: ConnectionEntry): void {
    if (entry.pending === undefined) return;
    const client = entry.pending.slot.client;
    entry.pending = undefined;
    this.#pendingCount--;
    const held = (this.#pendingByClient.get(client) ?? 1) - 1;
    if (held <= 0) this.#pendingByClient.delete(client);
    else this.#pendingByClient.set(client, held);
  }

  /** Count a new pending handshake for `client`, or throw when a bound is reached. */
  #admit(client: string, now: number): void {
    const full = () =>
      this.#pendingCount >= this.#maxPending ||
      (this.#pendingByClient.get(client) ?? 0) >= this.#maxPerClient;
    if (full()) this.#sweep(now);
    if (this.#pendingCount >= this.#maxPending) {
      throw new HttpAuthError('ERR_HTTPAUTH_TOO_MANY_HANDSHAKES');
    }
    const held = this.#pendingByClient.get(client) ?? 0;
    if (held >= this.#maxPerClient) {
      throw new HttpAuthError('ERR_HTTPAUTH_CLIENT_HANDSHAKE_QUOTA');
    }
    this.#pendingCount++;
    this.#pendingByClient.set(client, held + 1);
  }

  /**
   * Drop expired handshakes so the pending counts reflect live ones only. A sweep walks every
   * connection, so a client hammering at its quota gets at most one per SWEEP_INTERVAL_MS.
   */
  #sweep(now: number): void {
    if (now - this.#lastSweep < SWEEP_INTERVAL_MS) return;
    this.#lastSweep = now;
    for (const entry of this.#entries.values()) {
      if (entry.pending !== undefined && entry.pending.slot.expiresAt <= now) {
        this.#clearPending(entry);
      }
    }
  }

  /**
   * The handshake slot of `packageName` on this connection; a handshake started in it counts
   * against the request's client address (client-address.ts, found only when one starts). One small
   * object per request, its methods on the prototype: most requests that get one (Digest, a
   * Kerberos logon) never start a handshake, so nothing else is made for them.
   */
  slot(
    connection: Connection,
    packageName: string,
    now: number,
    request: AuthRequest,
  ): HandshakeSlot {
    return new ConnectionSlot(this, connection, packageName, now, request);
  }

  /** The value pending for `packageName` on the connection, or undefined (expired ones drop). */
  pendingValue(connection: Connection, packageName: string, now: number): unknown {
    const entry = this.#entries.get(connection);
    const pending = entry?.pending;
    if (entry === undefined || pending === undefined) return undefined;
    if (pending.packageName !== packageName) return undefined;
    if (pending.slot.expiresAt <= now) {
      this.#clearPending(entry);
      return undefined;
    }
    return pending.slot.value;
  }

  /** Start or continue `packageName`'s handshake on the connection with `value`. */
  setPending(
    connection: Connection,
    packageName: string,
    now: number,
    request: AuthRequest,
    value: unknown,
  ): void {
    const entry = this.#entry(connection);
    // A handshake already pending here keeps its place (and its client): HTTP/1.1 legs on
    // one connection are sequential, so this is the next leg of the same client.
    const client = entry.pending?.slot.client ?? clientAddressOf(request, connection);
    if (entry.pending === undefined) this.#admit(client, now);
    entry.pending = { packageName, slot: { value, expiresAt: now + this.#timeoutMs, client } };
  }

  /** Drop whatever handshake is pending on the connection. */
  clearPending(connection: Connection): void {
    const entry = this.#entries.get(connection);
    if (entry !== undefined) this.#clearPending(entry);
  }

  authenticated(connection: Connection): ConnectionAuthentication | undefined {
    return this.#entries.get(connection)?.authenticated;
  }

  setAuthenticated(connection: Connection, value: ConnectionAuthentication | undefined): void {
    if (value === undefined) {
      const entry = this.#entries.get(connection);
      if (entry !== undefined) entry.authenticated = undefined;
      return;
    }
    this.#entry(connection).authenticated = value;
  }
}

/** A package's handshake slot on one connection for one request (ConnectionRegistry.slot). */
class ConnectionSlot implements HandshakeSlot {
  readonly #registry: ConnectionRegistry;
  readonly #connection: Connection;
  readonly #packageName: string;
  readonly #now: number;
  readonly #request: AuthRequest;

  constructor(
    registry: ConnectionRegistry,
    connection: Connection,
    packageName: string,
    now: number,
    request: AuthRequest,
  ) {
    this.#registry = registry;
    this.#connection = connection;
    this.#packageName = packageName;
    this.#now = now;
    this.#request = request;
  }

  get(): unknown {
    return this.#registry.pendingValue(this.#connection, this.#packageName, this.#now);
  }

  set(value: unknown): void {
    this.#registry.setPending(this.#connection, this.#packageName, this.#now, this.#request, value);
  }

  clear(): void {
    this.#registry.clearPending(this.#connection);
  }
}
