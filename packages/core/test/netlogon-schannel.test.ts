/**
 * The AES secure channel's cryptography against known-answer vectors measured with a Samba 4.17
 * DC (MS-NRPC §3.1.4.3.1 session key, §3.1.4.4.1 credentials, §3.3.4.2 sealing). The request PDU
 * below is byte for byte what the DC accepted; changing the confounder/stub stream into two
 * ciphers, the checksum offsets or the sealing key each makes the DC answer fault 0x721.
 */
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { decodeNlAuthSignature, encodeNlAuthSignature } from '../src/netlogon/nl-auth.js';
import { splitPdu } from '../src/netlogon/pdu.js';
import { decodeRequest, encodeRequest } from '../src/netlogon/request.js';
import { RpcError } from '../src/netlogon/rpc-error.js';
import {
  SchannelSealer,
  machineNtHash,
  netlogonCredential,
  secureChannelSessionKey,
} from '../src/netlogon/schannel.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const range = (from: number, to: number): Buffer =>
  Buffer.from(Array.from({ length: to - from }, (_, i) => from + i));

const NT_HASH = hex('743fa240bc0872c14c0128280fa07620');
const CLIENT_CHALLENGE = hex('0001020304050607');
const SERVER_CHALLENGE = hex('08090a0b0c0d0e0f');
const SK = hex('6d37f325cf9400734091c760210fd6c5');
const CONF = hex('a0a1a2a3a4a5a6a7');
const REQUEST_PDU = hex(`
  050000031000000078003800020000001400000000002700fe1e65b8213dcadc
  a2b7bc3262694a75e1f9976feb075c663a65358058212fca44060c0001000000
  13001a00ffff0000e1e4933fcd0673149984368af15c0c3d3c05752547ef4aef
  000000000000000000000000000000000000000000000000`);

describe('netlogon: secure channel keys (MS-NRPC §3.1.4.3.1, §3.1.4.4.1)', () => {
  it('derives the NT hash, the AES session key and both credentials', () => {
    assert.deepEqual(machineNtHash('Passw0rd!Machine1'), NT_HASH);
    assert.deepEqual(secureChannelSessionKey(NT_HASH, CLIENT_CHALLENGE, SERVER_CHALLENGE), SK);
    assert.deepEqual(netlogonCredential(SK, CLIENT_CHALLENGE), hex('b42c4c9a602975f7'));
    assert.deepEqual(netlogonCredential(SK, SERVER_CHALLENGE), hex('bcd76fcbb3c1629e'));
  });
});

describe('netlogon: sealing at packet privacy (MS-NRPC §3.3.4.2)', () => {
  it('seals the first request exactly as the DC accepted it', () => {
    const sealer = new SchannelSealer(SK);
    const stub = range(0, 20);
    const pad = Buffer.alloc(12);
    const sealed = sealer.seal(Buffer.concat([stub, pad]), CONF);
    assert.deepEqual(sealed.checksum, hex('9984368af15c0c3d'));
    assert.deepEqual(sealed.encryptedSequence, hex('e1e4933fcd067314'));
    assert.deepEqual(sealed.encryptedConfounder, hex('3c05752547ef4aef'));
    const pdu = encodeRequest(2, 39, stub.length, sealed.sealed, {
      trailer: { authType: 0x44, authLevel: 6, authPadLength: 12, authContextId: 1 },
      value: encodeNlAuthSignature(sealed),
    });
    assert.deepEqual(pdu, REQUEST_PDU);
  });

  it('unseals the response with the next sequence number (n = 1)', () => {
    const sealer = new SchannelSealer(SK);
    sealer.seal(Buffer.alloc(16), CONF); // n = 0
    const authValue = Buffer.concat([
      hex('13001a00ffff0000 1e6fc2550a9ac93e c7846aadf5d20164 31093e582c85f6b8'),
      Buffer.alloc(24),
    ]);
    const plain = sealer.unseal(
      hex('866d3f1978e0569938387549ebd869cc'),
      decodeNlAuthSignature(authValue),
    );
    assert.deepEqual(plain, range(0, 16));
  });

  it('refuses a response with a flipped ciphertext bit, a wrong sequence or a wrong key', () => {
    const authValue = Buffer.concat([
      hex('13001a00ffff0000 1e6fc2550a9ac93e c7846aadf5d20164 31093e582c85f6b8'),
      Buffer.alloc(24),
    ]);
    const body = hex('866d3f1978e0569938387549ebd869cc');
    const cases: [Buffer, Buffer, number][] = [
      [SK, Buffer.from(body).fill(0x01, 15, 16), 1],
      [SK, body, 0],
      [SK, body, 2],
      [Buffer.from(SK).fill(0, 0, 1), body, 1],
    ];
    for (const [key, sealed, skip] of cases) {
      const sealer = new SchannelSealer(key);
      for (let i = 0; i < skip; i++) sealer.seal(Buffer.alloc(16));
      assert.throws(
        () => sealer.unseal(sealed, decodeNlAuthSignature(authValue)),
        (error: unknown) => error instanceof RpcError && error.code === 'RPC_INTEGRITY',
      );
    }
  });

  it('round-trips the request PDU through the codecs', () => {
    const pdu = splitPdu(REQUEST_PDU);
    assert.equal(pdu.header.callId, 2);
    assert.equal(pdu.trailer?.authPadLength, 12);
    const request = decodeRequest(pdu);
    assert.equal(request.opnum, 39);
    assert.equal(request.stubAndPad.length, 32);
    assert.deepEqual(
      encodeNlAuthSignature(decodeNlAuthSignature(pdu.authValue as Buffer)),
      pdu.authValue,
    );
  });
});
