/**
 * Sending one request to a realm's KDCs (RFC 4120 §7.2): UDP first for small requests, TCP with a
 * 4-byte length prefix (§7.2.2) when the request is too large for UDP or the KDC answers
 * KRB_ERR_RESPONSE_TOO_BIG, a timeout per attempt, and failover to the next KDC when one does not
 * answer. A KDC that answers at all (even with a KRB-ERROR) ends the search: its answer is the
 * realm's answer.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { connect, isIP, type Socket } from 'node:net';

import { MAX_DER_BYTES } from '../../asn1/der.js';
import { HttpAuthError } from '../../errors.js';
import { KRB_ERROR_TAG, decodeKrbError } from '../messages/krb-error.js';

/** One KDC endpoint. `transport` 'any' means UDP, then TCP when the answer is too big. */
export interface KdcAddress {
  readonly host: string;
  readonly port: number;
  readonly transport: 'udp' | 'tcp' | 'any';
}

export interface KdcTransportOptions {
  /** Per attempt (one KDC, one transport), in ms. */
  readonly timeoutMs: number;
  /**
   * Requests larger than this go by TCP directly (MIT's udp_preference_limit, default 1465 so a
   * datagram is never fragmented on an Ethernet path).
   */
  readonly udpPreferenceLimit: number;
  /** Told which KDC answered, and whether one before it in the list failed to. */
  readonly onAnswer?: (kdc: KdcAddress, failedBefore: boolean) => void;
}

/** KRB_ERR_RESPONSE_TOO_BIG (RFC 4120 §7.5.9): "retry with TCP". */
const KRB_ERR_RESPONSE_TOO_BIG = 52;

function isResponseTooBig(reply: Buffer): boolean {
  if (reply[0] !== KRB_ERROR_TAG) return false;
  try {
    return decodeKrbError(reply).errorCode === KRB_ERR_RESPONSE_TOO_BIG;
  } catch {
    return false;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** One datagram out, the first datagram back. Rejects on timeout or socket error. */
export async function exchangeUdp(
  kdc: KdcAddress,
  request: Buffer,
  timeoutMs: number,
): Promise<Buffer> {
  const deadline = Date.now() + timeoutMs;
  // A UDP socket has one address family: resolve first, so an IPv6-only KDC name works too. The
  // name lookup counts against the attempt's timeout: a resolver that never answers is no hang.
  const { address, family } =
    isIP(kdc.host) !== 0
      ? { address: kdc.host, family: isIP(kdc.host) }
      : await withTimeout(lookup(kdc.host), timeoutMs, 'KDC name lookup timeout');
  return new Promise((resolve, reject) => {
    const socket: UdpSocket = createSocket(family === 6 ? 'udp6' : 'udp4');
    let done = false;
    const finish = (error: Error | undefined, reply?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      if (error !== undefined) reject(error);
      else resolve(reply as Buffer);
    };
    const timer = setTimeout(
      () => finish(new Error('KDC timeout (udp)')),
      Math.max(1, deadline - Date.now()),
    );
    socket.on('error', (error) => finish(error));
    // Connected: replies from any other address are dropped by the kernel, and an ICMP port
    // unreachable surfaces as an error at once instead of a timeout.
    socket.on('message', (message) => finish(undefined, message));
    socket.connect(kdc.port, address, () => {
      socket.send(request, (error) => {
        if (error) finish(error);
      });
    });
  });
}

/** A length-prefixed request over TCP and its length-prefixed reply (RFC 4120 §7.2.2). */
export function exchangeTcp(kdc: KdcAddress, request: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: kdc.host, port: kdc.port });
    const chunks: Buffer[] = [];
    let received = 0;
    let expected: number | undefined;
    let done = false;
    const finish = (error: Error | undefined, reply?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (error !== undefined) reject(error);
      else resolve(reply as Buffer);
    };
    const timer = setTimeout(() => finish(new Error('KDC timeout (tcp)')), timeoutMs);
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error('KDC closed the connection')));
    socket.on('connect', () => {
      const prefix = Buffer.allocUnsafe(4);
      prefix.writeUInt32BE(request.length, 0);
      socket.write(Buffer.concat([prefix, request]));
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (expected === undefined && received >= 4) {
        const length = Buffer.concat(chunks).readUInt32BE(0);
        // §7.2.2: the high bit is reserved (extensions); a reply above our cap is no reply of ours.
        if (length >= 0x80000000 || length > MAX_DER_BYTES) {
          finish(new Error('KDC reply too large'));
          return;
        }
        expected = length;
      }
      if (expected !== undefined && received >= 4 + expected) {
        if (received > 4 + expected) {
          finish(new Error('KDC sent bytes after its reply'));
          return;
        }
        finish(undefined, Buffer.concat(chunks).subarray(4));
      }
    });
  });
}

/** The exchange with one KDC: UDP when allowed and small enough, TCP otherwise or when told to. */
async function exchangeWithKdc(
  kdc: KdcAddress,
  request: Buffer,
  options: KdcTransportOptions,
): Promise<Buffer> {
  const useUdp =
    kdc.transport === 'udp' ||
    (kdc.transport === 'any' && request.length <= options.udpPreferenceLimit);
  if (useUdp) {
    const reply = await exchangeUdp(kdc, request, options.timeoutMs);
    if (!isResponseTooBig(reply)) return reply;
    // The KDC asks for TCP (§7.2.1); a 'udp'-only entry still follows it, as MIT's client does.
  }
  return exchangeTcp(kdc, request, options.timeoutMs);
}

/**
 * Sends `request` to the first KDC of `kdcs` that answers; the others are tried in turn when one
 * times out or refuses the connection. Throws ERR_HTTPAUTH_KDC_UNAVAILABLE when none answers
 * (the reason, for the operator, lists what each KDC did).
 */
export async function sendToKdcs(
  kdcs: readonly KdcAddress[],
  request: Buffer,
  options: KdcTransportOptions,
): Promise<Buffer> {
  const failures: string[] = [];
  for (const kdc of kdcs) {
    try {
      const reply = await exchangeWithKdc(kdc, request, options);
      options.onAnswer?.(kdc, failures.length > 0);
      return reply;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failures.push(`${kdc.host}:${kdc.port}: ${message}`);
    }
  }
  throw new HttpAuthError('ERR_HTTPAUTH_KDC_UNAVAILABLE', {
    reason: kdcs.length === 0 ? 'no KDC is known for the realm' : failures.join('; '),
  });
}
