// OCSP (RFC 6960) against openssl's own responder (`openssl ocsp -index`), serving the
// intermediate CA's database through a delegated responder certificate: good and revoked
// answers, the answer cache, a responder that never answers (timeout), one that refuses
// connections (the certificate's authorityInfoAccess), one signing with a key the issuer never
// delegated to; the request compared with openssl's own, and the response decoder under fast-check.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { clientCertificate } from '../src/certificate/index.js';
import { loadCertificate } from '../src/certificate/chain.js';
import { OcspClient, ocspUrls } from '../src/certificate/ocsp-client.js';
import { certId, encodeOcspRequest, parseOcspResponse } from '../src/certificate/ocsp.js';
import { isHttpAuthError } from '../src/errors.js';
import { createTestPki, type Issued } from './certificate-pki.js';

const pki = createTestPki();
const children: ChildProcess[] = [];
const servers: Server[] = [];
const sockets: Socket[] = [];
after(() => {
  for (const child of children) child.kill();
  for (const socket of sockets) socket.destroy();
  for (const server of servers) server.close();
  pki.remove();
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** `openssl ocsp` as a responder for the intermediate, signing as `signer`. */
async function responder(signer: Issued): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    'openssl',
    [
      'ocsp',
      '-index',
      pki.intermediateIndex,
      '-port',
      String(port),
      '-rsigner',
      signer.cert,
      '-rkey',
      signer.key,
      '-CA',
      pki.intermediate.cert,
      '-ndays',
      '1',
      '-ignore_err',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  // Ready once it says so (a probe connection would sit in its single-threaded accept loop).
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('waiting for OCSP client connections')) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', () => reject(new Error(`openssl ocsp exited: ${seen}`)));
  });
  return { url: `http://127.0.0.1:${port}/`, child };
}

const leaf = (cert: Issued) => loadCertificate(cert.der);
const intermediate = loadCertificate(pki.intermediate.der);
const now = Date.now();

function withOcsp(ocsp: object) {
  return clientCertificate({
    ca: pki.rootPem,
    // The root's CRL covers the intermediate; nothing covers the leaves but OCSP.
    revocation: { crlFiles: [pki.rootCrl], ocsp },
    allowWeakMappings: true,
    mapping: [{ type: 'upn' }, { type: 'email' }],
  });
}

describe('OCSP against openssl ocsp', async () => {
  const delegated = await responder(pki.ocspResponder);

  it('sends the request openssl sends (SHA-1 CertID, no nonce)', () => {
    const ours = encodeOcspRequest(certId(intermediate.x509, leaf(pki.certs.upn).parsed.serialHex));
    const reqout = join(pki.dir, 'request.der');
    pki.openssl([
      'ocsp',
      '-issuer',
      pki.intermediate.cert,
      '-cert',
      pki.certs.upn.cert,
      '-no_nonce',
      '-reqout',
      reqout,
    ]);
    assert.equal(ours.toString('hex'), readFileSync(reqout).toString('hex'));
  });

  it('accepts a good certificate and refuses a revoked one', async () => {
    const pkg = withOcsp({ url: delegated.url });
    const good = await pkg.authenticateConnection(pki.chain(pki.certs.upn), now);
    assert.equal(good.type === 'complete' && good.principal.name, 'alice@example.test');
    const revoked = await pkg.authenticateConnection(pki.chain(pki.certs.revoked), now);
    assert.equal(revoked.type === 'reject' && revoked.error.code, 'ERR_HTTPAUTH_CERT_REVOKED');
  });

  it('refuses a response signed by a key the issuer did not delegate to', async () => {
    const rogue = await responder(pki.unknownRoot);
    const client = new OcspClient({ url: rogue.url });
    assert.deepEqual(await client.status(leaf(pki.certs.upn), intermediate, now), {
      status: 'unavailable',
      reason: 'unreachable',
    });
    const pkg = withOcsp({ url: rogue.url });
    const result = await pkg.authenticateConnection(pki.chain(pki.certs.upn), now);
    assert.equal(
      result.type === 'reject' && result.error.code,
      'ERR_HTTPAUTH_CERT_REVOCATION_UNAVAILABLE',
    );
  });

  it('caches answers until nextUpdate: the responder can go away', async () => {
    const own = await responder(pki.ocspResponder);
    const client = new OcspClient({ url: own.url });
    const first = await client.status(leaf(pki.certs.sid), intermediate, now);
    assert.equal(first.status, 'good');
    own.child.kill();
    await new Promise((resolve) => own.child.once('exit', resolve));
    assert.equal(
      (await client.status(leaf(pki.certs.sid), intermediate, now + 60_000)).status,
      'good',
    );
    // Not asked before: no answer now.
    assert.deepEqual(await client.status(leaf(pki.certs.email), intermediate, now), {
      status: 'unavailable',
      reason: 'unreachable',
    });
    // A day and more later the cached answer is past its nextUpdate.
    assert.equal(
      (await client.status(leaf(pki.certs.sid), intermediate, now + 2 * 86_400_000)).status,
      'unavailable',
    );
  });
});

describe('OCSP failures', () => {
  it('gives up on a responder that never answers after the timeout, and fails closed', async () => {
    const silent = createServer((socket) => sockets.push(socket)); // accepts, never answers
    servers.push(silent);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as { port: number }).port}/`;
    const started = Date.now();
    const client = new OcspClient({ url, timeoutMs: 300 });
    assert.equal(
      (await client.status(leaf(pki.certs.upn), intermediate, now)).status,
      'unavailable',
    );
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 250 && elapsed < 3000, `took ${elapsed} ms`);
    const result = await withOcsp({ url, timeoutMs: 300 }).authenticateConnection(
      pki.chain(pki.certs.upn),
      now,
    );
    assert.equal(result.type === 'reject' && result.error.kind, 'unavailable');
  });

  it("asks the certificate's authorityInfoAccess responder when no url is configured", async () => {
    assert.deepEqual(ocspUrls(new X509Certificate(pki.certs.withAia.der)), ['http://127.0.0.1:9/']);
    assert.deepEqual(ocspUrls(new X509Certificate(pki.certs.upn.der)), []);
    const pkg = withOcsp({ timeoutMs: 1000 });
    const refused = await pkg.authenticateConnection(pki.chain(pki.certs.withAia), now);
    assert.equal(
      refused.type === 'reject' && refused.error.code,
      'ERR_HTTPAUTH_CERT_REVOCATION_UNAVAILABLE',
    );
    const none = await pkg.authenticateConnection(pki.chain(pki.certs.upn), now);
    assert.equal(
      none.type === 'reject' && none.error.code,
      'ERR_HTTPAUTH_CERT_REVOCATION_UNAVAILABLE',
    );
  });
});

describe('fast-check: the OCSP response decoder only throws ERR_HTTPAUTH_ASN1_MALFORMED', async () => {
  const { url } = await responder(pki.ocspResponder);
  const respout = join(pki.dir, 'response.der');
  pki.openssl([
    'ocsp',
    '-issuer',
    pki.intermediate.cert,
    '-cert',
    pki.certs.upn.cert,
    '-url',
    url,
    '-no_nonce',
    '-noverify',
    '-respout',
    respout,
  ]);
  const sample = readFileSync(respout);

  const onlyMalformed = (input: Buffer) => {
    try {
      parseOcspResponse(input);
    } catch (error) {
      assert.ok(isHttpAuthError(error), String(error));
      assert.equal(error.code, 'ERR_HTTPAUTH_ASN1_MALFORMED');
    }
  };

  it('decodes the sample, and refuses every truncation and trailing bytes', () => {
    const basic = parseOcspResponse(sample);
    assert.equal(basic?.responses[0]?.status, 'good');
    assert.equal(basic?.certificates.length, 1); // the delegated responder's certificate
    for (let length = 0; length < sample.length; length++) {
      assert.throws(() => parseOcspResponse(sample.subarray(0, length)), {
        code: 'ERR_HTTPAUTH_ASN1_MALFORMED',
      });
    }
    assert.throws(() => parseOcspResponse(Buffer.concat([sample, Buffer.from([0])])), {
      code: 'ERR_HTTPAUTH_ASN1_MALFORMED',
    });
    assert.throws(() => parseOcspResponse(Buffer.alloc(128 * 1024, 0x30)), {
      code: 'ERR_HTTPAUTH_ASN1_MALFORMED',
    });
    // tryLater (3), without responseBytes: no answer, not an error.
    assert.equal(parseOcspResponse(Buffer.from('30030a0103', 'hex')), undefined);
  });

  it('mutated and random input', () => {
    fc.assert(
      fc.property(fc.nat(sample.length - 1), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const mutated = Buffer.from(sample);
        mutated[at] = (mutated[at] as number) ^ xor;
        onlyMalformed(mutated);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => onlyMalformed(Buffer.from(bytes))),
      { numRuns: 300 },
    );
  });
});
