/**
 * Cross-checks the Kerberos crypto against independent implementations on this machine:
 *  - MIT krb5: a throwaway realm's keytab keys equal our string-to-key of the same passwords, and
 *    real service tickets issued by the MIT KDC decrypt (usage 2) with the service's keytab key for
 *    every enctype, yielding an EncTicketPart that holds the session key MIT put in the ccache;
 *  - impacket (Debian python3-impacket): encryption and checksums in both directions for the
 *    enctypes it implements (17, 18, 23; it has no RFC 8009);
 *  - the OpenSSL command line with its legacy provider: MD4 and RC4 on random inputs.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { md4 } from '../src/crypto/md4.js';
import { Rc4, rc4 } from '../src/crypto/rc4.js';
import { EncType, KeyUsage, encryptionProfile, makeKey } from '../src/kerberos/crypto/index.js';
import type { EncryptionProfile } from '../src/kerberos/crypto/index.js';

/**
 * The slice of the shared MIT realm harness (test/harness/mit-kdc.ts) used here. It is loaded by
 * URL at run time because that file lies outside this package's tsconfig rootDir.
 */
type MitEnctype =
  | 'aes128-cts-hmac-sha1-96'
  | 'aes256-cts-hmac-sha1-96'
  | 'aes128-cts-hmac-sha256-128'
  | 'aes256-cts-hmac-sha384-192'
  | 'arcfour-hmac';
interface MitKdc {
  readonly realm: string;
  readonly dir: string;
  readonly keytabPath: string;
  kinit(user: string, password: string): { ccache: string; env: NodeJS.ProcessEnv };
  exportKeytab(principal: string, keytab?: string): void;
  stop(): Promise<void>;
}
interface MitHarness {
  startMitKdc(options: {
    principals: readonly {
      name: string;
      password?: string;
      enctypes?: readonly MitEnctype[];
      keytab?: boolean;
    }[];
  }): Promise<MitKdc>;
}
const harnessUrl = new URL('../../../test/harness/mit-kdc.js', import.meta.url).href;

const MIT_NAMES: [MitEnctype, number][] = [
  ['aes128-cts-hmac-sha1-96', EncType.AES128_CTS_HMAC_SHA1_96],
  ['aes256-cts-hmac-sha1-96', EncType.AES256_CTS_HMAC_SHA1_96],
  ['aes128-cts-hmac-sha256-128', EncType.AES128_CTS_HMAC_SHA256_128],
  ['aes256-cts-hmac-sha384-192', EncType.AES256_CTS_HMAC_SHA384_192],
  ['arcfour-hmac', EncType.RC4_HMAC],
];

function profile(enctype: number): EncryptionProfile {
  const found = encryptionProfile(enctype);
  assert.ok(found);
  return found;
}

/** Sequential big-endian reader for the MIT keytab and ccache files written by MIT itself. */
class Reader {
  offset = 0;
  constructor(readonly bytes: Buffer) {}
  get done(): boolean {
    return this.offset >= this.bytes.length;
  }
  u8(): number {
    return this.bytes.readUInt8((this.offset += 1) - 1);
  }
  u16(): number {
    return this.bytes.readUInt16BE((this.offset += 2) - 2);
  }
  u32(): number {
    return this.bytes.readUInt32BE((this.offset += 4) - 4);
  }
  i32(): number {
    return this.bytes.readInt32BE((this.offset += 4) - 4);
  }
  take(length: number): Buffer {
    assert.ok(this.offset + length <= this.bytes.length, 'truncated test fixture');
    return this.bytes.subarray(this.offset, (this.offset += length));
  }
}

interface KeytabEntry {
  principal: string;
  enctype: number;
  key: Buffer;
}

/** MIT keytab format 0x502 (lengths are 16-bit, entries are prefixed by a 32-bit size). */
function readKeytab(path: string): KeytabEntry[] {
  const reader = new Reader(readFileSync(path));
  assert.equal(reader.u16(), 0x0502);
  const entries: KeytabEntry[] = [];
  while (!reader.done) {
    const size = reader.i32();
    if (size < 0) {
      reader.take(-size); // a deleted entry's hole
      continue;
    }
    const entry = new Reader(reader.take(size));
    const components = entry.u16();
    const realm = entry.take(entry.u16()).toString();
    const names: string[] = [];
    for (let i = 0; i < components; i++) names.push(entry.take(entry.u16()).toString());
    entry.u32(); // name type
    entry.u32(); // timestamp
    entry.u8(); // 8-bit kvno
    const enctype = entry.u16();
    const key = Buffer.from(entry.take(entry.u16()));
    entries.push({ principal: `${names.join('/')}@${realm}`, enctype, key });
  }
  return entries;
}

interface CachedTicket {
  server: string;
  sessionEnctype: number;
  sessionKey: Buffer;
  ticket: Buffer;
}

/** MIT ccache format 0x0504 (counted strings are 32-bit). */
function readCcache(path: string): CachedTicket[] {
  const reader = new Reader(readFileSync(path));
  assert.equal(reader.u16(), 0x0504);
  reader.take(reader.u16()); // header tags
  const principal = (): string => {
    reader.u32(); // name type
    const count = reader.u32();
    const realm = reader.take(reader.u32()).toString();
    const names: string[] = [];
    for (let i = 0; i < count; i++) names.push(reader.take(reader.u32()).toString());
    return `${names.join('/')}@${realm}`;
  };
  principal(); // default principal
  const tickets: CachedTicket[] = [];
  while (!reader.done) {
    principal(); // client
    const server = principal();
    const sessionEnctype = reader.u16();
    const sessionKey = Buffer.from(reader.take(reader.u32()));
    reader.take(16); // authtime, starttime, endtime, renew-till
    reader.u8(); // is_skey
    reader.u32(); // ticket flags
    for (let count = reader.u32(); count > 0; count--) reader.take((reader.u16(), reader.u32()));
    for (let count = reader.u32(); count > 0; count--) reader.take((reader.u16(), reader.u32()));
    const ticket = Buffer.from(reader.take(reader.u32()));
    reader.take(reader.u32()); // second ticket
    tickets.push({ server, sessionEnctype, sessionKey, ticket });
  }
  return tickets;
}

/** Minimal DER walk for the test: the children of the constructed element at `offset`. */
function derChildren(der: Buffer, offset = 0): { tag: number; start: number; end: number }[] {
  const element = derElement(der, offset);
  const children: { tag: number; start: number; end: number }[] = [];
  for (let at = element.contentStart; at < element.end;) {
    const child = derElement(der, at);
    children.push({ tag: child.tag, start: at, end: child.end });
    at = child.end;
  }
  return children;
}

function derElement(
  der: Buffer,
  offset: number,
): { tag: number; contentStart: number; end: number } {
  const tag = der[offset]!;
  let length = der[offset + 1]!;
  let contentStart = offset + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    length = der.readUIntBE(offset + 2, octets);
    contentStart += octets;
  }
  return { tag, contentStart, end: contentStart + length };
}

/** Ticket ::= [APPLICATION 1] SEQUENCE { ..., enc-part [3] EncryptedData { etype [0], kvno [1], cipher [2] } } */
function ticketEncPart(ticket: Buffer): { etype: number; cipher: Buffer } {
  assert.equal(ticket[0], 0x61);
  const sequence = derChildren(ticket)[0]!;
  const encPartTagged = derChildren(ticket, sequence.start).find((child) => child.tag === 0xa3)!;
  const encryptedData = derChildren(ticket, encPartTagged.start)[0]!;
  let etype = -1;
  let cipher: Buffer = Buffer.alloc(0);
  for (const field of derChildren(ticket, encryptedData.start)) {
    const inner = derElement(ticket, derElement(ticket, field.start).contentStart);
    const value = ticket.subarray(inner.contentStart, inner.end);
    if (field.tag === 0xa0) etype = value.readIntBE(0, value.length);
    if (field.tag === 0xa2) cipher = value;
  }
  return { etype, cipher };
}

describe('interop with MIT krb5 (throwaway realm)', () => {
  let kdc: MitKdc;
  // No spaces: the harness passes it through a kadmin query line.
  const userPassword = 'Ünïcode-pässword-' + randomBytes(6).toString('hex');

  before(async () => {
    const { startMitKdc } = (await import(harnessUrl)) as MitHarness;
    kdc = await startMitKdc({
      principals: [
        { name: 'alice', password: userPassword },
        { name: 'HTTP/pw.example', password: userPassword, keytab: false },
        ...MIT_NAMES.map(([name, enctype]) => ({ name: `HTTP/e${enctype}`, enctypes: [name] })),
      ],
    });
  });

  after(async () => {
    await kdc?.stop();
  });

  it('string-to-key of every enctype equals the keys MIT derived from the same password', () => {
    for (const principal of ['alice', 'HTTP/pw.example']) {
      const keytab = join(kdc.dir, `pw-${principal.replace('/', '_')}.keytab`);
      kdc.exportKeytab(principal, keytab);
      const entries = readKeytab(keytab);
      // RFC 4120 §4: the default salt is the realm followed by the name components, unseparated.
      const salt = kdc.realm + principal.replace('/', '');
      for (const [, enctype] of MIT_NAMES) {
        const entry = entries.find((candidate) => candidate.enctype === enctype);
        assert.ok(entry, `${principal}: MIT exported an enctype ${enctype} key`);
        const ours = profile(enctype).stringToKey(userPassword, salt);
        assert.equal(
          ours.bytes.toString('hex'),
          entry.key.toString('hex'),
          `${principal} ${enctype}`,
        );
      }
    }
  });

  it('decrypts MIT-issued service tickets of every enctype with the keytab key', () => {
    const keytab = readKeytab(kdc.keytabPath);
    const { ccache, env } = kdc.kinit('alice', userPassword);
    for (const [, enctype] of MIT_NAMES) {
      const service = `HTTP/e${enctype}@${kdc.realm}`;
      const result = spawnSync('kvno', [service], { env, encoding: 'utf8', timeout: 30_000 });
      assert.equal(result.status, 0, result.stderr);
    }
    const tickets = readCcache(ccache);
    for (const [, enctype] of MIT_NAMES) {
      const service = `HTTP/e${enctype}@${kdc.realm}`;
      const cached = tickets.find((ticket) => ticket.server === service);
      assert.ok(cached, `ticket for ${service} in the ccache`);
      const { etype, cipher } = ticketEncPart(cached.ticket);
      assert.equal(etype, enctype);
      const entry = keytab.find((candidate) => candidate.principal === service);
      assert.ok(entry);
      const serviceKey = makeKey(enctype, entry.key);
      const encTicketPart = profile(enctype).decrypt(serviceKey, KeyUsage.KDC_REP_TICKET, cipher);
      assert.equal(encTicketPart[0], 0x63, 'EncTicketPart is [APPLICATION 3]');
      assert.ok(encTicketPart.includes(cached.sessionKey), 'EncTicketPart holds the session key');
      // The same ticket under another usage or a flipped bit is refused.
      assert.throws(() => profile(enctype).decrypt(serviceKey, KeyUsage.AP_REP_ENCPART, cipher), {
        code: 'ERR_HTTPAUTH_KRB_MODIFIED',
      });
      const flipped = Buffer.from(cipher);
      flipped[flipped.length >> 1]! ^= 0x01;
      assert.throws(() => profile(enctype).decrypt(serviceKey, KeyUsage.KDC_REP_TICKET, flipped), {
        code: 'ERR_HTTPAUTH_KRB_MODIFIED',
      });
    }
  });
});

describe('interop with impacket (python3-impacket)', () => {
  interface Case {
    enctype: number;
    key: string;
    usage: number;
    plaintext: string;
    ours: string;
    cksumtype: number;
  }
  const script = `
import json, sys
from impacket.krb5.crypto import Key, _enctype_table, _checksum_table
out = []
for case in json.load(sys.stdin):
    profile = _enctype_table[case['enctype']]
    key = Key(case['enctype'], bytes.fromhex(case['key']))
    plaintext = bytes.fromhex(case['plaintext'])
    decrypted = profile.decrypt(key, case['usage'], bytes.fromhex(case['ours']))
    confounder = bytes(range(7, 7 + (8 if case['enctype'] == 23 else 16)))
    theirs = profile.encrypt(key, case['usage'], plaintext, confounder)
    checksum = _checksum_table[case['cksumtype']].checksum(key, case['usage'], plaintext)
    prf = profile.prf(key, plaintext)
    out.append({'decrypted': decrypted.hex(), 'theirs': theirs.hex(), 'checksum': checksum.hex(), 'prf': prf.hex()})
json.dump(out, sys.stdout)
`;

  it('encryption (both directions), checksums and PRF agree for aes128/aes256-sha1 and rc4-hmac, lengths 0..40', () => {
    const cases: Case[] = [];
    for (const enctype of [17, 18, 23]) {
      const enc = profile(enctype);
      for (let length = 0; length <= 40; length++) {
        const key = randomBytes(enc.keyBytes);
        const usage = [2, 3, 9, 11, 12, 17, 23][length % 7]!;
        const plaintext = randomBytes(length);
        const ours = enc.encrypt(makeKey(enctype, key), usage, plaintext);
        cases.push({
          enctype,
          key: key.toString('hex'),
          usage,
          plaintext: plaintext.toString('hex'),
          ours: ours.toString('hex'),
          cksumtype: enc.checksumType,
        });
      }
    }
    const result = spawnSync('/usr/bin/python3', ['-c', script], {
      input: JSON.stringify(cases),
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(result.status, 0, result.stderr);
    const answers = JSON.parse(result.stdout) as {
      decrypted: string;
      theirs: string;
      checksum: string;
      prf: string;
    }[];
    assert.equal(answers.length, cases.length);
    for (const [index, answer] of answers.entries()) {
      const testCase = cases[index]!;
      const enc = profile(testCase.enctype);
      const key = makeKey(testCase.enctype, Buffer.from(testCase.key, 'hex'));
      const label = `enctype ${testCase.enctype} length ${testCase.plaintext.length / 2}`;
      assert.equal(answer.decrypted, testCase.plaintext, `impacket decrypts ours: ${label}`);
      const theirs = Buffer.from(answer.theirs, 'hex');
      assert.equal(
        enc.decrypt(key, testCase.usage, theirs).toString('hex'),
        testCase.plaintext,
        label,
      );
      const checksum = enc.checksum(key, testCase.usage, Buffer.from(testCase.plaintext, 'hex'));
      assert.equal(checksum.toString('hex'), answer.checksum, `checksum ${label}`);
      const prf = enc.prf!(key, Buffer.from(testCase.plaintext, 'hex'));
      assert.equal(prf.toString('hex'), answer.prf, `PRF ${label}`);
    }
  });
});

describe('interop with OpenSSL (legacy provider, command line)', () => {
  const legacy = ['-provider', 'legacy', '-provider', 'default'];
  const openssl = (args: string[], input: Buffer): Buffer => {
    const result = spawnSync('openssl', args, { input, timeout: 30_000 });
    assert.equal(result.status, 0, result.stderr?.toString());
    return result.stdout;
  };

  it('MD4 of random inputs of lengths around the block boundaries matches', () => {
    for (const length of [0, 1, 54, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000]) {
      const data = randomBytes(length);
      const theirs = openssl(['dgst', '-md4', '-binary', ...legacy], data);
      assert.equal(md4(data).toString('hex'), theirs.toString('hex'), `length ${length}`);
    }
  });

  it('RC4 with random 128-bit keys matches, one-shot and streamed', () => {
    for (const length of [1, 15, 16, 17, 255, 256, 257, 3000]) {
      const key = randomBytes(16);
      const data = randomBytes(length);
      const theirs = openssl(
        ['enc', '-rc4', '-nosalt', '-K', key.toString('hex'), ...legacy],
        data,
      );
      assert.equal(rc4(key, data).toString('hex'), theirs.toString('hex'), `length ${length}`);
      const stream = new Rc4(key);
      const half = length >> 1;
      const streamed = Buffer.concat([
        stream.update(data.subarray(0, half)),
        stream.update(data.subarray(half)),
      ]);
      assert.deepEqual(streamed, theirs);
    }
  });
});
