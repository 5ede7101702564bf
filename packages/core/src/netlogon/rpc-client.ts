/**
 * Calls over one RpcConnection: bind, then requests, either unauthenticated (endpoint mapper,
 * secure-channel set-up) or sealed with the schannel verifier at packet privacy
 * (MS-NRPC §3.3.4.2: auth_type 0x44, auth_level 6).
 */
import { decodeBindAck, encodeBind } from './bind.js';
import type { Endpoint } from './connection.js';
import { RpcConnection } from './connection.js';
import {
  AUTH_LEVEL_PRIVACY,
  AUTH_TYPE_SCHANNEL,
  checkNlAuthResponse,
  decodeNlAuthSignature,
  encodeNlAuthRequest,
  encodeNlAuthSignature,
} from './nl-auth.js';
import type { SyntaxId } from './pdu.js';
import { NETLOGON_SYNTAX } from './pdu.js';
import { decodeResponse, encodeRequest } from './request.js';
import { RpcError } from './rpc-error.js';
import { SchannelSealer } from './schannel.js';

/** Any u32 works, but every request on the connection must repeat the bind's value. */
const AUTH_CONTEXT_ID = 1;
/** Stub ‖ pad is a multiple of 16, as Windows and Samba send it. */
const SEAL_ALIGN = 16;

export class PlainRpcClient {
  readonly #connection: RpcConnection;
  readonly #timeoutMs: number;
  #callId = 1;

  private constructor(connection: RpcConnection, timeoutMs: number) {
    this.#connection = connection;
    this.#timeoutMs = timeoutMs;
  }

  static async bind(
    endpoint: Endpoint,
    syntax: SyntaxId,
    timeoutMs: number,
  ): Promise<PlainRpcClient> {
    const connection = await RpcConnection.open(endpoint, timeoutMs);
    try {
      const client = new PlainRpcClient(connection, timeoutMs);
      const [ack] = await connection.call(encodeBind(client.#callId++, syntax), timeoutMs);
      decodeBindAck(ack as NonNullable<typeof ack>);
      return client;
    } catch (error) {
      connection.close();
      throw error;
    }
  }

  async call(opnum: number, stub: Buffer): Promise<Buffer> {
    const callId = this.#callId++;
    const fragments = await this.#connection.call(
      encodeRequest(callId, opnum, stub.length, stub),
      this.#timeoutMs,
    );
    return Buffer.concat(
      fragments.map((fragment) => checkCallId(fragment, callId)).map(decodeResponse),
    );
  }

  close(): void {
    this.#connection.close();
  }
}

function checkCallId<T extends { header: { callId: number } }>(pdu: T, callId: number): T {
  if (pdu.header.callId !== callId) throw new RpcError('RPC_PROTOCOL', 'call_id mismatch');
  return pdu;
}

/** A connection bound with the schannel security provider; one call at a time. */
export class SchannelRpcClient {
  readonly #connection: RpcConnection;
  readonly #sealer: SchannelSealer;
  readonly #timeoutMs: number;
  #callId = 1;
  /** Calls completed; a 0x721 fault on the first one means the DC holds another key. */
  calls = 0;

  private constructor(connection: RpcConnection, sessionKey: Buffer, timeoutMs: number) {
    this.#connection = connection;
    this.#sealer = new SchannelSealer(sessionKey);
    this.#timeoutMs = timeoutMs;
  }

  static async bind(
    endpoint: Endpoint,
    sessionKey: Buffer,
    names: { domain: string; computer: string },
    timeoutMs: number,
  ): Promise<SchannelRpcClient> {
    const connection = await RpcConnection.open(endpoint, timeoutMs);
    try {
      const client = new SchannelRpcClient(connection, sessionKey, timeoutMs);
      const bind = encodeBind(client.#callId++, NETLOGON_SYNTAX, {
        trailer: trailer(0),
        value: encodeNlAuthRequest(names.domain, names.computer),
      });
      const [ack] = await connection.call(bind, timeoutMs);
      checkNlAuthResponse(decodeBindAck(ack as NonNullable<typeof ack>).authValue);
      return client;
    } catch (error) {
      connection.close();
      throw error;
    }
  }

  get usable(): boolean {
    return this.#connection.usable;
  }

  async call(opnum: number, stub: Buffer): Promise<Buffer> {
    const callId = this.#callId++;
    const padLength = (SEAL_ALIGN - (stub.length % SEAL_ALIGN)) % SEAL_ALIGN;
    const sealed = this.#sealer.seal(Buffer.concat([stub, Buffer.alloc(padLength)]));
    const pdu = encodeRequest(callId, opnum, stub.length, sealed.sealed, {
      trailer: trailer(padLength),
      value: encodeNlAuthSignature(sealed),
    });
    const fragments = await this.#connection.call(pdu, this.#timeoutMs);
    const parts = fragments.map((fragment) => {
      checkCallId(fragment, callId);
      const body = decodeResponse(fragment);
      const t = fragment.trailer;
      if (
        t === undefined ||
        fragment.authValue === undefined ||
        t.authType !== AUTH_TYPE_SCHANNEL ||
        t.authLevel !== AUTH_LEVEL_PRIVACY ||
        t.authContextId !== AUTH_CONTEXT_ID
      ) {
        throw new RpcError('RPC_INTEGRITY', 'response is not sealed as negotiated');
      }
      const plain = this.#sealer.unseal(body, decodeNlAuthSignature(fragment.authValue));
      if (t.authPadLength > plain.length) throw new RpcError('RPC_MALFORMED', 'auth pad too long');
      return plain.subarray(0, plain.length - t.authPadLength);
    });
    this.calls++;
    return Buffer.concat(parts);
  }

  close(): void {
    this.#connection.close();
  }
}

function trailer(authPadLength: number) {
  return {
    authType: AUTH_TYPE_SCHANNEL,
    authLevel: AUTH_LEVEL_PRIVACY,
    authPadLength,
    authContextId: AUTH_CONTEXT_ID,
  };
}
