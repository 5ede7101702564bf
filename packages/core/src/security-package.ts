/**
 * The security-package interface. It mirrors Windows SSPI on purpose, so that anyone who knows
 * AcceptSecurityContext knows the flow: each package answers one HTTP auth-scheme, and `accept()`,
 * given the client's token and the state kept for this connection, answers continue (send this
 * token back), complete (here is who it is) or reject (a stable error code). Rejecting is a
 * result, never a throw: the loop (loop/) turns whatever a package throws into a reject under the
 * package's scheme, but that path is for bugs.
 */
import type { HttpAuthError } from './errors.js';
import { isHttpAuthError } from './errors.js';
import type { Credentials } from './grammar/http-auth.js';
import type { Principal } from './principal.js';
import type { KeyValueStore } from './store/types.js';

/** Header values as Node gives them: lower-case names, a string or the list of repeated values. */
export type HeaderBag = Readonly<Record<string, string | readonly string[] | undefined>>;

/** The TCP connection a request arrived on. A `net.Socket` satisfies this. */
export interface Connection {
  /** Registers the handler that drops the connection's handshake state when it closes. */
  once(event: 'close', listener: () => void): unknown;
  /** The peer's address (net.Socket has it), when the request carries no `clientAddress`. */
  readonly remoteAddress?: string | undefined;
}

/**
 * One HTTP request as the engine sees it, built by the adapters: method, target, headers, the
 * connection and whether it is TLS, the client address, and the body for Digest `auth-int`.
 */
export interface AuthRequest {
  readonly method: string;
  /** The request-target exactly as sent on the request line (Digest compares its `uri` to it). */
  readonly target: string;
  readonly headers: HeaderBag;
  /** The transport connection; without it connection-bound schemes (NTLM) are not offered. */
  readonly connection?: Connection | undefined;
  /** 1 for HTTP/1.x, 2 for HTTP/2: connection-bound schemes cannot work over HTTP/2 (RFC 7540 §8.1.1). */
  readonly httpVersionMajor: number;
  /** True when the client connection is TLS (terminated here, or by a trusted proxy). */
  readonly secure: boolean;
  /** DER of the certificate this server presented on the TLS connection, for channel bindings. */
  readonly localCertificate?: Buffer | undefined;
  /**
   * The client's address: the socket's peer, or behind a trusted proxy (`trustProxy`) the last
   * X-Forwarded-For entry. Per-client handshake quotas count against it.
   */
  readonly clientAddress?: string | undefined;
  /**
   * True when the request came through a reverse proxy the adapter trusts (`trustProxy`): then
   * no connection-level authentication persists (one backend connection carries many clients).
   */
  readonly viaTrustedProxy?: boolean | undefined;
  /**
   * The client's TLS certificate chain (DER, leaf first, as `peerChain()` builds it from
   * `getPeerCertificate(true)`; empty when it sent none), for the certificate package: the list,
   * or a function returning it, which the loop calls only when a certificate package is
   * configured (the Node glue passes one, so a server without the package never builds a
   * chain). Undefined when the connection is not TLS, and always behind a trusted proxy: the
   * proxy's certificate is not the client's.
   */
  readonly peerCertificateChain?: readonly Buffer[] | (() => readonly Buffer[]) | undefined;
  /**
   * The TLS socket the chain belongs to (for HTTP/2, the session's socket, not the stream): the
   * certificate package caches its result per connection under it.
   */
  readonly tlsConnection?: object | undefined;
  /**
   * Stands for the TLS handshake the chain came from: the same object for every request on the
   * connection until a new handshake (a TLS 1.2 renegotiation, which may bring another
   * certificate), then a new one. The loop keeps a completed certificate logon under it, so the
   * connection's later requests skip the certificate phase (they are answered at once, like an
   * NTLM connection that stays authenticated). Without it every request runs the phase.
   */
  readonly tlsHandshake?: object | undefined;
  /** The request body, for Digest qop=auth-int; adapters supply it when configured to. */
  readonly body?: (() => Promise<Buffer>) | undefined;
}

// The parsed credentials a package accepts are the header grammar's output (grammar/ sits below
// every package, so the type lives there).
export type { Credentials } from './grammar/http-auth.js';

/**
 * A per-connection, per-package slot for partial handshake state (NTLM between Type 2 and
 * Type 3). Values set here count towards the pending-handshake bound and expire after the
 * handshake timeout; the slot is dropped when the socket closes.
 */
export interface HandshakeSlot<T = unknown> {
  /** The state stored by the previous leg, or undefined. */
  get(): T | undefined;
  /** Throws ERR_HTTPAUTH_TOO_MANY_HANDSHAKES when the process-wide bound is reached. */
  set(value: T): void;
  /** Drops the state (the handshake finished or failed). */
  clear(): void;
}

/**
 * What a security package gets with credentials to accept: the request, the connection's handshake
 * slot, the channel binding, the store (replay cache, nonce counts) and the time.
 */
export interface AcceptContext {
  readonly request: AuthRequest;
  /** Present only for connection-bound packages on an HTTP/1.x connection. */
  readonly handshake: HandshakeSlot | undefined;
  /**
   * The RFC 5929 tls-server-end-point channel-binding application data
   * (`tls-server-end-point:` + certificate hash) for this connection, when known.
   */
  readonly channelBinding: Buffer | undefined;
  readonly store: KeyValueStore;
  /** Current time in milliseconds (injectable for tests). */
  readonly now: number;
}

/** What the package hands on besides the principal: keys and credentials for later use. */
export interface SecurityContextData {
  /** The exported session key (NTLM) or the negotiated subkey (Kerberos). */
  readonly sessionKey?: Buffer;
  /** A forwarded TGT as an MIT credential ready to be written to a ccache (Kerberos delegation). */
  readonly delegatedCredential?: unknown;
  /** Anything else a package exposes (negotiated flags, sign/seal keys). */
  readonly [key: string]: unknown;
}

/**
 * What a security package answers for credentials: `continue` (send this token in a new challenge),
 * `complete` (authenticated as this principal), or `reject` (refused, with a stable error).
 */
export type AcceptResult =
  | {
      readonly type: 'continue';
      /** The token sent back in `WWW-Authenticate: <scheme> <token>`. */
      readonly token: string;
    }
  | {
      readonly type: 'complete';
      readonly principal: Principal;
      /** A final token for mutual authentication (`WWW-Authenticate: Negotiate <token>` on success). */
      readonly token?: string;
      /** The Authentication-Info header value (RFC 9110 §11.6.3), for Digest. */
      readonly authenticationInfo?: string;
      readonly context?: SecurityContextData;
      /** Keep the connection authenticated for later requests (NTLM, as IIS does). */
      readonly persist?: boolean;
    }
  | {
      readonly type: 'reject';
      readonly error: HttpAuthError;
      /**
       * Challenges that replace this package's usual ones in the 401 (Digest `stale=true`; a
       * Negotiate KRB-ERROR token). Full header values, scheme included.
       */
      readonly challenges?: readonly string[];
    };

/**
 * A security package, as in SSPI: one HTTP authentication scheme (`negotiate()`, `ntlm()`,
 * `digest()`, `basic()`, or your own) that the authenticator offers in challenges and hands the
 * credentials of its scheme to.
 */
export interface SecurityPackage {
  /** Package name, as SSPI names them: 'Negotiate', 'Kerberos', 'NTLM', 'Digest', 'Basic'. */
  readonly name: string;
  /** The HTTP auth-scheme it answers (compared case-insensitively). */
  readonly scheme: string;
  /** The GSS-API mechanism OID when the package can run under Negotiate. */
  readonly mechOid?: string;
  /** True when the handshake spans several requests on one TCP connection. */
  readonly connectionBound: boolean;
  /**
   * The challenges for a 401 (full header values, scheme first). Several for Digest (one per
   * algorithm). May return none, when the package cannot be offered for this request.
   */
  challenges(request: AuthRequest, now: number): readonly string[];
  /**
   * AcceptSecurityContext. Answers every client input: bad credentials, a failing credential
   * source or a missing body are a `reject` with a stable code. The answer may come at once when
   * nothing in it waits (Negotiate with an in-process replay cache), else as a promise; callers
   * `await` it either way. A throw or a rejected promise is a bug; the loop answers it with
   * ERR_HTTPAUTH_INTERNAL under this package's scheme.
   */
  accept(credentials: Credentials, context: AcceptContext): AcceptResult | Promise<AcceptResult>;
}

/**
 * Internal to core (not in any public entry point): a package's own single-pass reader of its
 * auth-params, which the loop calls instead of the RFC 9110 parser's Map when the package has
 * one. It takes the header and where the parameters start (grammar/http-auth.ts readScheme), and
 * answers its own reading of them, or undefined to have the loop run the general parser. A
 * reader accepts only what that parser accepts: the reading goes to the package's accept() in
 * ScannedCredentials, which still parses `params` when asked. Digest has one (digest/scan.ts).
 */
export const scanParams: unique symbol = Symbol('httpauth.scanParams');

export type ParamScanner = (header: string, rest: number) => unknown;

/** A package with its own parameter reader (see scanParams). */
export interface ScanningPackage extends SecurityPackage {
  readonly [scanParams]: ParamScanner;
}

/** The package's own parameter reader, when it has one. */
export function scannerOf(pkg: SecurityPackage): ParamScanner | undefined {
  return (pkg as Partial<ScanningPackage>)[scanParams];
}

/** accept() with the same contract, answered without a promise when nothing in it waits. */
export type AcceptNow = (
  credentials: Credentials,
  context: AcceptContext,
) => AcceptResult | Promise<AcceptResult>;

/**
 * Internal to core (not in any public entry point): the synchronous form of a package's accept(),
 * keyed by that accept function itself, so a wrapper that replaces `accept` (a copy of the
 * package with its own accept) loses it and is called through its own accept as before.
 */
const synchronousAccepts = new WeakMap<SecurityPackage['accept'], AcceptNow>();

/** Pair an accept() with its synchronous form (the same checks, in the same order). */
export function withAcceptNow(
  accept: SecurityPackage['accept'],
  now: AcceptNow,
): SecurityPackage['accept'] {
  synchronousAccepts.set(accept, now);
  return accept;
}

/** The synchronous form of the package's accept(), when its accept has one. */
export function acceptNowOf(pkg: SecurityPackage): AcceptNow | undefined {
  return synchronousAccepts.get(pkg.accept);
}

/**
 * One way to refuse: run a package's checks, which stop at the first failed one with
 * `fail(code)` (an HttpAuthError), and answer such a refusal as a `reject` result. Anything else
 * thrown is a bug and propagates (the loop answers it with ERR_HTTPAUTH_INTERNAL).
 */
export async function rejectRefusals(checks: () => Promise<AcceptResult>): Promise<AcceptResult> {
  try {
    return await checks();
  } catch (error) {
    if (!isHttpAuthError(error)) throw error;
    return { type: 'reject', error };
  }
}
