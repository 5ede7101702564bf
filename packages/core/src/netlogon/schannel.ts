/**
 * The AES secure channel's cryptography (MS-NRPC §3.1.4.3.1 session key, §3.1.4.4.1 credentials,
 * §3.3.4.2 message protection), all with node:crypto:
 *
 *   SK       = HMAC-SHA256(NT hash of the machine password, ClientChallenge ‖ ServerChallenge)[0:16]
 *   C(x)     = AES-128-CFB8(SK, IV = 0^16)(x)                      (8-byte credentials)
 *   SEQ      = BE32(n) ‖ BE32(n >> 32 | 0x80000000 when the client sends)
 *   CHK      = HMAC-SHA256(SK, HDR8 ‖ Confounder ‖ stub ‖ pad)[0:8]  (plaintext, §3.3.4.2.1 step 7)
 *   sealed   = AES-128-CFB8(SK ⊕ 0xF0.., IV = SEQ ‖ SEQ)(Confounder ‖ stub ‖ pad)
 *   EncSEQ   = AES-128-CFB8(SK, IV = CHK ‖ CHK)(SEQ)
 *
 * The confounder and the stub go through ONE cipher stream: starting a second cipher for the stub
 * (CFB8 resynchronises only after 16 bytes) garbles its first 16 bytes and the DC answers fault
 * 0x721. One counter `n` per connection counts every PDU signed or verified in either direction:
 * requests carry 0, 2, 4..., responses 1, 3, 5...
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { bytesEqual } from '../crypto/constant-time.js';
import { md4 } from '../crypto/md4.js';
import type { NlAuthSignature } from './nl-auth.js';
import { AES_SEAL_HEADER } from './nl-auth.js';
import { RpcError } from './rpc-error.js';

const ZERO_IV = Buffer.alloc(16);

/** NTOWFv1 of a machine password: MD4(UTF-16LE(password)). */
export function machineNtHash(password: string): Buffer {
  return md4(Buffer.from(password, 'utf16le'));
}

/** Strong (AES) session key, MS-NRPC §3.1.4.3.1. */
export function secureChannelSessionKey(
  ntHash: Buffer,
  clientChallenge: Buffer,
  serverChallenge: Buffer,
): Buffer {
  return createHmac('sha256', ntHash)
    .update(clientChallenge)
    .update(serverChallenge)
    .digest()
    .subarray(0, 16);
}

function cfb8(key: Buffer, iv: Buffer, ...parts: Buffer[]): Buffer {
  const cipher = createCipheriv('aes-128-cfb8', key, iv);
  return Buffer.concat([...parts.map((part) => cipher.update(part)), cipher.final()]);
}

function cfb8Decrypt(key: Buffer, iv: Buffer, ...parts: Buffer[]): Buffer {
  const decipher = createDecipheriv('aes-128-cfb8', key, iv);
  return Buffer.concat([...parts.map((part) => decipher.update(part)), decipher.final()]);
}

/** The AES Netlogon credential of an 8-byte value, MS-NRPC §3.1.4.4.1. */
export function netlogonCredential(sessionKey: Buffer, value: Buffer): Buffer {
  return cfb8(sessionKey, ZERO_IV, value);
}

function sequenceBytes(n: bigint, fromClient: boolean): Buffer {
  const out = Buffer.alloc(8);
  out.writeUInt32BE(Number(n & 0xffffffffn), 0);
  out.writeUInt32BE((Number(n >> 32n) | (fromClient ? 0x80000000 : 0)) >>> 0, 4);
  return out;
}

/** One connection's message protection at auth level 6 (packet privacy), client side. */
export class SchannelSealer {
  readonly #key: Buffer;
  readonly #sealKey: Buffer;
  #sequence = 0n;

  constructor(sessionKey: Buffer) {
    this.#key = Buffer.from(sessionKey);
    this.#sealKey = Buffer.from(sessionKey.map((byte) => byte ^ 0xf0));
  }

  /** Sealing a request: consumes one sequence number. `confounder` is for test vectors only. */
  seal(plain: Buffer, confounder: Buffer = randomBytes(8)): NlAuthSignature & { sealed: Buffer } {
    const seq = sequenceBytes(this.#sequence++, true);
    const checksum = createHmac('sha256', this.#key)
      .update(AES_SEAL_HEADER)
      .update(confounder)
      .update(plain)
      .digest()
      .subarray(0, 8);
    const encrypted = cfb8(this.#sealKey, Buffer.concat([seq, seq]), confounder, plain);
    return {
      sealed: encrypted.subarray(8),
      encryptedConfounder: encrypted.subarray(0, 8),
      checksum,
      encryptedSequence: cfb8(this.#key, Buffer.concat([checksum, checksum]), seq),
    };
  }

  /** Unsealing a response: checks sequence and checksum, consumes one sequence number. */
  unseal(sealed: Buffer, signature: NlAuthSignature): Buffer {
    const seq = sequenceBytes(this.#sequence++, false);
    const plain = cfb8Decrypt(
      this.#sealKey,
      Buffer.concat([seq, seq]),
      signature.encryptedConfounder,
      sealed,
    );
    const expected = createHmac('sha256', this.#key)
      .update(AES_SEAL_HEADER)
      .update(plain)
      .digest()
      .subarray(0, 8);
    if (!bytesEqual(expected, signature.checksum)) {
      throw new RpcError('RPC_INTEGRITY', 'schannel checksum mismatch');
    }
    const sentSeq = cfb8Decrypt(
      this.#key,
      Buffer.concat([signature.checksum, signature.checksum]),
      signature.encryptedSequence,
    );
    if (!bytesEqual(sentSeq, seq))
      throw new RpcError('RPC_INTEGRITY', 'schannel sequence mismatch');
    return plain.subarray(8);
  }
}
