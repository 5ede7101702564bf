/**
 * The one error type of the DCE/RPC and NETLOGON layers. Every parser and every transport failure
 * throws it with a stable code; the domain-controller verifier turns it into an HttpAuthError
 * (503 when the DC cannot answer), so nothing from the wire ever escapes untyped.
 */
export type RpcErrorCode =
  /** A PDU or an NDR stub is truncated, oversized or inconsistent. */
  | 'RPC_MALFORMED'
  /** A well-formed PDU that breaks the protocol (wrong type, call id, bind refused). */
  | 'RPC_PROTOCOL'
  /** The server refused a bind (bind_nak, rejected context, schannel not accepted). */
  | 'RPC_BIND_REFUSED'
  /** The server answered a fault PDU (C706 §12.6.4.7); `status` holds its status code. */
  | 'RPC_FAULT'
  /** A response failed the schannel verifier (MS-NRPC 3.3.4.2.2): wrong key or tampering. */
  | 'RPC_INTEGRITY'
  /** No answer within the configured time. */
  | 'RPC_TIMEOUT'
  /** The connection could not be made or was closed under a call. */
  | 'RPC_CONNECTION'
  /** NETLOGON answered with an NTSTATUS that is not a logon verdict (`status`). */
  | 'NETLOGON_STATUS';

export class RpcError extends Error {
  override readonly name = 'RpcError';
  readonly code: RpcErrorCode;
  /** Fault status or NTSTATUS, when the server sent one. */
  readonly status: number | undefined;

  constructor(code: RpcErrorCode, message: string, status?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = status;
  }
}

export function malformed(what: string): never {
  throw new RpcError('RPC_MALFORMED', `malformed ${what}`);
}

/** DCERPC_FAULT_SEC_PKG_ERROR (nca_s_fault_sec_pkg_error): the DC could not verify our verifier. */
export const FAULT_SEC_PKG_ERROR = 0x00000721;
