/**
 * The connection-persistence phase. A completed connection-bound handshake (NTLM, as IIS keeps
 * it) may stay on its TCP connection, so later requests on it need no handshake; new credentials
 * on the connection replace it. Through a proxy, one backend connection carries many clients'
 * requests, so an identity kept on it would answer for whoever sends the next request: nothing
 * persists there (IIS: authPersistSingleRequest).
 */
import type { AuthRequest, Connection, HandshakeSlot } from '../security-package.js';
import { connectionUsable } from './challenge.js';
import { cameThroughProxy } from './client-address.js';
import type { ConnectionAuthentication, ConnectionRegistry } from './connections.js';

export class ConnectionPhase {
  readonly #registry: ConnectionRegistry;

  constructor(registry: ConnectionRegistry) {
    this.#registry = registry;
  }

  /** Pending connection-bound handshakes in this process. */
  get pendingHandshakes(): number {
    return this.#registry.pendingHandshakes;
  }

  /** The request's connection when a connection-bound package can use it (HTTP/1.x). */
  connectionOf(request: AuthRequest): Connection | undefined {
    return connectionUsable(request) ? request.connection : undefined;
  }

  /**
   * The authentication kept on this connection, if any. One that reaches us through a proxy is
   * dropped instead: the request may be another client's.
   */
  persisted(request: AuthRequest, connection: Connection): ConnectionAuthentication | undefined {
    const kept = this.#registry.authenticated(connection);
    if (kept === undefined) return undefined;
    if (cameThroughProxy(request)) {
      this.#registry.setAuthenticated(connection, undefined);
      return undefined;
    }
    return kept;
  }

  /** New credentials on a connection replace whatever authenticated it before (as IIS does). */
  forget(connection: Connection): void {
    this.#registry.setAuthenticated(connection, undefined);
  }

  /** Keep a completed authentication on the connection, unless a proxy stands in between. */
  persist(request: AuthRequest, connection: Connection, value: ConnectionAuthentication): void {
    if (cameThroughProxy(request)) return;
    this.#registry.setAuthenticated(connection, value);
  }

  /** The package's handshake slot on this connection, counted against the client's address. */
  slot(
    request: AuthRequest,
    connection: Connection,
    packageName: string,
    now: number,
  ): HandshakeSlot {
    return this.#registry.slot(connection, packageName, now, request);
  }
}
