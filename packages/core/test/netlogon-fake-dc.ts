/**
 * A NETLOGON server on loopback that speaks just enough MS-NRPC for the secure channel's recovery
 * paths to be tested deterministically (the real DC runs in test/netlogon-e2e.test.ts): plain
 * and schannel binds, NetrServerReqChallenge, NetrServerAuthenticate3 with AES, and sealed
 * NetrLogonSamLogonEx answered with a fixed SAM_INFO4. Its server side of the sealing is written
 * here from MS-NRPC §3.3.4.2 with node:crypto, independently of src/netlogon/schannel.ts.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

import { NdrReader, NdrWriter } from '../src/netlogon/ndr.js';
import { decodeNlAuthSignature, encodeNlAuthSignature } from '../src/netlogon/nl-auth.js';
import {
  PTYPE_BIND,
  PTYPE_BIND_ACK,
  PTYPE_BIND_NAK,
  assemblePdu,
  splitPdu,
} from '../src/netlogon/pdu.js';
import type { Pdu } from '../src/netlogon/pdu.js';
import { decodeRequest, encodeFault, encodeResponse } from '../src/netlogon/request.js';

const HDR8 = Buffer.from('13001a00ffff0000', 'hex');
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function cfb8(encrypt: boolean, key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const c = encrypt
    ? createCipheriv('aes-128-cfb8', key, iv)
    : createDecipheriv('aes-128-cfb8', key, iv);
  return Buffer.concat([c.update(data), c.final()]);
}

function seq(n: number, fromClient: boolean): Buffer {
  const out = Buffer.alloc(8);
  out.writeUInt32BE(n, 0);
  out.writeUInt32BE(fromClient ? 0x80000000 : 0, 4);
  return out;
}

export interface FakeDc {
  readonly port: number;
  /** Calls seen, by opnum (4 ReqChallenge, 26 Authenticate3, 39 SamLogonEx). */
  readonly calls: number[];
  /** Forget every secure-channel session (what a DC restart does). */
  forgetSessions(): void;
  /** Answer the next sealed call with fault 0x721, as a DC holding another key does. */
  failNextCallWith721(): void;
  /** Flip a bit in the next sealed response. */
  tamperNextResponse(): void;
  close(): void;
}

export async function startFakeDc(ntHash: Buffer): Promise<FakeDc> {
  const sessions = new Map<string, Buffer>();
  const challenges = new Map<string, { client: Buffer; server: Buffer }>();
  const calls: number[] = [];
  let fail721 = false;
  let tamper = false;
  const sockets = new Set<Socket>();

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = Buffer.alloc(0);
    let key: Buffer | undefined;
    let n = 0;
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 16 && buffered.length >= buffered.readUInt16LE(8)) {
        const pdu = splitPdu(buffered.subarray(0, buffered.readUInt16LE(8)));
        buffered = buffered.subarray(pdu.header.fragLength);
        const out = answer(pdu);
        if (out !== undefined) socket.write(out);
      }
    });

    function answer(pdu: Pdu): Buffer | undefined {
      const callId = pdu.header.callId;
      if (pdu.header.type === PTYPE_BIND) {
        let auth;
        if (pdu.authValue !== undefined) {
          const names = pdu.authValue.subarray(8).toString('latin1').split('\0');
          key = sessions.get(names[1] as string);
          n = 0;
          if (key === undefined)
            return assemblePdu(PTYPE_BIND_NAK, 3, callId, Buffer.from('0000', 'hex'));
          auth = {
            trailer: pdu.trailer as NonNullable<Pdu['trailer']>,
            value: Buffer.from('0100000000000000', 'hex'),
          };
        }
        const body = Buffer.alloc(12 + 4 + 24);
        body.writeUInt16LE(4280, 0);
        body.writeUInt16LE(4280, 2);
        body.writeUInt16LE(0, 8); // empty sec_addr, then pad to 4: 10 + 2
        body[12] = 1;
        Buffer.from('045d888aeb1cc9119fe808002b10486002000000', 'hex').copy(body, 20);
        return assemblePdu(PTYPE_BIND_ACK, 3, callId, body, auth);
      }
      const { opnum, stubAndPad } = decodeRequest(pdu);
      calls.push(opnum);
      if (pdu.authValue === undefined) return encodeResponse(callId, setUp(opnum, stubAndPad));
      // Sealed: verify as MS-NRPC §3.3.4.2.2 says, from the server's side.
      const sk = key as Buffer;
      const sealKey = Buffer.from(sk.map((b) => b ^ 0xf0));
      const signature = decodeNlAuthSignature(pdu.authValue);
      const s = seq(n++, true);
      const plain = cfb8(
        false,
        sealKey,
        Buffer.concat([s, s]),
        Buffer.concat([signature.encryptedConfounder, stubAndPad]),
      );
      const check = createHmac('sha256', sk).update(HDR8).update(plain).digest().subarray(0, 8);
      if (fail721 || !check.equals(signature.checksum)) {
        fail721 = false;
        // What Samba does: the fault, then it closes the connection.
        socket.end(encodeFault(callId, 0x721));
        return undefined;
      }
      const stub = samLogonAnswer();
      const pad = Buffer.alloc((16 - (stub.length % 16)) % 16);
      const r = seq(n++, false);
      const confounder = randomBytes(8);
      const body = Buffer.concat([stub, pad]);
      const checksum = createHmac('sha256', sk)
        .update(HDR8)
        .update(confounder)
        .update(body)
        .digest()
        .subarray(0, 8);
      const encrypted = cfb8(
        true,
        sealKey,
        Buffer.concat([r, r]),
        Buffer.concat([confounder, body]),
      );
      if (tamper) {
        tamper = false;
        encrypted[20] = (encrypted[20] as number) ^ 1;
      }
      const value = encodeNlAuthSignature({
        encryptedSequence: cfb8(true, sk, Buffer.concat([checksum, checksum]), r),
        checksum,
        encryptedConfounder: encrypted.subarray(0, 8),
      });
      return encodeResponse(callId, encrypted.subarray(8), {
        trailer: { authType: 0x44, authLevel: 6, authPadLength: pad.length, authContextId: 1 },
        value,
      });
    }
  });

  /** ReqChallenge and Authenticate3 (MS-NRPC §3.5.4.4.1-2), computer names parsed from NDR. */
  function setUp(opnum: number, stub: Buffer): Buffer {
    const r = new NdrReader(stub);
    const string = (): string => {
      const max = r.u32();
      r.u32();
      r.u32();
      return r
        .bytes(max * 2)
        .toString('utf16le')
        .replace(/\0$/, '');
    };
    r.u32(); // PrimaryName referent
    string();
    const w = new NdrWriter();
    if (opnum === 4) {
      const computer = string();
      const client = r.bytes(8);
      const serverChallenge = randomBytes(8);
      challenges.set(computer, { client, server: serverChallenge });
      w.bytes(serverChallenge);
      w.u32(0);
      return w.toBuffer();
    }
    string(); // AccountName
    r.u16();
    const computer = string();
    const clientCredential = r.bytes(8);
    const flags = r.u32();
    const pending = challenges.get(computer);
    const sk = createHmac('sha256', ntHash)
      .update(pending?.client ?? Buffer.alloc(8))
      .update(pending?.server ?? Buffer.alloc(8))
      .digest()
      .subarray(0, 16);
    const credential = (x: Buffer): Buffer => cfb8(true, sk, Buffer.alloc(16), x);
    const ok = pending !== undefined && credential(pending.client).equals(clientCredential);
    if (ok) sessions.set(computer, sk);
    w.bytes(ok ? credential((pending as { server: Buffer }).server) : Buffer.alloc(8));
    w.u32(flags & 0x613fffff);
    w.u32(1105);
    w.u32(ok ? 0 : 0xc0000022);
    return w.toBuffer();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    calls,
    forgetSessions: () => sessions.clear(),
    failNextCallWith721: () => {
      fail721 = true;
    },
    tamperNextResponse: () => {
      tamper = true;
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/** A NetrLogonSamLogonEx answer with a SAM_INFO4, built the way a DC marshals it. */
export function samLogonAnswer(status = 0): Buffer {
  const w = new NdrWriter();
  const strings = ['bob', 'Bob Builder', '', '', '', ''];
  w.u16(6);
  w.pointer();
  for (let i = 0; i < 12; i++) w.u32(0);
  for (const s of strings) {
    if (s === '') {
      w.u16(0);
      w.u16(0);
      w.u32(0);
    } else w.unicodeStringHeader(s);
  }
  w.u16(3);
  w.u16(0);
  w.u32(1102); // UserId
  w.u32(513); // PrimaryGroupId
  w.u32(2); // GroupCount
  w.pointer();
  w.u32(0x20); // UserFlags
  w.bytes(Buffer.alloc(16, 0xab)); // UserSessionKey
  w.unicodeStringHeader('DC1');
  w.unicodeStringHeader('SAMDOM');
  w.pointer(); // LogonDomainId
  w.bytes(Buffer.alloc(8));
  w.u32(0x10); // UserAccountControl
  for (let i = 0; i < 7; i++) w.u32(0);
  w.u32(1); // SidCount
  w.pointer();
  w.unicodeStringHeader('samdom.test');
  w.unicodeStringHeader('bob@samdom.test');
  for (let i = 0; i < 10; i++) {
    w.u16(0);
    w.u16(0);
    w.u32(0);
  }
  w.unicodeStringBuffer('bob');
  w.unicodeStringBuffer('Bob Builder');
  w.u32(2);
  w.u32(513);
  w.u32(7);
  w.u32(1104);
  w.u32(7);
  w.unicodeStringBuffer('DC1');
  w.unicodeStringBuffer('SAMDOM');
  const sid = (subs: number[]): void => {
    w.u32(subs.length);
    w.u8(1);
    w.u8(subs.length);
    w.bytes(hex('000000000005'));
    for (const s of subs) w.u32(s);
  };
  sid([21, 1, 2, 3]);
  w.u32(1);
  w.pointer();
  w.u32(7);
  sid([21, 9, 9, 9, 1000]);
  w.unicodeStringBuffer('samdom.test');
  w.unicodeStringBuffer('bob@samdom.test');
  w.u8(1);
  w.u32(0);
  w.u32(status);
  return w.toBuffer();
}
