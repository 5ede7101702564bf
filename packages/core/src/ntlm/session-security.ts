/**
 * NTLM session security after the handshake (MS-NLMP 3.4): message signatures (GSS_GetMIC /
 * GSS_VerifyMIC) and sealing (GSS_WrapEx / GSS_UnwrapEx), connection-oriented mode. SPNEGO needs
 * the signatures for its mechListMIC when NTLM is the negotiated mechanism.
 *
 * NTLMSSP_MESSAGE_SIGNATURE (MS-NLMP 2.2.2.9), 16 bytes:
 *   with extended session security:    Version=1 (4) | Checksum (8) | SeqNum (4)
 *   without (NTLMv1):                   Version=1 (4) | RandomPad (4) | Checksum (4) | SeqNum (4)
 *
 * Each direction has its own signing key, its own RC4 sealing handle (one key stream for the
 * whole connection, shared by sealing and checksum encryption) and its own sequence number.
 *
 * SPNEGO's mechListMIC (RFC 4178 §5) is the first signature of the context in each direction
 * (sequence number 0, fresh RC4 stream): the NTLM MechanismContext (mechanism-context.ts) makes
 * and checks it with a new object of this class. It does so only with extended session security:
 * the NTLMv1 checksum is a CRC32 under RC4, which is linear, so a man in the middle could fix it
 * up after editing the mechanism list it is meant to protect.
 */
import { timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { Rc4 } from '../crypto/rc4.js';
import { fail } from '../errors.js';
import type { NtlmSessionContext } from './acceptor.js';
import {
  NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY,
  NTLMSSP_NEGOTIATE_KEY_EXCH,
  hasFlag,
} from './flags.js';
import { hmacMd5, sealKey, signKey } from './keys.js';

export const SIGNATURE_LENGTH = 16;

interface Direction {
  readonly signingKey: Buffer | undefined;
  readonly sealing: Rc4;
  sequence: number;
}

/** The keys a session needs: a completed acceptor context, or the same fields from elsewhere. */
export type SessionKeys = Pick<NtlmSessionContext, 'exportedSessionKey' | 'negotiatedFlags'>;

/**
 * NTLM message signing and sealing after the handshake (MS-NLMP §3.4, connection-oriented): signs
 * and verifies NTLMSSP_MESSAGE_SIGNATUREs (§2.2.2.9) and seals and unseals with RC4, each direction
 * with its own keys and sequence number. Build it from a completed NTLM context.
 */
export class NtlmSessionSecurity {
  readonly #flags: number;
  readonly #outgoing: Direction;
  readonly #incoming: Direction;

  /** `role` is the side this object plays: 'server' signs with server keys and verifies client ones. */
  constructor(keys: SessionKeys, role: 'server' | 'client' = 'server') {
    this.#flags = keys.negotiatedFlags >>> 0;
    const direction = (side: 'client' | 'server'): Direction => ({
      signingKey: signKey(this.#flags, keys.exportedSessionKey, side),
      sealing: new Rc4(sealKey(this.#flags, keys.exportedSessionKey, side)),
      sequence: 0,
    });
    const client = direction('client');
    // Without extended session security both directions share one key and one RC4 stream.
    const server = this.#extended ? direction('server') : client;
    this.#outgoing = role === 'server' ? server : client;
    this.#incoming = role === 'server' ? client : server;
  }

  get #extended(): boolean {
    return hasFlag(this.#flags, NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY);
  }

  /** True with extended session security: HMAC-MD5 signatures (MS-NLMP 3.4.4.2), not CRC32. */
  get extendedSessionSecurity(): boolean {
    return this.#extended;
  }

  /** GSS_GetMIC: the signature of an outgoing message. */
  sign(message: Uint8Array): Buffer {
    return this.#signature(this.#outgoing, message);
  }

  /** GSS_VerifyMIC: checks an incoming message's signature; fails with ERR_HTTPAUTH_NTLM_SIGNATURE_INVALID. */
  verify(message: Uint8Array, signature: Uint8Array): void {
    if (signature.length !== SIGNATURE_LENGTH) fail('ERR_HTTPAUTH_NTLM_SIGNATURE_INVALID');
    const expected = this.#signature(this.#incoming, message);
    if (!timingSafeEqual(expected, signature)) fail('ERR_HTTPAUTH_NTLM_SIGNATURE_INVALID');
  }

  /** GSS_WrapEx with confidentiality: the sealed message and its signature. */
  seal(message: Uint8Array): { sealed: Buffer; signature: Buffer } {
    const sealed = this.#outgoing.sealing.update(message);
    return { sealed, signature: this.#signature(this.#outgoing, message) };
  }

  /** GSS_UnwrapEx: decrypts an incoming sealed message and verifies its signature. */
  unseal(sealed: Uint8Array, signature: Uint8Array): Buffer {
    if (signature.length !== SIGNATURE_LENGTH) fail('ERR_HTTPAUTH_NTLM_SIGNATURE_INVALID');
    const message = this.#incoming.sealing.update(sealed);
    const expected = this.#signature(this.#incoming, message);
    if (!timingSafeEqual(expected, signature)) fail('ERR_HTTPAUTH_NTLM_SIGNATURE_INVALID');
    return message;
  }

  /** Wipes the RC4 states; the object must not be used afterwards. */
  dispose(): void {
    this.#outgoing.sealing.dispose();
    this.#incoming.sealing.dispose();
  }

  /** MAC (MS-NLMP 3.4.4.1 without, 3.4.4.2 with extended session security); advances the sequence. */
  #signature(direction: Direction, message: Uint8Array): Buffer {
    const out = Buffer.alloc(SIGNATURE_LENGTH);
    out.writeUInt32LE(1, 0);
    const sequence = Buffer.alloc(4);
    sequence.writeUInt32LE(direction.sequence >>> 0);
    direction.sequence = (direction.sequence + 1) >>> 0;
    if (this.#extended) {
      let checksum = hmacMd5(direction.signingKey as Buffer, sequence, message).subarray(0, 8);
      if (hasFlag(this.#flags, NTLMSSP_NEGOTIATE_KEY_EXCH))
        checksum = direction.sealing.update(checksum);
      checksum.copy(out, 4);
      sequence.copy(out, 12);
      return out;
    }
    // NTLMv1: CRC32 checksum; RandomPad, checksum and sequence number go through the RC4 stream,
    // and RandomPad is then sent as zero (MS-NLMP 3.4.4.1; the 4.2.2.4 example prints it encrypted).
    const crc = Buffer.alloc(4);
    crc.writeUInt32LE(crc32(message) >>> 0);
    direction.sealing.update(Buffer.alloc(4));
    direction.sealing.update(crc).copy(out, 8);
    const xored = direction.sealing.update(Buffer.alloc(4));
    for (let i = 0; i < 4; i++) out[12 + i] = xored[i]! ^ sequence[i]!;
    return out;
  }
}
