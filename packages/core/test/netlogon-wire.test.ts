/**
 * The DCE/RPC and NETLOGON wire codecs (C706 §12.6, MS-RPCE §2.2, MS-NRPC §2.2): known bytes,
 * round trips, and truncated / oversized / random input, which must always end in an RpcError
 * (never another exception, never a hang).
 */
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import { decodeBindAck, encodeBind } from '../src/netlogon/bind.js';
import {
  decodeEptMapResponse,
  encodeEptMap,
  encodeTower,
  towerTcpPort,
} from '../src/netlogon/epm.js';
import { NdrWriter } from '../src/netlogon/ndr.js';
import { checkNlAuthResponse, encodeNlAuthRequest } from '../src/netlogon/nl-auth.js';
import {
  decodeAuthenticate3Response,
  decodeReqChallengeResponse,
  encodeAuthenticate3,
  encodeReqChallenge,
} from '../src/netlogon/nrpc-setup.js';
import {
  NETLOGON_SYNTAX,
  PTYPE_BIND_ACK,
  PTYPE_BIND_NAK,
  assemblePdu,
  decodeHeader,
  encodeHeader,
  splitPdu,
} from '../src/netlogon/pdu.js';
import {
  decodeRequest,
  decodeResponse,
  encodeFault,
  encodeRequest,
  encodeResponse,
} from '../src/netlogon/request.js';
import { RpcError } from '../src/netlogon/rpc-error.js';
import { decodeSamLogonExResponse, encodeSamLogonEx } from '../src/netlogon/sam-logon.js';
import { samLogonAnswer } from './netlogon-fake-dc.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function isRpcError(code?: string) {
  return (error: unknown): boolean =>
    error instanceof RpcError && (code === undefined || error.code === code);
}

/** Whatever a decoder makes of `input`, it returns or throws an RpcError. */
function total(decode: (input: Buffer) => unknown, input: Buffer): void {
  try {
    decode(input);
  } catch (error) {
    assert.ok(error instanceof RpcError, String(error));
  }
}

// The schannel bind for domain SAMDOM and computer WEB1, as a Samba 4.17 DC accepted it.
const SCHANNEL_BIND = hex(`
  05 00 0b 03 10 00 00 00 64 00 14 00 01 00 00 00
  b8 10 b8 10 00 00 00 00
  01 00 00 00 00 00 01 00
  78 56 34 12 34 12 cd ab ef 00 01 23 45 67 cf fb 01 00 00 00
  04 5d 88 8a eb 1c c9 11 9f e8 08 00 2b 10 48 60 02 00 00 00
  44 06 00 00 01 00 00 00
  00 00 00 00 03 00 00 00 53 41 4d 44 4f 4d 00 57 45 42 31 00`);

function bindAck(result = 0, extra?: { auth: Buffer }): Buffer {
  const secAddr = Buffer.from('49152\0', 'latin1');
  const head = Buffer.alloc(10);
  head.writeUInt16LE(4280, 0);
  head.writeUInt16LE(4280, 2);
  head.writeUInt32LE(0x1234, 4);
  head.writeUInt16LE(secAddr.length, 8);
  const pad = Buffer.alloc((4 - ((16 + 10 + secAddr.length) % 4)) % 4);
  const results = Buffer.alloc(4 + 24);
  results[0] = 1;
  results.writeUInt16LE(result, 4);
  hex('045d888aeb1cc9119fe808002b10486002000000').copy(results, 8);
  const body = Buffer.concat([head, secAddr, pad, results]);
  return assemblePdu(
    PTYPE_BIND_ACK,
    3,
    1,
    body,
    extra === undefined
      ? undefined
      : {
          trailer: { authType: 0x44, authLevel: 6, authPadLength: 0, authContextId: 1 },
          value: extra.auth,
        },
  );
}

describe('netlogon wire: PDU header and split (C706 §12.6.3.1)', () => {
  it('round-trips the common header', () => {
    const header = { type: 0, flags: 3, fragLength: 120, authLength: 56, callId: 7 };
    assert.deepEqual(decodeHeader(encodeHeader(header)), header);
  });

  it('refuses truncated, foreign and oversized headers with RPC_MALFORMED', () => {
    const good = encodeHeader({ type: 2, flags: 3, fragLength: 24, authLength: 0, callId: 1 });
    for (let n = 0; n < 16; n++) {
      assert.throws(() => decodeHeader(good.subarray(0, n)), isRpcError('RPC_MALFORMED'));
    }
    const mutate = (at: number, value: number): Buffer => {
      const copy = Buffer.from(good);
      copy[at] = value;
      return copy;
    };
    assert.throws(() => decodeHeader(mutate(0, 4)), isRpcError('RPC_MALFORMED')); // version 4
    assert.throws(() => decodeHeader(mutate(4, 0x00)), isRpcError('RPC_MALFORMED')); // big-endian
    const big = Buffer.from(good);
    big.writeUInt16LE(60000, 8);
    assert.throws(() => decodeHeader(big), isRpcError('RPC_MALFORMED'));
    const auth = Buffer.from(good);
    auth.writeUInt16LE(16, 10); // auth_length larger than the PDU leaves room for
    assert.throws(() => decodeHeader(auth), isRpcError('RPC_MALFORMED'));
    assert.throws(() => splitPdu(Buffer.concat([good, Buffer.alloc(9)])), isRpcError());
  });

  it('random bytes never escape as anything but RpcError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) =>
        total(splitPdu, Buffer.from(bytes)),
      ),
    );
  });
});

describe('netlogon wire: bind and bind_ack (C706 §12.6.4.3-5, MS-NRPC §2.2.1.3.1)', () => {
  it('encodes the schannel bind byte for byte', () => {
    const bind = encodeBind(1, NETLOGON_SYNTAX, {
      trailer: { authType: 0x44, authLevel: 6, authPadLength: 0, authContextId: 1 },
      value: encodeNlAuthRequest('SAMDOM', 'WEB1'),
    });
    assert.equal(bind.length, 100);
    assert.deepEqual(bind, SCHANNEL_BIND);
  });

  it('decodes a bind_ack with its NL_AUTH_MESSAGE, and refuses nak and rejected contexts', () => {
    const auth = hex('01000000 00000000 00000000');
    const ack = decodeBindAck(splitPdu(bindAck(0, { auth })));
    assert.equal(ack.assocGroupId, 0x1234);
    assert.deepEqual(ack.authValue, auth);
    checkNlAuthResponse(ack.authValue);
    assert.throws(
      () => checkNlAuthResponse(hex('00000000 00000000')),
      isRpcError('RPC_BIND_REFUSED'),
    );
    assert.throws(() => decodeBindAck(splitPdu(bindAck(2))), isRpcError('RPC_BIND_REFUSED'));
    const nak = assemblePdu(PTYPE_BIND_NAK, 3, 1, hex('0400'));
    assert.throws(() => decodeBindAck(splitPdu(nak)), isRpcError('RPC_BIND_REFUSED'));
  });

  it('a truncated bind_ack body is RPC_MALFORMED at every length', () => {
    const full = splitPdu(bindAck(0)).body;
    for (let n = 0; n < full.length; n++) {
      const pdu = assemblePdu(PTYPE_BIND_ACK, 3, 1, full.subarray(0, n));
      assert.throws(() => decodeBindAck(splitPdu(pdu)), isRpcError(), `length ${n}`);
    }
  });
});

describe('netlogon wire: request, response and fault (C706 §12.6.4.7-10)', () => {
  it('round-trips requests and responses', () => {
    const stub = Buffer.from('stub bytes');
    const request = decodeRequest(splitPdu(encodeRequest(5, 39, stub.length, stub)));
    assert.equal(request.opnum, 39);
    assert.deepEqual(request.stubAndPad, stub);
    assert.deepEqual(decodeResponse(splitPdu(encodeResponse(5, stub))), stub);
  });

  it('a fault becomes RPC_FAULT with its status; other PDU types RPC_PROTOCOL', () => {
    assert.throws(
      () => decodeResponse(splitPdu(encodeFault(3, 0x721))),
      (error: unknown) => isRpcError('RPC_FAULT')(error) && (error as RpcError).status === 0x721,
    );
    assert.throws(() => decodeResponse(splitPdu(bindAck())), isRpcError('RPC_PROTOCOL'));
  });
});

describe('netlogon wire: endpoint mapper towers (C706 Appendix L)', () => {
  it('round-trips the TCP port of a tower and finds it in an ept_map answer', () => {
    const tower = encodeTower(NETLOGON_SYNTAX, 49152, '127.0.0.1');
    assert.equal(towerTcpPort(tower), 49152);
    const w = new NdrWriter();
    w.bytes(Buffer.alloc(20));
    w.u32(1);
    w.u32(4);
    w.u32(0);
    w.u32(1);
    w.pointer();
    w.u32(tower.length);
    w.u32(tower.length);
    w.bytes(tower);
    w.align(4);
    w.u32(0);
    assert.deepEqual(decodeEptMapResponse(w.toBuffer()), { ports: [49152], status: 0 });
    assert.ok(encodeEptMap(NETLOGON_SYNTAX).length > 70);
  });

  it('truncated and random answers are RpcErrors', () => {
    const tower = encodeTower(NETLOGON_SYNTAX, 49152, '127.0.0.1');
    for (let n = 0; n < tower.length; n++) total(towerTcpPort, tower.subarray(0, n));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        total(decodeEptMapResponse, Buffer.from(bytes));
        total(towerTcpPort, Buffer.from(bytes));
      }),
    );
  });
});

describe('netlogon wire: secure channel set-up calls (MS-NRPC §3.5.4.4)', () => {
  it('encodes NetrServerReqChallenge and NetrServerAuthenticate3 stubs', () => {
    const challenge = encodeReqChallenge('\\\\DC1', 'WEB1', hex('0001020304050607'));
    // [unique, string] "\\DC1": referent, then 6/0/6 and UTF-16; [string] "WEB1": 5/0/5.
    assert.deepEqual(challenge.subarray(4, 16), hex('06000000 00000000 06000000'));
    assert.deepEqual(challenge.subarray(-8), hex('0001020304050607'));
    const auth = encodeAuthenticate3({
      primaryName: '\\\\DC1',
      accountName: 'WEB1$',
      computerName: 'WEB1',
      clientCredential: hex('b42c4c9a602975f7'),
      negotiateFlags: 0x613fffff,
    });
    // The 8-byte credential has byte alignment; the flags after it align to 4 (NDR20).
    assert.deepEqual(auth.subarray(-14), hex('b42c4c9a602975f7 0000 ffff3f61'));
  });

  it('decodes the answers and refuses truncated or trailing bytes', () => {
    const answer = hex('08090a0b0c0d0e0f 00000000');
    assert.deepEqual(decodeReqChallengeResponse(answer), {
      serverChallenge: hex('08090a0b0c0d0e0f'),
      status: 0,
    });
    const auth3 = hex('bcd76fcbb3c1629e ffff3f61 4f040000 00000000');
    assert.equal(decodeAuthenticate3Response(auth3).accountRid, 0x44f);
    for (const [decode, bytes] of [
      [decodeReqChallengeResponse, answer],
      [decodeAuthenticate3Response, auth3],
    ] as const) {
      for (let n = 0; n < bytes.length; n++) {
        assert.throws(() => decode(bytes.subarray(0, n)), isRpcError('RPC_MALFORMED'));
      }
      assert.throws(() => decode(Buffer.concat([bytes, Buffer.alloc(4)])), isRpcError());
    }
  });
});

describe('netlogon wire: NetrLogonSamLogonEx (MS-NRPC §3.5.4.5.1, §2.2.1.4.13)', () => {
  it('lays the request out as the DC expects (LogonLevel 6, NETWORK_INFO, level 6)', () => {
    const stub = encodeSamLogonEx({
      logonServer: '\\\\DC1',
      computerName: 'WEB1',
      domain: 'SAMDOM',
      user: 'bob',
      workstation: 'CLIENT1',
      parameterControl: 0,
      serverChallenge: hex('1122334455667788'),
      ntChallengeResponse: Buffer.alloc(30, 1),
      lmChallengeResponse: Buffer.alloc(24, 2),
    });
    assert.equal(stub.readUInt16LE(0x36), 6); // LogonLevel
    assert.equal(stub.readUInt16LE(0x38), 6); // union discriminant
    assert.equal(stub.readUInt16LE(0x40), 12); // "SAMDOM" in bytes
    assert.deepEqual(stub.subarray(0x64, 0x6c), hex('1122334455667788'));
    assert.equal(stub.readUInt16LE(0x6c), 30);
    assert.equal(stub.readUInt16LE(0x74), 24);
    assert.deepEqual(stub.subarray(-8), hex('0600 0000 00000000'));
  });

  it('decodes SAM_INFO4: names, RIDs, domain SID, extra SIDs, session key', () => {
    const answer = decodeSamLogonExResponse(samLogonAnswer());
    assert.equal(answer.status, 0);
    const v = answer.validation;
    assert.ok(v);
    assert.equal(v.effectiveName, 'bob');
    assert.equal(v.userId, 1102);
    assert.equal(v.primaryGroupId, 513);
    assert.deepEqual(
      v.groupIds.map((g) => g.relativeId),
      [513, 1104],
    );
    assert.equal(v.logonDomainId, 'S-1-5-21-1-2-3');
    assert.deepEqual(v.extraSids, [{ sid: 'S-1-5-21-9-9-9-1000', attributes: 7 }]);
    assert.deepEqual(v.userSessionKey, Buffer.alloc(16, 0xab));
    assert.equal(v.upn, 'bob@samdom.test');
    assert.equal(v.userAccountControl, 0x10);
  });

  it('a refusal has no validation info and keeps its status', () => {
    const w = new NdrWriter();
    w.u16(6);
    w.u32(0);
    w.u8(1);
    w.u32(0);
    w.u32(0xc000006a);
    const answer = decodeSamLogonExResponse(w.toBuffer());
    assert.equal(answer.validation, undefined);
    assert.equal(answer.status, 0xc000006a);
  });

  it('every truncation, and random bytes, end in RpcError', () => {
    const full = samLogonAnswer();
    for (let n = 0; n < full.length; n++) {
      assert.throws(() => decodeSamLogonExResponse(full.subarray(0, n)), isRpcError(), `${n}`);
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) =>
        total(decodeSamLogonExResponse, Buffer.from(bytes)),
      ),
    );
    // Random corruption of a real answer: a count can claim anything, nothing may crash.
    fc.assert(
      fc.property(fc.nat(full.length - 1), fc.integer({ min: 0, max: 255 }), (at, value) => {
        const copy = Buffer.from(full);
        copy[at] = value;
        total(decodeSamLogonExResponse, copy);
      }),
    );
  });
});
