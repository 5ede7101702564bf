// The DER decoders of the certificate package (certificate, extensions, CRL) against certificates
// and CRLs the openssl CLI made, against hand-assembled vectors, and with fast-check on truncated,
// oversized, mutated and random input: they return or throw ERR_HTTPAUTH_ASN1_MALFORMED, nothing
// else (no RangeError, no TypeError, no hang).
import { strict as assert } from 'node:assert';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { Tag, decodeDer } from '../src/asn1/der.js';
import { crlSignedBy, parseCrl } from '../src/certificate/crl.js';
import { decodeCrlFile } from '../src/certificate/crl-source.js';
import {
  OID_CLIENT_AUTH,
  OID_EXT_KEY_USAGE,
  OID_KEY_USAGE,
  OID_NTDS_CA_SECURITY_EXT,
  OID_SUBJECT_ALT_NAME,
  decodeBasicConstraints,
  decodeExtKeyUsage,
  decodeKeyUsage,
  decodeSidExtension,
  decodeSubjectAltName,
} from '../src/certificate/extensions.js';
import { parseCertificate, readX509Time } from '../src/certificate/x509.js';
import { isHttpAuthError } from '../src/errors.js';
import { TEST_SID, createTestPki } from './certificate-pki.js';

const pki = createTestPki();
after(() => pki.remove());
const pemToDer = (path: string) =>
  Buffer.from(readFileSync(path, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
const intermediateCrlDer = pemToDer(pki.intermediateCrl);
const extension = (der: Buffer, oid: string): Buffer => {
  const value = parseCertificate(der).extensions.get(oid)?.value;
  assert.ok(value, `extension ${oid} present`);
  return value;
};

/** Assert `decode` returns or throws only the DER error. */
function onlyMalformed(decode: (input: Buffer) => unknown, input: Buffer): void {
  try {
    decode(input);
  } catch (error) {
    assert.ok(isHttpAuthError(error), `threw a non-HttpAuthError: ${String(error)}`);
    assert.equal(error.code, 'ERR_HTTPAUTH_ASN1_MALFORMED');
  }
}

const time = (tag: number, text: string) =>
  readX509Time(decodeDer(Buffer.concat([Buffer.from([tag, text.length]), Buffer.from(text)]), tag));

describe('X.509 Time (RFC 5280 §4.1.2.5)', () => {
  it('reads UTCTime with the 1950-2049 window and GeneralizedTime', () => {
    assert.equal(time(0x17, '491231235959Z'), Date.UTC(2049, 11, 31, 23, 59, 59));
    assert.equal(time(0x17, '500101000000Z'), Date.UTC(1950, 0, 1));
    assert.equal(time(Tag.GENERALIZED_TIME, '20500101000000Z'), Date.UTC(2050, 0, 1));
  });

  it('refuses local times, fractions, impossible dates and the wrong tag', () => {
    for (const [tag, text] of [
      [0x17, '491231235959'],
      [0x17, '4912312359Z'],
      [Tag.GENERALIZED_TIME, '20500101000000.5Z'],
      [Tag.GENERALIZED_TIME, '20230230000000Z'],
      [Tag.GENERALIZED_TIME, '20231301000000Z'],
      [0x0c, '20500101000000Z'],
    ] as const) {
      assert.throws(() => time(tag, text), { code: 'ERR_HTTPAUTH_ASN1_MALFORMED' }, text);
    }
  });
});

describe('certificate decoding', () => {
  it('agrees with node:crypto on serial, validity and names of openssl certificates', () => {
    for (const issued of Object.values(pki.certs)) {
      const parsed = parseCertificate(issued.der);
      const x509 = new X509Certificate(issued.der);
      assert.equal(parsed.serialHex, x509.serialNumber.replace(/^(00)+(?=..)/, ''));
      assert.equal(parsed.notBefore, Date.parse(x509.validFrom));
      assert.equal(parsed.notAfter, Date.parse(x509.validTo));
      assert.ok(
        parsed.issuerDer.equals(parseCertificate(pki.intermediate.der).subjectDer) ||
          issued === pki.certs.unknownCa,
      );
    }
  });

  it('reads keyUsage, extendedKeyUsage and basicConstraints', () => {
    const leaf = pki.certs.upn.der;
    assert.equal(decodeKeyUsage(extension(leaf, OID_KEY_USAGE)), 1); // digitalSignature only
    assert.deepEqual(decodeExtKeyUsage(extension(leaf, OID_EXT_KEY_USAGE)), [OID_CLIENT_AUTH]);
    assert.equal(
      decodeKeyUsage(extension(pki.intermediate.der, OID_KEY_USAGE)),
      (1 << 5) | (1 << 6),
    );
    assert.deepEqual(decodeBasicConstraints(extension(pki.intermediate.der, '2.5.29.19')), {
      ca: true,
      pathLength: 0,
    });
    assert.deepEqual(decodeBasicConstraints(Buffer.from('3000', 'hex')), { ca: false });
    assert.deepEqual(decodeBasicConstraints(Buffer.from('30060101ff020103', 'hex')), {
      ca: true,
      pathLength: 3,
    });
    // DER forbids encoding the DEFAULT FALSE, and a negative path length means nothing.
    assert.throws(() => decodeBasicConstraints(Buffer.from('3003010100', 'hex')), {
      code: 'ERR_HTTPAUTH_ASN1_MALFORMED',
    });
    assert.throws(() => decodeBasicConstraints(Buffer.from('30060101ff0201ff', 'hex')), {
      code: 'ERR_HTTPAUTH_ASN1_MALFORMED',
    });
  });

  it('reads the UPN otherName and the rfc822Name of the subjectAltName', () => {
    assert.deepEqual(decodeSubjectAltName(extension(pki.certs.upn.der, OID_SUBJECT_ALT_NAME)), {
      upns: ['alice@example.test'],
      emails: [],
    });
    assert.deepEqual(decodeSubjectAltName(extension(pki.certs.email.der, OID_SUBJECT_ALT_NAME)), {
      upns: [],
      emails: ['carol@example.test'],
    });
    // Hand-assembled: otherName UPN "a@b" (UTF8String) then dNSName "x" (skipped).
    const san = Buffer.from(
      '3018' + 'a013' + '060a2b060104018237140203' + 'a0050c03614062' + '820178',
      'hex',
    );
    assert.deepEqual(decodeSubjectAltName(san), { upns: ['a@b'], emails: [] });
  });

  it('reads the SID extension as MS-WCCE §2.2.2.7.7.4 lays it out', () => {
    assert.equal(
      decodeSidExtension(extension(pki.certs.sid.der, OID_NTDS_CA_SECURITY_EXT)),
      TEST_SID,
    );
    // The bytes AD CS writes: SEQUENCE { [0] { OID 1.3.6.1.4.1.311.25.2.1, [0] { OCTET STRING "S-1-5-21-1-2-3-500" } } }
    const sid = Buffer.from('S-1-5-21-1-2-3-500', 'latin1');
    const inner = Buffer.concat([
      Buffer.from('060a2b060104018237190201', 'hex'),
      Buffer.from([0xa0, sid.length + 2, 0x04, sid.length]),
      sid,
    ]);
    const other = Buffer.concat([Buffer.from([0xa0, inner.length]), inner]);
    const value = Buffer.concat([Buffer.from([0x30, other.length]), other]);
    assert.equal(decodeSidExtension(value), 'S-1-5-21-1-2-3-500');
    // Two SIDs, or text that is no SID, name no account.
    const twice = Buffer.concat([Buffer.from([0x30, other.length * 2]), other, other]);
    assert.throws(() => decodeSidExtension(twice), { code: 'ERR_HTTPAUTH_ASN1_MALFORMED' });
    const bad = Buffer.from(value.toString('latin1').replace('S-1-5', 'X-1-5'), 'latin1');
    assert.throws(() => decodeSidExtension(bad), { code: 'ERR_HTTPAUTH_ASN1_MALFORMED' });
  });
});

describe('CRL decoding and signature (RFC 5280 §5)', () => {
  it('lists the revoked serial and verifies under the issuer key only', () => {
    const crl = parseCrl(intermediateCrlDer);
    assert.ok(crl.revokedSerials.has(parseCertificate(pki.certs.revoked.der).serialHex));
    assert.ok(!crl.revokedSerials.has(parseCertificate(pki.certs.upn.der).serialHex));
    assert.ok(crl.nextUpdate !== undefined && crl.nextUpdate > crl.thisUpdate);
    assert.ok(crl.issuerDer.equals(parseCertificate(pki.intermediate.der).subjectDer));
    const intermediateKey = new X509Certificate(pki.intermediate.der).publicKey;
    assert.equal(crlSignedBy(crl, intermediateKey), true);
    assert.equal(crlSignedBy(crl, new X509Certificate(pki.rootPem).publicKey), false);
    assert.equal(crlSignedBy(crl, generateKeyPairSync('ed25519').publicKey), false);
  });

  it('refuses a tampered list', () => {
    const crl = parseCrl(intermediateCrlDer);
    const tampered = Buffer.from(crl.tbsDer);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1;
    const intermediateKey = new X509Certificate(pki.intermediate.der).publicKey;
    assert.equal(crlSignedBy({ ...crl, tbsDer: tampered }, intermediateKey), false);
  });

  it('reads PEM files with several lists and DER files', () => {
    const pem = readFileSync(pki.rootCrl, 'utf8') + readFileSync(pki.intermediateCrl, 'utf8');
    assert.equal(decodeCrlFile(Buffer.from(pem)).length, 2);
    assert.equal(decodeCrlFile(intermediateCrlDer).length, 1);
    assert.throws(() => decodeCrlFile(Buffer.from('-----BEGIN nothing')), {
      code: 'ERR_HTTPAUTH_ASN1_MALFORMED',
    });
  });
});

describe('fast-check: decoders only throw ERR_HTTPAUTH_ASN1_MALFORMED', () => {
  const decoders: [string, (input: Buffer) => unknown, Buffer][] = [
    ['certificate', parseCertificate, pki.certs.sid.der],
    ['CRL', parseCrl, intermediateCrlDer],
    ['subjectAltName', decodeSubjectAltName, extension(pki.certs.upn.der, OID_SUBJECT_ALT_NAME)],
    ['SID extension', decodeSidExtension, extension(pki.certs.sid.der, OID_NTDS_CA_SECURITY_EXT)],
    ['keyUsage', decodeKeyUsage, extension(pki.certs.upn.der, OID_KEY_USAGE)],
    ['extendedKeyUsage', decodeExtKeyUsage, extension(pki.certs.upn.der, OID_EXT_KEY_USAGE)],
    ['basicConstraints', decodeBasicConstraints, extension(pki.intermediate.der, '2.5.29.19')],
  ];

  for (const [name, decode, sample] of decoders) {
    it(`${name}: every truncation is refused`, () => {
      for (let length = 0; length < sample.length; length++) {
        assert.throws(() => decode(sample.subarray(0, length)), {
          code: 'ERR_HTTPAUTH_ASN1_MALFORMED',
        });
      }
    });

    it(`${name}: trailing bytes and oversized lengths are refused`, () => {
      assert.throws(() => decode(Buffer.concat([sample, Buffer.from([0])])), {
        code: 'ERR_HTTPAUTH_ASN1_MALFORMED',
      });
      const huge = Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x00]);
      assert.throws(() => decode(huge), { code: 'ERR_HTTPAUTH_ASN1_MALFORMED' });
      assert.throws(() => decode(Buffer.alloc(40 * 1024 * 1024, 0x30)), {
        code: 'ERR_HTTPAUTH_ASN1_MALFORMED',
      });
    });

    it(`${name}: mutated and random input`, () => {
      fc.assert(
        fc.property(fc.nat(sample.length - 1), fc.integer({ min: 1, max: 255 }), (at, xor) => {
          const mutated = Buffer.from(sample);
          mutated[at] = (mutated[at] as number) ^ xor;
          onlyMalformed(decode, mutated);
        }),
        { numRuns: 300 },
      );
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) =>
          onlyMalformed(decode, Buffer.from(bytes)),
        ),
        { numRuns: 300 },
      );
    });
  }
});
