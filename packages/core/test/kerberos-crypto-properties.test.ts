import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import { HttpAuthError } from '../src/errors.js';
import {
  ChecksumType,
  EncType,
  KeyUsage,
  checksumSize,
  computeChecksum,
  encryptionProfile,
  makeKey,
  nfold,
  verifyChecksum,
} from '../src/kerberos/crypto/index.js';
import type { EncryptionProfile, KerberosKey } from '../src/kerberos/crypto/index.js';

const ENCTYPES = [
  EncType.AES128_CTS_HMAC_SHA1_96,
  EncType.AES256_CTS_HMAC_SHA1_96,
  EncType.AES128_CTS_HMAC_SHA256_128,
  EncType.AES256_CTS_HMAC_SHA384_192,
  EncType.RC4_HMAC,
];

function profile(enctype: number): EncryptionProfile {
  const found = encryptionProfile(enctype);
  assert.ok(found);
  return found;
}

function randomKey(enctype: number): KerberosKey {
  return makeKey(enctype, randomBytes(profile(enctype).keyBytes));
}

function assertModified(action: () => unknown, message?: string): void {
  assert.throws(
    action,
    (error: unknown) =>
      error instanceof HttpAuthError && error.code === 'ERR_HTTPAUTH_KRB_MODIFIED',
    message,
  );
}

for (const enctype of ENCTYPES) {
  const enc = profile(enctype);

  describe(`${enc.name} (${enctype})`, () => {
    it('round-trips every plaintext length 0..100 with the documented overhead', () => {
      const key = randomKey(enctype);
      for (let length = 0; length <= 100; length++) {
        const plaintext = randomBytes(length);
        const ciphertext = enc.encrypt(key, KeyUsage.AP_REQ_AUTHENTICATOR, plaintext);
        assert.equal(ciphertext.length, length + enc.overheadBytes, `length ${length}`);
        assert.deepEqual(enc.decrypt(key, KeyUsage.AP_REQ_AUTHENTICATOR, ciphertext), plaintext);
      }
    });

    it('uses a fresh random confounder each time', () => {
      const key = randomKey(enctype);
      const plaintext = Buffer.from('same plaintext');
      const first = enc.encrypt(key, KeyUsage.AP_REP_ENCPART, plaintext);
      const second = enc.encrypt(key, KeyUsage.AP_REP_ENCPART, plaintext);
      assert.notDeepEqual(first, second);
    });

    it('rejects every single-bit flip anywhere in the ciphertext', () => {
      const key = randomKey(enctype);
      const ciphertext = enc.encrypt(key, KeyUsage.AP_REP_ENCPART, randomBytes(37));
      for (let offset = 0; offset < ciphertext.length; offset++) {
        const tampered = Buffer.from(ciphertext);
        tampered[offset]! ^= 1 << (offset % 8);
        assertModified(
          () => enc.decrypt(key, KeyUsage.AP_REP_ENCPART, tampered),
          `offset ${offset}`,
        );
      }
    });

    it('rejects every truncation and an appended byte', () => {
      const key = randomKey(enctype);
      const ciphertext = enc.encrypt(key, KeyUsage.KRB_CRED_ENCPART, randomBytes(40));
      for (let length = 0; length < ciphertext.length; length++) {
        assertModified(() =>
          enc.decrypt(key, KeyUsage.KRB_CRED_ENCPART, ciphertext.subarray(0, length)),
        );
      }
      const extended = Buffer.concat([ciphertext, Buffer.from([0])]);
      assertModified(() => enc.decrypt(key, KeyUsage.KRB_CRED_ENCPART, extended));
    });

    it('binds the ciphertext to the key and the usage', () => {
      const key = randomKey(enctype);
      const ciphertext = enc.encrypt(
        key,
        KeyUsage.AP_REQ_AUTHENTICATOR,
        Buffer.from('authenticator'),
      );
      assertModified(() =>
        enc.decrypt(randomKey(enctype), KeyUsage.AP_REQ_AUTHENTICATOR, ciphertext),
      );
      assertModified(() => enc.decrypt(key, KeyUsage.AP_REP_ENCPART, ciphertext));
    });

    it('decrypts identically through a fresh key object with the same bytes (cache is per object)', () => {
      const key = randomKey(enctype);
      const ciphertext = enc.encrypt(key, KeyUsage.KDC_REP_TICKET, Buffer.from('ticket'));
      const twin = makeKey(enctype, key.bytes);
      assert.equal(enc.decrypt(twin, KeyUsage.KDC_REP_TICKET, ciphertext).toString(), 'ticket');
      // Many usages on one key (beyond the cache bound) stay correct.
      for (let usage = 100; usage < 180; usage++) {
        const sealed = enc.encrypt(key, usage, Buffer.from([usage]));
        assert.deepEqual(enc.decrypt(twin, usage, sealed), Buffer.from([usage]));
      }
    });

    it('throws only ERR_HTTPAUTH_KRB_MODIFIED on random ciphertext of any length', () => {
      const key = randomKey(enctype);
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat({ max: 30 }), (data, usage) => {
          assertModified(() => enc.decrypt(key, usage, data));
        }),
        { numRuns: 300 },
      );
    });

    it('rejects an oversized random ciphertext cleanly', () => {
      const key = randomKey(enctype);
      assertModified(() => enc.decrypt(key, KeyUsage.KDC_REP_TICKET, randomBytes(256 * 1024)));
    });

    it('checksum: fixed size, verifies, and detects changed data, key or usage', () => {
      const key = randomKey(enctype);
      const data = Buffer.from('PAC server signature input');
      const usage = KeyUsage.KERB_NON_KERB_CKSUM_SALT;
      const checksum = enc.checksum(key, usage, data);
      assert.equal(checksum.length, checksumSize(enc.checksumType));
      assert.deepEqual(computeChecksum(enc.checksumType, key, usage, data), checksum);
      assert.equal(verifyChecksum(enc.checksumType, key, usage, data, checksum), true);
      assert.equal(
        verifyChecksum(enc.checksumType, key, usage, Buffer.from('other'), checksum),
        false,
      );
      assert.equal(
        verifyChecksum(enc.checksumType, randomKey(enctype), usage, data, checksum),
        false,
      );
      assert.equal(
        verifyChecksum(enc.checksumType, key, KeyUsage.KRB_SAFE_CKSUM, data, checksum),
        false,
      );
      const flipped = Buffer.from(checksum);
      flipped[0]! ^= 0x80;
      assert.equal(verifyChecksum(enc.checksumType, key, usage, data, flipped), false);
      assert.equal(verifyChecksum(enc.checksumType, key, usage, data, checksum.subarray(1)), false);
      assert.equal(verifyChecksum(enc.checksumType, key, usage, data, new Uint8Array(0)), false);
    });

    it('checksum types of other enctypes are refused for this key', () => {
      const key = randomKey(enctype);
      for (const other of Object.values(ChecksumType)) {
        if (other === enc.checksumType) continue;
        assert.throws(() => computeChecksum(other, key, 17, Buffer.from('x')), {
          code: 'ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED',
        });
        const size = checksumSize(other)!;
        assert.equal(verifyChecksum(other, key, 17, Buffer.from('x'), Buffer.alloc(size)), false);
      }
    });

    it('rejects keys of the wrong length or of another enctype', () => {
      for (const length of [0, 1, enc.keyBytes - 1, enc.keyBytes + 1, 64]) {
        assert.throws(() => makeKey(enctype, Buffer.alloc(length)), {
          name: 'HttpAuthError',
          code: 'ERR_HTTPAUTH_KRB_KEY_INVALID',
        });
      }
      const foreign = ENCTYPES.find((other) => other !== enctype)!;
      const foreignKey = randomKey(foreign);
      assert.throws(() => enc.encrypt(foreignKey, 11, Buffer.from('x')), {
        code: 'ERR_HTTPAUTH_KRB_KEY_INVALID',
      });
      assert.throws(() => enc.decrypt(foreignKey, 11, randomBytes(64)), {
        code: 'ERR_HTTPAUTH_KRB_KEY_INVALID',
      });
      // A hand-built key object with a wrong length fails cleanly too.
      const bogus = { enctype, bytes: Buffer.alloc(enc.keyBytes + 3) };
      assert.throws(() => enc.decrypt(bogus, 11, randomBytes(64)), {
        code: 'ERR_HTTPAUTH_KRB_KEY_INVALID',
      });
    });

    it('makeKey copies the key bytes', () => {
      const bytes = randomBytes(enc.keyBytes);
      const key = makeKey(enctype, bytes);
      const sealed = enc.encrypt(key, 12, Buffer.from('ap-rep'));
      bytes.fill(0);
      assert.notDeepEqual(key.bytes, bytes);
      assert.equal(enc.decrypt(makeKey(enctype, key.bytes), 12, sealed).toString(), 'ap-rep');
    });

    it('string-to-key depends on password and salt and yields a usable key', () => {
      const params = enctype === EncType.RC4_HMAC ? undefined : Buffer.from([0, 0, 0, 2]);
      const key = enc.stringToKey('correct horse', 'EXAMPLE.TESTalice', params);
      assert.equal(key.enctype, enctype);
      assert.equal(key.bytes.length, enc.keyBytes);
      assert.notDeepEqual(
        enc.stringToKey('correct horsf', 'EXAMPLE.TESTalice', params).bytes,
        key.bytes,
      );
      if (enctype !== EncType.RC4_HMAC) {
        assert.notDeepEqual(
          enc.stringToKey('correct horse', 'EXAMPLE.TESTbob', params).bytes,
          key.bytes,
        );
      }
      assert.equal(enc.decrypt(key, 3, enc.encrypt(key, 3, Buffer.from('ok'))).toString(), 'ok');
    });

    it('PRF is deterministic, input-sensitive and of the enctype size', () => {
      const key = randomKey(enctype);
      const expectedLength: Record<number, number> = { 17: 16, 18: 16, 19: 32, 20: 48, 23: 20 };
      const out = enc.prf!(key, Buffer.from('input'));
      assert.equal(out.length, expectedLength[enctype]);
      assert.deepEqual(enc.prf!(key, Buffer.from('input')), out);
      assert.notDeepEqual(enc.prf!(key, Buffer.from('inpuT')), out);
    });
  });
}

describe('checksum registry', () => {
  it('unknown checksum types are refused by compute and unverified by verify', () => {
    const key = randomKey(EncType.AES256_CTS_HMAC_SHA1_96);
    for (const cksumtype of [0, 1, 7, 8, 12, 14, 17, 18, -137, 0x8003]) {
      assert.equal(checksumSize(cksumtype), undefined);
      assert.throws(() => computeChecksum(cksumtype, key, 17, Buffer.from('x')), {
        code: 'ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED',
      });
      assert.equal(verifyChecksum(cksumtype, key, 17, Buffer.from('x'), Buffer.alloc(12)), false);
    }
  });

  it('verifyChecksum never throws on random expected values', () => {
    const key = randomKey(EncType.AES128_CTS_HMAC_SHA256_128);
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.values(ChecksumType), 0, 99),
        fc.uint8Array({ maxLength: 40 }),
        fc.uint8Array({ maxLength: 40 }),
        (cksumtype, data, expected) => {
          assert.equal(verifyChecksum(cksumtype, key, 17, data, expected), false);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('n-fold properties', () => {
  it('has the requested length and is the identity at the same length', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 48 }),
        (input, out) => {
          assert.equal(nfold(input, out).length, out);
          assert.deepEqual(nfold(input, input.length), Buffer.from(input));
        },
      ),
    );
  });

  it('refuses empty input and non-positive lengths', () => {
    assert.throws(() => nfold(new Uint8Array(0), 16), RangeError);
    assert.throws(() => nfold(Buffer.from('x'), 0), RangeError);
  });
});
