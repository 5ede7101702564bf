/**
 * A NETLOGON secure channel to one domain controller, kept open and reused (MS-NRPC §3.1.4):
 *
 *   set-up   endpoint mapper → NETLOGON's port (unless fixed); on one unauthenticated connection
 *            NetrServerReqChallenge + NetrServerAuthenticate3 with AES → session key SK
 *   pool     up to `maxConnections` TCP connections, each bound with the schannel provider and SK,
 *            each carrying one call at a time (the DC numbers PDUs per connection)
 *   recovery a fault 0x721 means the DC holds another key for our computer name (restarted, or
 *            another Authenticate3), and a refused schannel bind that it holds none: authenticate
 *            again and rebind.
 *            A pooled connection that died (DC restart, idle close) is replaced once.
 */
import { randomBytes } from 'node:crypto';
import type { Endpoint } from './connection.js';
import { decodeEptMapResponse, encodeEptMap, EPM_PORT, OPNUM_EPT_MAP } from './epm.js';
import {
  decodeAuthenticate3Response,
  decodeReqChallengeResponse,
  encodeAuthenticate3,
  encodeReqChallenge,
  NEGOTIATE_FLAGS,
  NETLOGON_NEG_SUPPORTS_AES,
  OPNUM_AUTHENTICATE3,
  OPNUM_REQ_CHALLENGE,
} from './nrpc-setup.js';
import { EPM_SYNTAX, NETLOGON_SYNTAX } from './pdu.js';
import { PlainRpcClient, SchannelRpcClient } from './rpc-client.js';
import { FAULT_SEC_PKG_ERROR, RpcError } from './rpc-error.js';
import { netlogonCredential, secureChannelSessionKey } from './schannel.js';
import { bytesEqual } from '../crypto/constant-time.js';

export interface SecureChannelOptions {
  readonly host: string;
  /** NETLOGON's TCP port; undefined: ask the endpoint mapper. */
  readonly port?: number | undefined;
  readonly epmPort?: number;
  /** NetBIOS domain name (the schannel bind names it). */
  readonly domain: string;
  /** The machine account, with its `$`. */
  readonly accountName: string;
  /** The secure channel's computer name: the account without `$`. */
  readonly computerName: string;
  readonly ntHash: Buffer;
  /** Bound on each network step (connect, one call). */
  readonly timeoutMs: number;
  readonly maxConnections: number;
}

interface Lease {
  readonly client: SchannelRpcClient;
  /** The session key the connection was bound with. */
  readonly key: Promise<Buffer>;
  readonly reused: boolean;
}

interface Waiter {
  resolve(lease: Lease | undefined): void;
}

export class SecureChannel {
  readonly #options: SecureChannelOptions;
  #sessionKey: Promise<Buffer> | undefined;
  #port: number | undefined;
  readonly #idle: Lease[] = [];
  #open = 0;
  readonly #waiters: Waiter[] = [];
  #closed = false;
  /** Measured for operators: set-ups done (each a ReqChallenge + Authenticate3). */
  setups = 0;

  constructor(options: SecureChannelOptions) {
    this.#options = options;
    this.#port = options.port;
  }

  get host(): string {
    return this.#options.host;
  }

  /**
   * One call on a pooled, bound connection, retried (at most twice more) when recovery applies:
   * a pooled connection the DC closed (restart, idle timeout), a bind refused because NETLOGON
   * moved to another dynamic port, a 0x721 fault on a fresh binding (the DC holds another key).
   */
  async call(opnum: number, stub: Buffer): Promise<Buffer> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      let lease: Lease;
      try {
        lease = await this.#acquire();
      } catch (error) {
        lastError = error;
        // #acquire forgot the port learnt from the endpoint mapper, or the key the DC refused:
        // ask again once.
        if (
          error instanceof RpcError &&
          (error.code === 'RPC_CONNECTION' || error.code === 'RPC_BIND_REFUSED') &&
          attempt === 0
        ) {
          continue;
        }
        throw error;
      }
      try {
        const answer = await lease.client.call(opnum, stub);
        this.#release(lease);
        return answer;
      } catch (error) {
        lastError = error;
        this.#discard(lease);
        if (!(error instanceof RpcError)) throw error;
        if (error.code === 'RPC_FAULT' && error.status === FAULT_SEC_PKG_ERROR) {
          // The DC refuses our verifier: it no longer knows this key (MS-NRPC §3.1.4.1: another
          // Authenticate3 or a restart replaced it), on a fresh binding or, when the DC dropped
          // the session, on a connection that worked so far. Authenticate again, unless someone
          // already did, and retry on a new binding.
          this.#forgetKey(lease.key);
          continue;
        }
        if (error.code === 'RPC_CONNECTION' && lease.reused) continue;
        throw error;
      }
    }
    throw lastError;
  }

  close(): void {
    this.#closed = true;
    for (const { client } of this.#idle.splice(0)) client.close();
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(undefined);
  }

  async #acquire(): Promise<Lease> {
    for (;;) {
      if (this.#closed) throw new RpcError('RPC_CONNECTION', 'secure channel closed');
      const idle = this.#idle.pop();
      if (idle !== undefined) {
        if (idle.client.usable) return idle;
        this.#open--;
        continue;
      }
      if (this.#open < this.#options.maxConnections) {
        this.#open++;
        const key = this.#key();
        try {
          const client = await SchannelRpcClient.bind(
            this.#endpoint(await this.#netlogonPort()),
            await key,
            { domain: this.#options.domain, computer: this.#options.computerName },
            this.#options.timeoutMs,
          );
          return { client, key, reused: false };
        } catch (error) {
          this.#open--;
          this.#wakeOne();
          // A DC that lost our session (restart) refuses the schannel bind: set up again.
          if (error instanceof RpcError && error.code === 'RPC_BIND_REFUSED') this.#forgetKey(key);
          // A refused connection may mean NETLOGON moved (DC restarted on another dynamic port).
          if (this.#options.port === undefined) this.#port = undefined;
          throw error;
        }
      }
      // Every connection is busy: wait for one (the caller's deadline bounds the wait).
      const handed = await new Promise<Lease | undefined>((resolve) =>
        this.#waiters.push({ resolve }),
      );
      if (handed !== undefined) return handed;
    }
  }

  #release(lease: Lease): void {
    if (this.#closed || !lease.client.usable) {
      this.#discard(lease);
      return;
    }
    const reusable = { ...lease, reused: true };
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter.resolve(reusable);
    else this.#idle.push(reusable);
  }

  #discard(lease: { client: SchannelRpcClient }): void {
    lease.client.close();
    this.#open--;
    this.#wakeOne();
  }

  /** A slot freed up: let one waiter open a connection of its own. */
  #wakeOne(): void {
    this.#waiters.shift()?.resolve(undefined);
  }

  /** Drop the session key a failed lease was bound with, unless a newer one replaced it. */
  #forgetKey(stale: Promise<Buffer>): void {
    if (this.#sessionKey === stale) this.#sessionKey = undefined;
  }

  /** The current session key, setting the channel up when there is none (one set-up at a time). */
  #key(): Promise<Buffer> {
    if (this.#sessionKey !== undefined) return this.#sessionKey;
    const fresh = this.#authenticate();
    this.#sessionKey = fresh;
    // A failed set-up is not cached: the next call tries again.
    fresh.catch(() => this.#forgetKey(fresh));
    return fresh;
  }

  #endpoint(port: number): Endpoint {
    return { host: this.#options.host, port };
  }

  async #netlogonPort(): Promise<number> {
    if (this.#port !== undefined) return this.#port;
    const epm = await PlainRpcClient.bind(
      this.#endpoint(this.#options.epmPort ?? EPM_PORT),
      EPM_SYNTAX,
      this.#options.timeoutMs,
    );
    try {
      const { ports, status } = decodeEptMapResponse(
        await epm.call(OPNUM_EPT_MAP, encodeEptMap(NETLOGON_SYNTAX)),
      );
      const port = ports[0];
      if (port === undefined) {
        throw new RpcError(
          'RPC_PROTOCOL',
          'the endpoint mapper knows no NETLOGON endpoint',
          status,
        );
      }
      this.#port = port;
      return port;
    } finally {
      epm.close();
    }
  }

  /** NetrServerReqChallenge + NetrServerAuthenticate3 (MS-NRPC §3.4.5.2.1-2) → session key. */
  async #authenticate(): Promise<Buffer> {
    const o = this.#options;
    const client = await PlainRpcClient.bind(
      this.#endpoint(await this.#netlogonPort()),
      NETLOGON_SYNTAX,
      o.timeoutMs,
    );
    try {
      const primaryName = `\\\\${o.host}`;
      const clientChallenge = randomBytes(8);
      const challenge = decodeReqChallengeResponse(
        await client.call(
          OPNUM_REQ_CHALLENGE,
          encodeReqChallenge(primaryName, o.computerName, clientChallenge),
        ),
      );
      if (challenge.status !== 0) {
        throw new RpcError('NETLOGON_STATUS', 'NetrServerReqChallenge refused', challenge.status);
      }
      const key = secureChannelSessionKey(o.ntHash, clientChallenge, challenge.serverChallenge);
      const answer = decodeAuthenticate3Response(
        await client.call(
          OPNUM_AUTHENTICATE3,
          encodeAuthenticate3({
            primaryName,
            accountName: o.accountName,
            computerName: o.computerName,
            clientCredential: netlogonCredential(key, clientChallenge),
            negotiateFlags: NEGOTIATE_FLAGS,
          }),
        ),
      );
      if (answer.status !== 0) {
        throw new RpcError('NETLOGON_STATUS', 'NetrServerAuthenticate3 refused', answer.status);
      }
      // Mutual authentication: the DC proves it knows the machine password too (§3.1.4.5).
      if (
        !bytesEqual(answer.serverCredential, netlogonCredential(key, challenge.serverChallenge))
      ) {
        throw new RpcError('RPC_INTEGRITY', 'the DC returned a wrong server credential');
      }
      if ((answer.negotiateFlags & NETLOGON_NEG_SUPPORTS_AES) === 0) {
        throw new RpcError('RPC_PROTOCOL', 'the DC did not agree to AES');
      }
      this.setups++;
      return key;
    } finally {
      client.close();
    }
  }
}
