import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { aesCtsDecrypt, aesCtsEncrypt, aesCtsNextIv } from '../src/kerberos/crypto/aes-cts.js';
import { kdfHmacSha2 } from '../src/kerberos/crypto/aes-sha2.js';
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
import type { EncryptionProfile } from '../src/kerberos/crypto/index.js';
import { md4 } from '../src/crypto/md4.js';

interface Hex {
  hex: string;
}
interface Vectors {
  rfc3961_nfold: { hex: string; inputHex: string; bits: number }[];
  rfc3962_stringToKey: {
    defaultParamsHex: string;
    vectors: {
      iterationParamHex: string;
      passphraseHex: string;
      saltHex: string;
      aes128Key: Hex;
      aes256Key: Hex;
    }[];
  };
  rfc3962_aesCts: {
    key: string;
    iv: string;
    vectors: { input: string; output: Hex; nextIV: Hex }[];
  };
  aesSha1_profile_supplementary: Record<
    string,
    {
      key?: string;
      keyHex?: string;
      usage?: number;
      confounder?: string;
      plaintext?: string;
      data?: string;
      input?: string;
      ciphertext?: Hex;
      checksum?: Hex;
      output?: Hex;
    }
  >;
  rfc8009: {
    stringToKey: { passphrase: string; iterations: number; salt: string } & Record<
      string,
      { key: Hex } | string | number
    >;
    keyDerivation: Record<
      string,
      { enctype: number; baseKey: string; usage: number; Kc: Hex; Ke: Hex; Ki: Hex }
    >;
    encryption: Record<
      string,
      {
        Ke: string;
        Ki: string;
        cases: {
          usage: number;
          plaintext: string;
          confounder: string;
          aesOutput: Hex;
          truncatedHmac: Hex;
          ciphertext: Hex;
        }[];
      }
    >;
    checksum: { data: string; usage: number } & Record<
      string,
      { checksumType: number; checksum: Hex } | string | number
    >;
    prf: { inputHex: string } & Record<string, { baseKey: string; output: Hex } | string>;
  };
  rc4hmac_rfc4757: {
    stringToKey_foo: Hex;
    stringToKey_Password: Hex;
    encrypt: { key: string; usage: number; confounder: string; plaintext: string; ciphertext: Hex };
    checksum: { key: string; usage: number; data: string; checksum: Hex };
  };
  gssapi: { keyUsages: Record<string, number | string> };
}

const vectors = JSON.parse(
  readFileSync(new URL('./fixtures/vectors/kerberos-crypto.json', import.meta.url), 'utf8'),
) as Vectors;

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const fromHex = (text: string): Buffer => Buffer.from(text, 'hex');

function profile(enctype: number): EncryptionProfile {
  const found = encryptionProfile(enctype);
  assert.ok(found, `profile ${enctype}`);
  return found;
}

const ENCTYPE_BY_NAME: Record<string, number> = {
  'aes128-cts-hmac-sha256-128': EncType.AES128_CTS_HMAC_SHA256_128,
  'aes256-cts-hmac-sha384-192': EncType.AES256_CTS_HMAC_SHA384_192,
};

describe('RFC 3961 n-fold (Appendix A.1)', () => {
  for (const vector of vectors.rfc3961_nfold) {
    it(`${vector.bits}-fold of ${vector.inputHex}`, () => {
      assert.equal(hex(nfold(fromHex(vector.inputHex), vector.bits / 8)), vector.hex);
    });
  }
});

describe('RFC 3962 string-to-key (Appendix B)', () => {
  const { vectors: cases } = vectors.rfc3962_stringToKey;
  for (const [index, vector] of cases.entries()) {
    const password = fromHex(vector.passphraseHex).toString('utf8');
    const salt = fromHex(vector.saltHex);
    const params = fromHex(vector.iterationParamHex);
    it(`case ${index + 1}: aes128 (${params.readUInt32BE(0)} iterations)`, () => {
      const key = profile(EncType.AES128_CTS_HMAC_SHA1_96).stringToKey(password, salt, params);
      assert.equal(key.enctype, EncType.AES128_CTS_HMAC_SHA1_96);
      assert.equal(hex(key.bytes), vector.aes128Key.hex);
    });
    it(`case ${index + 1}: aes256 (${params.readUInt32BE(0)} iterations)`, () => {
      const key = profile(EncType.AES256_CTS_HMAC_SHA1_96).stringToKey(password, salt, params);
      assert.equal(hex(key.bytes), vector.aes256Key.hex);
    });
  }

  it('accepts a text salt the same as its UTF-8 bytes', () => {
    const first = cases[0]!;
    const aes = profile(EncType.AES128_CTS_HMAC_SHA1_96);
    const params = fromHex(first.iterationParamHex);
    const fromText = aes.stringToKey('password', 'ATHENA.MIT.EDUraeburn', params);
    assert.equal(hex(fromText.bytes), first.aes128Key.hex);
  });

  it('uses 4096 iterations by default (the default s2kparams)', () => {
    assert.equal(vectors.rfc3962_stringToKey.defaultParamsHex, '00001000');
    const aes = profile(EncType.AES128_CTS_HMAC_SHA1_96);
    const implicit = aes.stringToKey('pw', 'EXAMPLE.TESTalice');
    const explicit = aes.stringToKey('pw', 'EXAMPLE.TESTalice', fromHex('00001000'));
    const other = aes.stringToKey('pw', 'EXAMPLE.TESTalice', fromHex('00001001'));
    assert.deepEqual(implicit.bytes, explicit.bytes);
    assert.notDeepEqual(implicit.bytes, other.bytes);
  });

  it('refuses malformed or impractical s2kparams with HttpAuthError', () => {
    const aes = profile(EncType.AES128_CTS_HMAC_SHA1_96);
    for (const params of ['000010', '0000100000', '00000000', '01000000', 'ffffffff']) {
      assert.throws(() => aes.stringToKey('pw', 'salt', fromHex(params)), {
        name: 'HttpAuthError',
        code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
      });
    }
  });
});

describe('RFC 3962 AES CBC-CTS (Appendix B, "chicken teriyaki")', () => {
  const { key, iv } = vectors.rfc3962_aesCts;
  for (const vector of vectors.rfc3962_aesCts.vectors) {
    const input = fromHex(vector.input);
    it(`${input.length}-byte input: output, next IV and decryption`, () => {
      const output = aesCtsEncrypt(fromHex(key), fromHex(iv), input);
      assert.equal(hex(output), vector.output.hex);
      assert.equal(hex(aesCtsNextIv(output)), vector.nextIV.hex);
      assert.deepEqual(aesCtsDecrypt(fromHex(key), fromHex(iv), output), input);
    });
  }

  it('one block is plain CBC and decrypts back', () => {
    const block = Buffer.from('exactly16bytes!!');
    const output = aesCtsEncrypt(fromHex(key), fromHex(iv), block);
    assert.equal(output.length, 16);
    assert.deepEqual(aesCtsDecrypt(fromHex(key), fromHex(iv), output), block);
    assert.deepEqual(aesCtsNextIv(output), output);
  });

  it('round-trips every length from 16 to 80 with a non-zero IV', () => {
    const nonZeroIv = Buffer.from('0123456789abcdef');
    for (let length = 16; length <= 80; length++) {
      const input = Buffer.alloc(length, length);
      for (let i = 0; i < length; i++) input[i] = (i * 7 + length) & 0xff;
      const output = aesCtsEncrypt(fromHex(key), nonZeroIv, input);
      assert.equal(output.length, length);
      assert.deepEqual(aesCtsDecrypt(fromHex(key), nonZeroIv, output), input, `length ${length}`);
    }
  });
});

describe('aes-sha1 encryption, checksum and PRF (MIT vectors)', () => {
  const supplementary = vectors.aesSha1_profile_supplementary;
  const encryptionCases: [string, number][] = [
    ['encrypt_aes128', EncType.AES128_CTS_HMAC_SHA1_96],
    ['encrypt_aes256', EncType.AES256_CTS_HMAC_SHA1_96],
  ];
  for (const [name, enctype] of encryptionCases) {
    it(name, () => {
      const vector = supplementary[name]!;
      const aes = profile(enctype);
      const key = makeKey(enctype, fromHex(vector.key!));
      const plaintext = Buffer.from(vector.plaintext!, 'utf8');
      const ciphertext = aes.encrypt(key, vector.usage!, plaintext, fromHex(vector.confounder!));
      assert.equal(hex(ciphertext), vector.ciphertext!.hex);
      assert.deepEqual(aes.decrypt(key, vector.usage!, ciphertext), plaintext);
    });
  }

  const checksumCases: [string, number, number][] = [
    [
      'checksum_hmac_sha1_96_aes128',
      EncType.AES128_CTS_HMAC_SHA1_96,
      ChecksumType.HMAC_SHA1_96_AES128,
    ],
    [
      'checksum_hmac_sha1_96_aes256',
      EncType.AES256_CTS_HMAC_SHA1_96,
      ChecksumType.HMAC_SHA1_96_AES256,
    ],
  ];
  for (const [name, enctype, cksumtype] of checksumCases) {
    it(name, () => {
      const vector = supplementary[name]!;
      const key = makeKey(enctype, fromHex(vector.key!));
      const data = Buffer.from(vector.data!, 'utf8');
      assert.equal(hex(profile(enctype).checksum(key, vector.usage!, data)), vector.checksum!.hex);
      assert.equal(hex(computeChecksum(cksumtype, key, vector.usage!, data)), vector.checksum!.hex);
      assert.equal(
        verifyChecksum(cksumtype, key, vector.usage!, data, fromHex(vector.checksum!.hex)),
        true,
      );
      assert.equal(checksumSize(cksumtype), 12);
    });
  }

  const prfCases: [string, number][] = [
    ['prf_aes128', EncType.AES128_CTS_HMAC_SHA1_96],
    ['prf_aes256', EncType.AES256_CTS_HMAC_SHA1_96],
  ];
  for (const [name, enctype] of prfCases) {
    it(name, () => {
      const vector = supplementary[name]!;
      const key = makeKey(enctype, fromHex(vector.keyHex!));
      assert.equal(hex(profile(enctype).prf!(key, fromHex(vector.input!))), vector.output!.hex);
    });
  }

  it('prf_aes128 key is string-to-key("key1", "key1")', () => {
    const vector = supplementary['prf_aes128']!;
    const key = profile(EncType.AES128_CTS_HMAC_SHA1_96).stringToKey('key1', 'key1');
    assert.equal(hex(key.bytes), vector.keyHex);
  });
});

describe('RFC 8009 (Appendix A)', () => {
  const s2k = vectors.rfc8009.stringToKey;
  for (const name of Object.keys(ENCTYPE_BY_NAME)) {
    it(`string-to-key ${name} (32768 iterations, the default)`, () => {
      const expected = (s2k[name] as { key: Hex }).key.hex;
      assert.equal(s2k.iterations, 32768);
      const key = profile(ENCTYPE_BY_NAME[name]!).stringToKey(s2k.passphrase, fromHex(s2k.salt));
      assert.equal(hex(key.bytes), expected);
    });
  }

  for (const [name, vector] of Object.entries(vectors.rfc8009.keyDerivation)) {
    it(`key derivation ${name}: Kc, Ke, Ki`, () => {
      const hash = vector.enctype === 19 ? 'sha256' : 'sha384';
      const keyBits = vector.enctype === 19 ? 128 : 256;
      const macBits = vector.enctype === 19 ? 128 : 192;
      const base = fromHex(vector.baseKey);
      const label = (suffix: number): Buffer => {
        const bytes = Buffer.alloc(5);
        bytes.writeUInt32BE(vector.usage, 0);
        bytes[4] = suffix;
        return bytes;
      };
      assert.equal(hex(kdfHmacSha2(hash, base, label(0x99), macBits)), vector.Kc.hex);
      assert.equal(hex(kdfHmacSha2(hash, base, label(0xaa), keyBits)), vector.Ke.hex);
      assert.equal(hex(kdfHmacSha2(hash, base, label(0x55), macBits)), vector.Ki.hex);
    });
  }

  for (const [name, group] of Object.entries(vectors.rfc8009.encryption)) {
    const enctype = ENCTYPE_BY_NAME[name]!;
    const base = fromHex(vectors.rfc8009.keyDerivation[name]!.baseKey);
    for (const vector of group.cases) {
      it(`encrypt ${name}, ${vector.plaintext.length / 2}-byte plaintext`, () => {
        const key = makeKey(enctype, base);
        const plaintext = fromHex(vector.plaintext);
        const ciphertext = profile(enctype).encrypt(
          key,
          vector.usage,
          plaintext,
          fromHex(vector.confounder),
        );
        assert.equal(hex(ciphertext), vector.ciphertext.hex);
        // The published intermediate values: AES output then the truncated HMAC.
        assert.equal(vector.ciphertext.hex, vector.aesOutput.hex + vector.truncatedHmac.hex);
        assert.deepEqual(profile(enctype).decrypt(key, vector.usage, ciphertext), plaintext);
      });
    }
  }

  for (const name of Object.keys(ENCTYPE_BY_NAME)) {
    it(`checksum ${name}`, () => {
      const { data, usage } = vectors.rfc8009.checksum;
      const vector = vectors.rfc8009.checksum[name] as { checksumType: number; checksum: Hex };
      const enctype = ENCTYPE_BY_NAME[name]!;
      const key = makeKey(enctype, fromHex(vectors.rfc8009.keyDerivation[name]!.baseKey));
      const actual = computeChecksum(vector.checksumType, key, usage, fromHex(data));
      assert.equal(hex(actual), vector.checksum.hex);
      assert.equal(profile(enctype).checksumType, vector.checksumType);
      assert.equal(checksumSize(vector.checksumType), vector.checksum.hex.length / 2);
      assert.equal(
        verifyChecksum(
          vector.checksumType,
          key,
          usage,
          fromHex(data),
          fromHex(vector.checksum.hex),
        ),
        true,
      );
    });

    it(`PRF ${name}`, () => {
      const vector = vectors.rfc8009.prf[name] as { baseKey: string; output: Hex };
      const enctype = ENCTYPE_BY_NAME[name]!;
      const key = makeKey(enctype, fromHex(vector.baseKey));
      assert.equal(
        hex(profile(enctype).prf!(key, fromHex(vectors.rfc8009.prf.inputHex))),
        vector.output.hex,
      );
    });
  }
});

describe('RC4-HMAC (RFC 4757; MIT vectors)', () => {
  const rc4 = vectors.rc4hmac_rfc4757;

  it('string-to-key is MD4 of the UTF-16LE password, ignoring the salt', () => {
    const profile23 = profile(EncType.RC4_HMAC);
    assert.equal(hex(profile23.stringToKey('foo', 'ignored').bytes), rc4.stringToKey_foo.hex);
    assert.equal(hex(profile23.stringToKey('Password', '').bytes), rc4.stringToKey_Password.hex);
    assert.equal(hex(md4(Buffer.from('Password', 'utf16le'))), rc4.stringToKey_Password.hex);
  });

  it('encrypts the MIT vector and decrypts it back', () => {
    const { key, usage, confounder, plaintext, ciphertext } = rc4.encrypt;
    const rc4Key = makeKey(EncType.RC4_HMAC, fromHex(key));
    const plain = Buffer.from(plaintext, 'utf8');
    const output = profile(EncType.RC4_HMAC).encrypt(rc4Key, usage, plain, fromHex(confounder));
    assert.equal(hex(output), ciphertext.hex);
    assert.deepEqual(profile(EncType.RC4_HMAC).decrypt(rc4Key, usage, output), plain);
  });

  it('computes the HMAC-MD5 (-138) checksum vector', () => {
    const { key, usage, data, checksum } = rc4.checksum;
    const rc4Key = makeKey(EncType.RC4_HMAC, fromHex(key));
    const input = Buffer.from(data, 'utf8');
    assert.equal(hex(computeChecksum(ChecksumType.HMAC_MD5, rc4Key, usage, input)), checksum.hex);
    assert.equal(hex(profile(EncType.RC4_HMAC).checksum(rc4Key, usage, input)), checksum.hex);
    assert.equal(
      verifyChecksum(ChecksumType.HMAC_MD5, rc4Key, usage, input, fromHex(checksum.hex)),
      true,
    );
    assert.equal(checksumSize(ChecksumType.HMAC_MD5), 16);
  });

  it('maps AS-REP usage 3 to 8 like TGS-REP (RFC 4757 §3)', () => {
    const rc4Key = makeKey(EncType.RC4_HMAC, fromHex(rc4.encrypt.key));
    const rc4Profile = profile(EncType.RC4_HMAC);
    const plain = Buffer.from('enc-part');
    const conf = fromHex(rc4.encrypt.confounder);
    const asRep = rc4Profile.encrypt(rc4Key, KeyUsage.AS_REP_ENCPART, plain, conf);
    const tgsRep = rc4Profile.encrypt(rc4Key, KeyUsage.TGS_REP_ENCPART_SESSION, plain, conf);
    const authenticator = rc4Profile.encrypt(rc4Key, KeyUsage.AP_REQ_AUTHENTICATOR, plain, conf);
    assert.deepEqual(asRep, tgsRep);
    assert.notDeepEqual(asRep, authenticator);
  });

  it('keeps usage 9 as 9 (RFC 4757 erratum, as MIT) and still decrypts the old 8 mapping', () => {
    const rc4Key = makeKey(EncType.RC4_HMAC, fromHex(rc4.encrypt.key));
    const rc4Profile = profile(EncType.RC4_HMAC);
    const plain = Buffer.from('tgs-rep enc-part');
    const conf = fromHex(rc4.encrypt.confounder);
    const subkeyPart = rc4Profile.encrypt(rc4Key, KeyUsage.TGS_REP_ENCPART_SUBKEY, plain, conf);
    const sessionPart = rc4Profile.encrypt(rc4Key, KeyUsage.TGS_REP_ENCPART_SESSION, plain, conf);
    assert.notDeepEqual(subkeyPart, sessionPart);
    assert.deepEqual(
      rc4Profile.decrypt(rc4Key, KeyUsage.TGS_REP_ENCPART_SUBKEY, subkeyPart),
      plain,
    );
    assert.deepEqual(
      rc4Profile.decrypt(rc4Key, KeyUsage.TGS_REP_ENCPART_SUBKEY, sessionPart),
      plain,
    );
    // The fallback is specific to usage 9: usage 8 does not accept a usage-9 ciphertext.
    assert.throws(() => rc4Profile.decrypt(rc4Key, KeyUsage.TGS_REP_ENCPART_SESSION, subkeyPart), {
      code: 'ERR_HTTPAUTH_KRB_MODIFIED',
    });
  });
});

describe('registry', () => {
  it('key usages match RFC 4120 §7.5.1 / RFC 4121 §2 as listed in the vectors', () => {
    const usages = vectors.gssapi.keyUsages;
    assert.equal(KeyUsage.AS_REP_ENCPART, usages['AS_REP_ENCPART']);
    assert.equal(KeyUsage.TGS_REP_ENCPART_SESSION, usages['TGS_REP_ENCPART_SESSION_KEY']);
    assert.equal(KeyUsage.AP_REQ_AUTHENTICATOR_CKSUM, usages['AP_REQ_AUTHENTICATOR_CHKSUM']);
    assert.equal(KeyUsage.AP_REQ_AUTHENTICATOR, usages['AP_REQ_AUTHENTICATOR']);
    assert.equal(KeyUsage.AP_REP_ENCPART, usages['AP_REP_ENCPART']);
    assert.equal(KeyUsage.KRB_PRIV_ENCPART, usages['KRB_PRIV_ENCPART']);
    assert.equal(KeyUsage.KRB_CRED_ENCPART, usages['KRB_CRED_ENCPART']);
    assert.equal(KeyUsage.KRB_SAFE_CKSUM, usages['KRB_SAFE_CHKSUM']);
    assert.equal(KeyUsage.GSS_ACCEPTOR_SEAL, usages['KG_USAGE_ACCEPTOR_SEAL']);
    assert.equal(KeyUsage.GSS_ACCEPTOR_SIGN, usages['KG_USAGE_ACCEPTOR_SIGN']);
    assert.equal(KeyUsage.GSS_INITIATOR_SEAL, usages['KG_USAGE_INITIATOR_SEAL']);
    assert.equal(KeyUsage.GSS_INITIATOR_SIGN, usages['KG_USAGE_INITIATOR_SIGN']);
  });

  it('offers no DES enctype and no exportable RC4', () => {
    for (const enctype of [1, 2, 3, 5, 7, 16, 24, 0, -1, 25, 26]) {
      assert.equal(encryptionProfile(enctype), undefined, `enctype ${enctype}`);
      assert.throws(() => makeKey(enctype, Buffer.alloc(16)), {
        code: 'ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED',
      });
    }
  });

  it('profiles describe themselves consistently', () => {
    const expected: [number, string, number, number][] = [
      [17, 'aes128-cts-hmac-sha1-96', 16, 15],
      [18, 'aes256-cts-hmac-sha1-96', 32, 16],
      [19, 'aes128-cts-hmac-sha256-128', 16, 19],
      [20, 'aes256-cts-hmac-sha384-192', 32, 20],
      [23, 'rc4-hmac', 16, -138],
    ];
    for (const [enctype, name, keyBytes, checksumType] of expected) {
      const found = profile(enctype);
      assert.equal(found.enctype, enctype);
      assert.equal(found.name, name);
      assert.equal(found.keyBytes, keyBytes);
      assert.equal(found.checksumType, checksumType);
    }
  });
});
