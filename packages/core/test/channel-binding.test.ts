import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { readFile } from 'node:fs/promises';
import {
  channelBindingHash,
  endPointHashAlgorithm,
  tlsServerEndPoint,
} from '../src/channel-binding.js';
import { selfSignedCertificate } from '../../../test/support/tls.js';

const vectors = JSON.parse(
  await readFile(new URL('./fixtures/vectors/ntlm.json', import.meta.url), 'utf8'),
) as { channelBindingsAndMic: Record<string, { hex: string }> };

function makeCertificate(keyArgs: string[], digest: string): Buffer {
  return selfSignedCertificate({ keyArgs, digest }).der;
}

describe('channel bindings', () => {
  it('hashes the gss_channel_bindings_struct as the published example does', () => {
    const cb = vectors.channelBindingsAndMic;
    const applicationData = Buffer.from(cb.applicationData!.hex, 'hex');
    assert.equal(channelBindingHash(applicationData).toString('hex'), cb.channelBindingHash!.hex);
    // The struct layout itself: 16 zero bytes, LE length, data.
    const struct = Buffer.from(cb.gssChannelBindingsStruct!.hex, 'hex');
    assert.equal(createHash('md5').update(struct).digest('hex'), cb.channelBindingHash!.hex);
  });

  it('picks SHA-256 for SHA-1 and MD5-signed certificates and the signature hash otherwise (RFC 5929 §4.1)', () => {
    const rsa = ['-newkey', 'rsa:2048'];
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
    assert.equal(endPointHashAlgorithm(makeCertificate(rsa, 'sha1')), 'sha256');
    assert.equal(endPointHashAlgorithm(makeCertificate(rsa, 'sha256')), 'sha256');
    assert.equal(endPointHashAlgorithm(makeCertificate(rsa, 'sha384')), 'sha384');
    assert.equal(endPointHashAlgorithm(makeCertificate(ec, 'sha512')), 'sha512');
  });

  it('builds tls-server-end-point application data from DER or PEM', () => {
    const der = makeCertificate(['-newkey', 'rsa:2048'], 'sha384');
    const expected = Buffer.concat([
      Buffer.from('tls-server-end-point:'),
      createHash('sha384').update(der).digest(),
    ]);
    assert.deepEqual(tlsServerEndPoint(der), expected);
    const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
    assert.deepEqual(tlsServerEndPoint(pem), expected);
  });
});
