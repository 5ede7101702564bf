// The Node glue hands the certificate package the TLS connection's client chain (issue 17):
// HTTP/1.1 over node:https and HTTP/2 over node:http2 (the chain belongs to the session's
// socket), and never behind a trusted proxy.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { request as httpsRequest, createServer, type Server } from 'node:https';
import { connect, createSecureServer, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { resolveAdapterOptions } from '../src/node/options.js';
import { toAuthRequest } from '../src/node/request.js';
import type { NodeRequest } from '../src/node/message.js';
import type { AuthRequest } from '../src/security-package.js';
import { createTestPki, type Issued } from './certificate-pki.js';

const pki = createTestPki();
const servers: (Server | Http2SecureServer)[] = [];
after(() => {
  for (const server of servers) server.close();
  pki.remove();
});

const tls = {
  key: readFileSync(pki.server.key),
  cert: readFileSync(pki.server.cert),
  ca: pki.rootPem,
  requestCert: true,
  rejectUnauthorized: false,
};

interface Seen {
  readonly request: AuthRequest;
  readonly socket: unknown;
}

async function listen(server: Server | Http2SecureServer): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** An HTTPS server recording the AuthRequest the glue builds (trustProxy as given). */
async function https1(trustProxy: boolean, seen: Seen[]): Promise<number> {
  const options = resolveAdapterOptions({ trustProxy });
  return listen(
    createServer(tls, (req, res) => {
      seen.push({ request: toAuthRequest(req, options), socket: req.socket });
      res.end('ok');
    }),
  );
}

async function get(port: number, client: Issued | undefined): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        ca: pki.rootPem,
        agent: false,
        ...(client === undefined
          ? {}
          : { cert: readFileSync(client.fullChain), key: readFileSync(client.key) }),
      },
      (res) => res.resume().on('end', resolve),
    );
    req.on('error', reject).end();
  });
}

describe('the peer certificate chain on AuthRequest', () => {
  it('is the client chain, leaf first, keyed by the TLS socket (HTTP/1.1)', async () => {
    const seen: Seen[] = [];
    const port = await https1(false, seen);
    await get(port, pki.certs.sid);
    await get(port, undefined);
    const [withCert, without] = seen;
    assert.ok(withCert !== undefined && without !== undefined);
    const chain = withCert.request.peerCertificateChain;
    assert.ok(chain !== undefined);
    assert.ok(chain[0]?.equals(pki.certs.sid.der));
    assert.ok(chain[1]?.equals(pki.intermediate.der));
    assert.equal(withCert.request.tlsConnection, withCert.socket);
    assert.deepEqual(without.request.peerCertificateChain, []);
  });

  it('is absent behind a trusted proxy, and over plain HTTP', async () => {
    const seen: Seen[] = [];
    const port = await https1(true, seen);
    await get(port, pki.certs.sid);
    assert.equal(seen[0]?.request.peerCertificateChain, undefined);
    assert.equal(seen[0]?.request.tlsConnection, undefined);
    const plain = { headers: {}, httpVersionMajor: 1, socket: { remoteAddress: '127.0.0.1' } };
    const request = toAuthRequest(plain as unknown as NodeRequest, resolveAdapterOptions({}));
    assert.equal(request.peerCertificateChain, undefined);
  });

  it('comes from the session socket over HTTP/2, the same for every stream', async () => {
    const seen: Seen[] = [];
    const options = resolveAdapterOptions({});
    const port = await listen(
      createSecureServer(tls, (req, res) => {
        seen.push({
          request: toAuthRequest(req as unknown as NodeRequest, options),
          socket: req.stream.session?.socket,
        });
        res.end('ok');
      }),
    );
    const session = connect(`https://127.0.0.1:${port}`, {
      ca: pki.rootPem,
      cert: readFileSync(pki.certs.upn.fullChain),
      key: readFileSync(pki.certs.upn.key),
    });
    for (let i = 0; i < 2; i++) {
      await new Promise<void>((resolve, reject) => {
        const stream = session.request({ ':path': '/' });
        stream.on('error', reject).on('end', resolve).resume().end();
      });
    }
    session.close();
    assert.equal(seen.length, 2);
    for (const { request, socket } of seen) {
      assert.equal(request.httpVersionMajor, 2);
      assert.ok(request.peerCertificateChain?.[0]?.equals(pki.certs.upn.der));
      assert.equal(request.tlsConnection, socket);
    }
    assert.equal(seen[0]?.request.tlsConnection, seen[1]?.request.tlsConnection);
  });
});
