/**
 * Per-connection state for connection-bound packages (NTLM, Negotiate falling back to NTLM).
 *
 * IIS and SSPI keep a partial security context per TCP connection between the legs of a
 * handshake; so do we, with three bounds that a client cannot push past: the number of pending
 * handshakes in the process, the lifetime of each, and the socket's life (state is dropped on
 * 'close'). A completed NTLM authentication may stay on the connection (IIS's default), so later
 * requests on it are authenticated without a new handshake.
 */
import { HttpAuthError } from '../errors.js';
import type { Connection, HandshakeSlot, SecurityContextData } from '../package.js';
import type { Principal } from '../principal.js';

export interface ConnectionLimits {
  /** Pending (incomplete) handshakes allowed in this process at once. */
  readonly maxPendingHandshakes?: number;
  /** How long a handshake may stay incomplete, in milliseconds. */
  readonly handshakeTimeoutMs?: number;
}

export interface ConnectionAuthentication {
  readonly principal: Principal;
  readonly context: SecurityContextData | undefined;
  readonly packageName: string;
}

interface PendingSlot {
  value: unknown;
  expiresAt: number;
}

interface ConnectionEntry {
  /** At most one pending handshake per connection: HTTP/1.1 requests on it are sequential. */
  pending: { packageName: string; slot: PendingSlot } | undefined;
  authenticated: ConnectionAuthentication | undefined;
}

export class ConnectionRegistry {
  readonly #entries = new Map<Connection, ConnectionEntry>();
  readonly #maxPending: number;
  readonly #timeoutMs: number;
  #pendingCount = 0;

  constructor(limits: ConnectionLimits = {}) {
    this.#maxPending = limits.maxPendingHandshakes ?? 10_000;
    this.#timeoutMs = limits.handshakeTimeoutMs ?? 60_000;
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
    if (entry.pending !== undefined) this.#pendingCount--;
    this.#entries.delete(connection);
  }

  #clearPending(entry: ConnectionEntry): void {
    if (entry.pending !== undefined) {
      entry.pending = undefined;
      this.#pendingCount--;
    }
  }

  /** Drop expired handshakes so the pending count reflects live ones only. */
  #sweep(now: number): void {
    for (const entry of this.#entries.values()) {
      if (entry.pending !== undefined && entry.pending.slot.expiresAt <= now) {
        this.#clearPending(entry);
      }
    }
  }

  /** The handshake slot of `packageName` on this connection. */
  slot(connection: Connection, packageName: string, now: number): HandshakeSlot {
    return {
      get: () => {
        const entry = this.#entries.get(connection);
        const pending = entry?.pending;
        if (entry === undefined || pending === undefined) return undefined;
        if (pending.packageName !== packageName) return undefined;
        if (pending.slot.expiresAt <= now) {
          this.#clearPending(entry);
          return undefined;
        }
        return pending.slot.value;
      },
      set: (value: unknown) => {
        const entry = this.#entry(connection);
        if (entry.pending === undefined) {
          if (this.#pendingCount >= this.#maxPending) {
            this.#sweep(now);
            if (this.#pendingCount >= this.#maxPending) {
              throw new HttpAuthError('ERR_HTTPAUTH_TOO_MANY_HANDSHAKES');
            }
          }
          this.#pendingCount++;
        }
        entry.pending = { packageName, slot: { value, expiresAt: now + this.#timeoutMs } };
      },
      clear: () => {
        const entry = this.#entries.get(connection);
        if (entry !== undefined) this.#clearPending(entry);
      },
    };
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
