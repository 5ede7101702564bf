/**
 * The `NTLM` HTTP authentication scheme (MS-NTHT): three legs on one keep-alive connection.
 *
 *   GET /            ->  401  WWW-Authenticate: NTLM
 *   NTLM <NEGOTIATE> ->  401  WWW-Authenticate: NTLM <CHALLENGE>     (state kept on the connection)
 *   NTLM <AUTHENTICATE> -> 200, and the connection stays authenticated (IIS's behaviour)
 *
 * NTLM authenticates a TCP connection, not a request, so it cannot run over HTTP/2. It is still
 * offered there, as IIS does: NTLM credentials on an HTTP/2 stream are answered with
 * HTTP_1_1_REQUIRED (RFC 9113 §8.2.3), a stream reset after which the client retries over HTTP/1.1.
 */
import { HttpAuthError, fail, isHttpAuthError } from '../errors.js';
import type {
  AcceptContext,
  AcceptResult,
  Credentials,
  SecurityPackage,
} from '../security-package.js';
import type { NtlmAcceptorOptions, NtlmHandshakeState } from './acceptor.js';
import { NtlmAcceptor } from './acceptor.js';
import type { WinbindOptions } from './winbind.js';
import { winbindCredentials } from './winbind.js';
import { MAX_MESSAGE_BYTES } from './wire.js';

/** MS-NLMP's OID for NTLMSSP as a GSS mechanism (used under SPNEGO). */
export const NTLMSSP_MECH_OID = '1.3.6.1.4.1.311.2.2.10';

/**
 * Options of {@link ntlm}, the `NTLM` HTTP scheme (MS-NTHT): the acceptor's options with the
 * credential source (a verifier, winbind or a domain controller), and whether the connection stays
 * authenticated.
 */
export interface NtlmOptions extends Omit<NtlmAcceptorOptions, 'credentials'> {
  /** Who checks the responses; required unless `winbind` is set. */
  readonly credentials?: NtlmAcceptorOptions['credentials'];
  /** Check responses through winbind's ntlm_auth helpers (a host joined with Samba). */
  readonly winbind?: boolean | WinbindOptions;
  /**
   * Keep the connection authenticated after a successful handshake (default true, as IIS does).
   * False: every request on the connection must authenticate again.
   */
  readonly persistOnConnection?: boolean;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Strict base64 of an NTLM token (token68 also allows "-._~", which NTLM never uses). */
export function decodeNtlmToken(token68: string | undefined): Buffer {
  if (token68 === undefined || token68.length === 0) fail('ERR_HTTPAUTH_NTLM_MALFORMED');
  if (token68.length > Math.ceil(MAX_MESSAGE_BYTES / 3) * 4 || !BASE64.test(token68)) {
    fail('ERR_HTTPAUTH_NTLM_MALFORMED');
  }
  if (token68.length % 4 !== 0 && token68.includes('=')) fail('ERR_HTTPAUTH_NTLM_MALFORMED');
  return Buffer.from(token68, 'base64');
}

/**
 * A pending handshake as the connection keeps it between CHALLENGE and AUTHENTICATE: one latin1
 * string, the NEGOTIATE's length in its first two characters (big-endian; a message is at most
 * MAX_MESSAGE_BYTES = 16 KiB), then NEGOTIATE || CHALLENGE byte for byte. A Buffer of its own
 * costs a Uint8Array and an ArrayBuffer besides its bytes, about 180 B per handshake in a heap
 * snapshot; a one-byte string costs a 16-byte header. Up to 10,000 handshakes may be parked by
 * default (ConnectionOptions.maxPendingHandshakes), so this is what keeps one under 1 KiB with its
 * connection's bookkeeping (bench/suites/memory.ts, issue 16).
 */
function packState(state: NtlmHandshakeState): string {
  const length = state.negotiateLength;
  return String.fromCharCode(length >>> 8, length & 0xff) + state.transcript.toString('latin1');
}

function unpackState(value: unknown): NtlmHandshakeState | undefined {
  if (typeof value !== 'string' || value.length < 2) return undefined;
  const negotiateLength = (value.charCodeAt(0) << 8) | value.charCodeAt(1);
  const transcript = Buffer.from(value.slice(2), 'latin1');
  return negotiateLength <= transcript.length ? { transcript, negotiateLength } : undefined;
}

/** The NTLM security package for createAuthenticator({ packages: [ntlm({...})] }). */
export function ntlm(options: NtlmOptions): SecurityPackage & { readonly acceptor: NtlmAcceptor } {
  const credentials = winbindCredentials(options);
  const acceptor = new NtlmAcceptor({
    ...options,
    ...(credentials === undefined ? {} : { credentials }),
  });
  const persist = options.persistOnConnection ?? true;
  if (typeof persist !== 'boolean') throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');

  return {
    name: 'NTLM',
    scheme: 'NTLM',
    mechOid: NTLMSSP_MECH_OID,
    connectionBound: true,
    acceptor,
    challenges(): readonly string[] {
      return ['NTLM'];
    },
    async accept(credentials: Credentials, context: AcceptContext): Promise<AcceptResult> {
      try {
        if (context.handshake === undefined) fail('ERR_HTTPAUTH_CONNECTION_REQUIRED');
        const token = decodeNtlmToken(credentials.token68);
        const state = unpackState(context.handshake.get());
        const result = await acceptor.step(token, state, {
          now: context.now,
          channelBinding: context.channelBinding,
        });
        if (result.type === 'continue') {
          context.handshake.set(packState(result.state));
          return { type: 'continue', token: result.token.toString('base64') };
        }
        context.handshake.clear();
        return {
          type: 'complete',
          principal: result.principal,
          context: result.context,
          persist,
        };
      } catch (error) {
        if (!isHttpAuthError(error)) throw error;
        context.handshake?.clear();
        return { type: 'reject', error };
      }
    },
  };
}
