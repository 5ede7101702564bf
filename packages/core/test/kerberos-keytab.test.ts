/**
 * MIT keytab files: version 0x502 (written by us, read back by MIT's klist) and 0x501, the 32-bit
 * kvno extension, holes, several principals/kvnos/enctypes, DES entries, and fast-check.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { HttpAuthError } from '../src/errors.js';
import { encodeKeytab, Keytab, keytabPath, parseKeytab } from '../src/kerberos/keytab.js';
import { randomKey } from './fixtures/kerberos/forge.js';
import { assertDecoderInputs } from './fixtures/fuzz/decoder-inputs.js';

const dir = mkdtempSync(join(tmpdir(), 'httpauth-keytab-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function u16be(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

describe('version 0x502', () => {
  test('a keytab we write is read by MIT klist with the same keys', () => {
    const k18 = randomKey(18);
    const k20 = randomKey(20);
    const path = join(dir, 'ours.keytab');
    writeFileSync(
      path,
      encodeKeytab([
        { realm: 'EXAMPLE.TEST', components: ['HTTP', 'web.example.test'], kvno: 4, key: k18 },
        { realm: 'EXAMPLE.TEST', components: ['HTTP', 'web.example.test'], kvno: 300, key: k20 },
      ]),
    );
    const out = spawnSync('klist', ['-k', '-e', '-K', path], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    assert.match(
      out.stdout,
      new RegExp(
        `4 HTTP/web.example.test@EXAMPLE.TEST \\(aes256-cts-hmac-sha1-96\\)\\s+\\(0x${k18.bytes.toString('hex')}\\)`,
      ),
    );
    assert.match(
      out.stdout,
      new RegExp(
        `300 HTTP/web.example.test@EXAMPLE.TEST \\(aes256-cts-hmac-sha384-192\\)\\s+\\(0x${k20.bytes.toString('hex')}\\)`,
      ),
    );
    const parsed = Keytab.parse(readFileSync(path));
    assert.deepEqual(parsed.principals(), ['HTTP/web.example.test@EXAMPLE.TEST']);
    assert.deepEqual(parsed.find('HTTP/web.example.test@EXAMPLE.TEST', 20, 300)?.bytes, k20.bytes);
  });

  test('the captured MIT keytab parses', () => {
    const fixture = JSON.parse(
      readFileSync(new URL('./fixtures/kerberos/mit-tokens.json', import.meta.url), 'utf8'),
    ) as { keytab: string };
    const entries = parseKeytab(Buffer.from(fixture.keytab, 'base64'));
    assert.deepEqual(
      entries.map((e) => [e.principal, e.kvno, e.enctype, e.nameType]),
      [
        ['HTTP/localhost@EXAMPLE.TEST', 1, 18, 1],
        ['HTTP/localhost@EXAMPLE.TEST', 1, 20, 1],
      ],
    );
  });

  test('lookup by principal, enctype and kvno; highest kvno when the ticket names none', () => {
    const old = randomKey(18);
    const current = randomKey(18);
    const other = randomKey(17);
    const keytab = Keytab.parse(
      encodeKeytab([
        { realm: 'R', components: ['HTTP', 'a'], kvno: 1, key: old },
        { realm: 'R', components: ['HTTP', 'a'], kvno: 2, key: current },
        { realm: 'R', components: ['HTTP', 'b'], kvno: 1, key: other },
      ]),
    );
    assert.deepEqual(keytab.find('HTTP/a@R', 18, 1)?.bytes, old.bytes);
    assert.deepEqual(keytab.find('HTTP/a@R', 18, 2)?.bytes, current.bytes);
    assert.deepEqual(keytab.find('HTTP/a@R', 18, undefined)?.bytes, current.bytes);
    assert.equal(keytab.find('HTTP/a@R', 17, 1), undefined);
    assert.equal(keytab.find('HTTP/a@R', 18, 3), undefined);
    assert.deepEqual(keytab.find('HTTP/b@R', 17, 1)?.bytes, other.bytes);
    assert.equal(keytab.find('HTTP/c@R', 17, 1), undefined);
  });

  test('holes are skipped; DES entries are kept without a usable key; the 32-bit kvno wins', () => {
    const key = randomKey(18);
    const good = encodeKeytab([{ realm: 'R', components: ['HTTP', 'a'], kvno: 258, key }]);
    const hole = Buffer.alloc(4 + 10);
    hole.writeInt32BE(-10, 0);
    // A DES-CBC-MD5 (3) entry with an 8-byte key.
    const body = Buffer.concat([
      u16be(2),
      u16be(1),
      Buffer.from('R'),
      u16be(4),
      Buffer.from('HTTP'),
      u16be(1),
      Buffer.from('a'),
      Buffer.from([0, 0, 0, 1, 0, 0, 0, 0, 5]),
      u16be(3),
      u16be(8),
      Buffer.alloc(8, 1),
    ]);
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length);
    const data = Buffer.concat([good, hole, size, body]);
    const entries = parseKeytab(data);
    assert.equal(entries.length, 2);
    assert.equal(entries[0]?.kvno, 258);
    assert.equal(entries[1]?.enctype, 3);
    assert.equal(entries[1]?.key, undefined);
    const keytab = new Keytab(entries);
    assert.equal(
      keytab.find('HTTP/a@R', 18, 258)?.bytes.toString('hex'),
      key.bytes.toString('hex'),
    );
    assert.equal(keytab.find('HTTP/a@R', 3, 5), undefined);
  });
});

describe('version 0x501', () => {
  test('little-endian, the realm counted among the components, no name type', () => {
    const key = randomKey(17);
    const u16 = (v: number) => {
      const b = Buffer.alloc(2);
      b.writeUInt16LE(v);
      return b;
    };
    const body = Buffer.concat([
      u16(3), // realm + 2 components
      u16(1),
      Buffer.from('R'),
      u16(4),
      Buffer.from('HTTP'),
      u16(4),
      Buffer.from('host'),
      Buffer.from([0x10, 0x20, 0x30, 0x40]), // timestamp
      Buffer.from([7]), // vno8
      u16(17),
      u16(16),
      key.bytes,
    ]);
    const size = Buffer.alloc(4);
    size.writeInt32LE(body.length);
    const entries = parseKeytab(Buffer.concat([Buffer.from([0x05, 0x01]), size, body]));
    assert.equal(entries.length, 1);
    assert.equal(entries[0]?.principal, 'HTTP/host@R');
    assert.equal(entries[0]?.kvno, 7);
    assert.equal(entries[0]?.enctype, 17);
    assert.deepEqual(entries[0]?.key?.bytes, key.bytes);
  });
});

describe('names and malformed files', () => {
  test('FILE: and WRFILE: prefixes; other keytab types refused', () => {
    assert.equal(keytabPath('FILE:/etc/krb5.keytab'), '/etc/krb5.keytab');
    assert.equal(keytabPath('WRFILE:/x'), '/x');
    assert.equal(keytabPath('/plain/path'), '/plain/path');
    assert.throws(() => keytabPath('MEMORY:x'), { code: 'ERR_HTTPAUTH_INVALID_OPTIONS' });
  });

  test('bad versions, a key of the wrong length, an entry past the end', () => {
    const invalid = { code: 'ERR_HTTPAUTH_KEYTAB_INVALID' };
    assert.throws(() => parseKeytab(Buffer.from([0x05, 0x03])), invalid);
    assert.throws(() => parseKeytab(Buffer.from([0x06, 0x02])), invalid);
    const good = encodeKeytab([{ realm: 'R', components: ['a'], kvno: 1, key: randomKey(18) }]);
    const wrongLength = Buffer.from(good);
    // The key length field sits right before the 32-byte key and the 4-byte kvno.
    wrongLength.writeUInt16BE(31, good.length - 4 - 32 - 2);
    assert.throws(() => parseKeytab(wrongLength), invalid);
    const tooLong = Buffer.from(good);
    tooLong.writeInt32BE(10_000, 2);
    assert.throws(() => parseKeytab(tooLong), invalid);
  });

  test('fast-check: random, truncated and mutated keytabs throw only ERR_HTTPAUTH_KEYTAB_INVALID', () => {
    const sample = encodeKeytab([
      { realm: 'EXAMPLE.TEST', components: ['HTTP', 'a'], kvno: 1, key: randomKey(18) },
      { realm: 'EXAMPLE.TEST', components: ['HTTP', 'a'], kvno: 1, key: randomKey(17) },
    ]);
    const check = (input: Buffer) => {
      try {
        parseKeytab(input);
      } catch (error) {
        assert.ok(error instanceof HttpAuthError);
        assert.equal(error.code, 'ERR_HTTPAUTH_KEYTAB_INVALID');
      }
    };
    // 0x0502: the keytab file format version 2, so random input reaches the entries.
    assertDecoderInputs(check, sample, {
      maxRandomLength: 300,
      prefix: Buffer.from([5, 2]),
      runs: { random: 500, extended: 0, mutated: 500 },
    });
  });
});
