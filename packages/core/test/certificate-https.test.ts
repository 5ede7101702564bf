// End to end: a real node:https server asking for client certificates (requestCert, TLS 1.3)
// calls the certificate package from its request handler with the chain of the TLS connection;
// Debian's curl presents certificates from the openssl-made internal CA with --cert/--key.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import {
  clientCertificate,
  peerChain,
  type ConnectionSecurityPackage,
} from '../src/certificate/index.js';
import { statusForKind } from '../src/errors.js';
import { TEST_SID, createTestPki, type Issued } from './certificate-pki.js';

const run = promisify(execFile);
const pki = createTestPki();
const servers: Server[] = [];
after(() => {
  for (const server of servers) server.close();
  pki.remove();
});

function options(resolve?: (sid: string) => string) {
  return {
    ca: pki.rootPem,
    revocation: { crlFiles: [pki.rootCrl, pki.intermediateCrl] },
    allowWeakMappings: true,
    mapping: [{ type: 'sid', ...(resolve ? { resolve } : {}) }, { type: 'upn' }],
  } as const;
}

/** An HTTPS server whose handler answers with what the package decided about the connection. */
async function serve(pkg: ConnectionSecurityPackage, closeEach = false): Promise<number> {
  const server = createServer(
    {
      key: readFileSync(pki.server.key),
      cert: readFileSync(pki.server.cert),
      ca: pki.rootPem, // the CA names sent in the CertificateRequest
      requestCert: true,
      rejectUnauthorized: false, // the package decides, so a bad certificate gets a stable code
      minVersion: 'TLSv1.3',
    },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const chain = peerChain(socket.getPeerCertificate(true));
      void pkg.authenticateConnection(chain, Date.now(), socket).then((result) => {
        const body =
          result.type === 'complete'
            ? {
                name: result.principal.name,
                sid: result.principal.userSid,
                ...result.principal.certificate,
              }
            : { code: result.type === 'reject' ? result.error.code : 'none' };
        res.statusCode =
          result.type === 'complete'
            ? 200
            : result.type === 'reject'
              ? statusForKind(result.error.kind)
              : 401;
        res.setHeader('content-type', 'application/json');
        if (closeEach) res.setHeader('connection', 'close');
        res.end(
          `${JSON.stringify({ ...body, protocol: socket.getProtocol(), port: socket.remotePort, sent: chain.length, resumed: socket.isSessionReused() })}\n`,
        );
      });
    },
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

async function curl(port: number, cert: Issued | undefined, paths = ['/']): Promise<Answer[]> {
  const credentials = cert === undefined ? [] : ['--cert', cert.fullChain, '--key', cert.key];
  const urls = paths.map((path) => `https://127.0.0.1:${port}${path}`);
  const { stdout } = await run('curl', [
    '-s',
    '--cacert',
    join(pki.dir, 'root', 'ca.pem'),
    '-w',
    '%{http_code}\n',
    ...credentials,
    ...urls,
  ]);
  const lines = stdout.trim().split('\n');
  const answers: Answer[] = [];
  for (let i = 0; i < lines.length; i += 2) {
    answers.push({
      body: JSON.parse(lines[i] as string) as Record<string, unknown>,
      status: Number(lines[i + 1]),
    });
  }
  return answers;
}

describe('client certificates over node:https with curl', () => {
  it('authenticates the SID certificate strongly and the UPN one weakly, over TLS 1.3', async () => {
    const port = await serve(clientCertificate(options()));
    const [bob] = await curl(port, pki.certs.sid);
    assert.equal(bob?.status, 200);
    assert.deepEqual(
      [
        bob?.body.name,
        bob?.body.sid,
        bob?.body.strength,
        bob?.body.rule,
        bob?.body.protocol,
        bob?.body.sent,
      ],
      // curl sent the leaf and the intermediate; Node completes the chain with the root it trusts.
      ['bob@example.test', TEST_SID, 'strong', 'sid', 'TLSv1.3', 3],
    );
    const [alice] = await curl(port, pki.certs.upn);
    assert.deepEqual(
      [alice?.status, alice?.body.name, alice?.body.strength, alice?.body.rule],
      [200, 'alice@example.test', 'weak', 'upn'],
    );
  });

  it('answers each bad certificate with its stable code', async () => {
    const port = await serve(clientCertificate(options()));
    const cases: [Issued, number, string][] = [
      [pki.certs.revoked, 401, 'ERR_HTTPAUTH_CERT_REVOKED'],
      [pki.certs.expired, 401, 'ERR_HTTPAUTH_CERT_EXPIRED'],
      [pki.certs.noClientAuth, 401, 'ERR_HTTPAUTH_CERT_USAGE'],
      [pki.certs.unknownCa, 401, 'ERR_HTTPAUTH_CERT_UNTRUSTED'],
      [pki.certs.email, 401, 'ERR_HTTPAUTH_CERT_UNMAPPED'],
    ];
    for (const [cert, status, code] of cases) {
      const [answer] = await curl(port, cert);
      assert.deepEqual([answer?.status, answer?.body.code], [status, code], cert.cert);
    }
  });

  it('answers none to a client without a certificate (the other packages would run)', async () => {
    const port = await serve(clientCertificate(options()));
    const [answer] = await curl(port, undefined);
    assert.deepEqual([answer?.status, answer?.body.code, answer?.body.sent], [401, 'none', 0]);
  });

  it('refuses with 503 when revocation data is missing (fail-closed)', async () => {
    const port = await serve(
      clientCertificate({ ...options(), revocation: { crlFiles: [pki.rootCrl] } }),
    );
    const [answer] = await curl(port, pki.certs.sid);
    assert.deepEqual(
      [answer?.status, answer?.body.code],
      [503, 'ERR_HTTPAUTH_CERT_REVOCATION_UNAVAILABLE'],
    );
  });

  it('accepts a resumed TLS session, where the client presents its certificate alone', async () => {
    const port = await serve(clientCertificate(options()), true);
    const answers = await curl(port, pki.certs.sid, ['/a', '/b']);
    assert.deepEqual(
      answers.map((a) => [a.status, a.body.name, a.body.resumed, a.body.sent]),
      [
        [200, 'bob@example.test', false, 3],
        [200, 'bob@example.test', true, 1],
      ],
    );
  });

  it('maps once for the requests of a kept-alive connection', async () => {
    let lookups = 0;
    const port = await serve(clientCertificate(options(() => `EXAMPLE\\bob-${++lookups}`)));
    const answers = await curl(port, pki.certs.sid, ['/a', '/b', '/c']);
    assert.equal(answers.length, 3);
    assert.deepEqual(
      answers.map((a) => a.body.name),
      ['EXAMPLE\\bob-1', 'EXAMPLE\\bob-1', 'EXAMPLE\\bob-1'],
    );
    assert.equal(new Set(answers.map((a) => a.body.port)).size, 1, 'one connection');
    assert.equal(lookups, 1);
  });
});
