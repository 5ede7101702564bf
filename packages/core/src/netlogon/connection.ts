/**
 * One TCP connection to an RPC server (ncacn_ip_tcp, MS-RPCE §2.1.1.1): writes a PDU, reads PDUs
 * framed by the common header's frag_length. One call at a time: Samba verifies and signs PDUs
 * with a single sequence counter per connection, so pipelining calls breaks the numbering
 * (the pool in ./secure-channel.ts gets concurrency from several connections instead).
 * Every wait is bounded by a timeout; any failure closes the connection for good.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { Pdu } from './pdu.js';
import { COMMON_HEADER_LENGTH, PFC_LAST_FRAG, decodeHeader, splitPdu } from './pdu.js';
import { RpcError } from './rpc-error.js';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export class RpcConnection {
  readonly #socket: Socket;
  #buffered: Buffer = Buffer.alloc(0);
  #waiter: { resolve(pdu: Pdu): void; reject(error: Error): void } | undefined;
  #failure: RpcError | undefined;
  #busy = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error) =>
      this.#fail(new RpcError('RPC_CONNECTION', `connection failed: ${error.message}`)),
    );
    socket.on('close', () => this.#fail(new RpcError('RPC_CONNECTION', 'connection closed')));
  }

  static open(endpoint: Endpoint, timeoutMs: number): Promise<RpcConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: endpoint.host, port: endpoint.port, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new RpcError('RPC_TIMEOUT', `connect to ${endpoint.host}:${endpoint.port} timed out`),
        );
      }, timeoutMs);
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(new RpcError('RPC_CONNECTION', `connect failed: ${error.message}`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RpcConnection(socket));
      });
    });
  }

  get usable(): boolean {
    return this.#failure === undefined && !this.#socket.destroyed;
  }

  /** Send one PDU and read the answer's fragments until PFC_LAST_FRAG (each handed to `onFragment`). */
  async call(pdu: Buffer, timeoutMs: number): Promise<Pdu[]> {
    if (this.#busy) throw new RpcError('RPC_PROTOCOL', 'one call at a time per connection');
    if (this.#failure !== undefined) throw this.#failure;
    this.#busy = true;
    const timer = setTimeout(
      () => this.#fail(new RpcError('RPC_TIMEOUT', 'the RPC server did not answer in time')),
      timeoutMs,
    );
    try {
      this.#socket.write(pdu);
      const fragments: Pdu[] = [];
      for (;;) {
        const fragment = await this.#next();
        fragments.push(fragment);
        if ((fragment.header.flags & PFC_LAST_FRAG) !== 0) return fragments;
        if (fragments.length > 64) throw new RpcError('RPC_MALFORMED', 'too many fragments');
      }
    } catch (error) {
      this.#fail(error instanceof RpcError ? error : new RpcError('RPC_CONNECTION', String(error)));
      throw error;
    } finally {
      clearTimeout(timer);
      this.#busy = false;
    }
  }

  close(): void {
    this.#fail(new RpcError('RPC_CONNECTION', 'connection closed by us'));
  }

  #next(): Promise<Pdu> {
    const ready = this.#take();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** A whole PDU from the buffer, or undefined; a bad header fails the connection. */
  #take(): Pdu | undefined {
    if (this.#buffered.length < COMMON_HEADER_LENGTH) return undefined;
    const header = decodeHeader(this.#buffered);
    if (this.#buffered.length < header.fragLength) return undefined;
    const raw = Buffer.from(this.#buffered.subarray(0, header.fragLength));
    this.#buffered = this.#buffered.subarray(header.fragLength);
    return splitPdu(raw);
  }

  #onData(chunk: Buffer): void {
    this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
    const waiter = this.#waiter;
    if (waiter === undefined) {
      // Nothing was asked: an unsolicited PDU (or garbage) ends the connection.
      if (!this.#busy) this.#fail(new RpcError('RPC_PROTOCOL', 'unsolicited data'));
      return;
    }
    try {
      const pdu = this.#take();
      if (pdu === undefined) return;
      this.#waiter = undefined;
      waiter.resolve(pdu);
    } catch (error) {
      this.#waiter = undefined;
      const failure =
        error instanceof RpcError ? error : new RpcError('RPC_MALFORMED', String(error));
      this.#fail(failure);
      waiter.reject(failure);
    }
  }

  #fail(error: RpcError): void {
    if (this.#failure === undefined) this.#failure = error;
    this.#socket.destroy();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(this.#failure);
  }
}
