// The Node glue hands the certificate package the TLS connection's client chain (issue 17):
// HTTP/1.1 over node:https and HTTP/2 over node:http2 (the chain belongs to the session's
// socket), and never behind a trusted proxy.
import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request as httpsRequest, createServer, type Server } from 'node:https';
import { connect, createSecureServer, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TLSSocket } from 'node:tls';
import { basic } from '../src/basic/index.js';
import { clientCertificate, type ClientCertificateOptions } from '../src/certificate/index.js';
import { createHandler } from '../src/node/handler.js';
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
  /** The chain the request's thunk gave while the connection was open. */
  readonly chain: readonly Buffer[] | undefined;
  readonly socket: unknown;
}

/** What the certificate phase would see: the glue passes the chain as a function. */
function chainOf(request: AuthRequest): readonly Buffer[] | undefined {
  const given = request.peerCertificateChain;
  return typeof given === 'function' ? given() : given;
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
      const request = toAuthRequest(req, options);
      seen.push({ request, chain: chainOf(request), socket: req.socket });
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
    const chain = withCert.chain;
    assert.ok(chain !== undefined);
    assert.ok(chain[0]?.equals(pki.certs.sid.der));
    assert.ok(chain[1]?.equals(pki.intermediate.der));
    assert.equal(withCert.request.tlsConnection, withCert.socket);
    assert.deepEqual(without.chain, []);
  });

  it('is one function per TLS handshake, shared by the requests of a kept-alive connection', async () => {
    // A kept-alive request must not allocate a chain reader of its own (issue 17's benchmark):
    // the function, and the chain it gives, belong to the handshake.
    const seen: Seen[] = [];
    const port = await https1(false, seen);
    const agent = new Agent({
      keepAlive: true,
      maxSockets: 1,
      ca: pki.rootPem,
      cert: readFileSync(pki.certs.sid.fullChain),
      key: readFileSync(pki.certs.sid.key),
    });
    try {
      for (let i = 0; i < 3; i++) {
        await new Promise<void>((resolve, reject) => {
          httpsRequest({ host: '127.0.0.1', port, path: '/', agent }, (res) =>
            res.resume().on('end', resolve),
          )
            .on('error', reject)
            .end();
        });
      }
    } finally {
      agent.destroy();
    }
    const [first, , third] = seen;
    assert.ok(first !== undefined && third !== undefined);
    assert.equal(third.socket, first.socket, 'one kept-alive connection');
    assert.equal(typeof first.request.peerCertificateChain, 'function');
    assert.equal(third.request.peerCertificateChain, first.request.peerCertificateChain);
    assert.equal(third.request.tlsHandshake, first.request.tlsHandshake);
    assert.equal(third.chain, first.chain);
    assert.ok(first.chain?.[0]?.equals(pki.certs.sid.der));
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
        const request = toAuthRequest(req as unknown as NodeRequest, options);
        seen.push({ request, chain: chainOf(request), socket: req.stream.session?.socket });
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
    for (const { request, chain, socket } of seen) {
      assert.equal(request.httpVersionMajor, 2);
      assert.ok(chain?.[0]?.equals(pki.certs.upn.der));
      assert.equal(request.tlsConnection, socket);
    }
    assert.equal(seen[0]?.request.tlsConnection, seen[1]?.request.tlsConnection);
  });
});

// The hot path: a kept-alive connection presents the same certificate on every request. The
// chain is built only when a certificate package is configured, once per TLS handshake, and the
// mapping is cached per connection; the cache must still give way to a CRL reload and to the
// certificate's notAfter.
describe('a kept-alive TLS connection through createHandler', () => {
  let server: Server | undefined;
  let peerCertificateCalls = 0;
  const original = TLSSocket.prototype.getPeerCertificate;
  before(() => {
    TLSSocket.prototype.getPeerCertificate = function (this: TLSSocket, detailed?: boolean) {
      // Only the server side: the client checks the server's certificate with it too.
      if ((this as TLSSocket & { server?: unknown }).server === server) peerCertificateCalls++;
      return original.call(this, detailed as true);
    } as typeof original;
  });
  after(() => {
    TLSSocket.prototype.getPeerCertificate = original;
  });

  /** Serve `source` over HTTPS; the body is the principal's name or the refusal's code. */
  async function serveHandler(source: Parameters<typeof createHandler>[0]): Promise<number> {
    peerCertificateCalls = 0;
    server = createServer(
      tls,
      createHandler(source, (req, res, auth) => {
        res.end(JSON.stringify({ name: auth.principal.name }));
      }),
    );
    return listen(server);
  }

  interface Answer {
    readonly status: number;
    /** Sent on the connection of the previous request. */
    readonly reused: boolean;
    readonly name?: string;
    readonly code?: string;
  }

  /** Requests over one kept-alive connection, one after the other; between(i) runs before the i-th. */
  async function keptAlive(
    port: number,
    client: Issued,
    count: number,
    between: (i: number) => void = () => {},
    headers: Record<string, string> = {},
  ): Promise<Answer[]> {
    const agent = new Agent({
      keepAlive: true,
      maxSockets: 1,
      ca: pki.rootPem,
      cert: readFileSync(client.fullChain),
      key: readFileSync(client.key),
    });
    const answers = [];
    try {
      for (let i = 0; i < count; i++) {
        between(i);
        answers.push(
          await new Promise<Answer>((resolve, reject) => {
            const req = httpsRequest(
              { host: '127.0.0.1', port, path: '/', agent, headers },
              (res) => {
                let body = '';
                res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
                res.on('end', () => {
                  const parsed = JSON.parse(body) as { name?: string; error?: string };
                  resolve({
                    status: res.statusCode ?? 0,
                    reused: req.reusedSocket,
                    ...parsed,
                    ...(parsed.error === undefined ? {} : { code: parsed.error }),
                  });
                });
              },
            );
            req.on('error', reject).end();
          }),
        );
      }
    } finally {
      agent.destroy();
    }
    return answers;
  }

  function certificatePackage(extra: Partial<ClientCertificateOptions> = {}) {
    return clientCertificate({
      ca: pki.rootPem,
      revocation: { crlFiles: [pki.rootCrl, pki.intermediateCrl] },
      mapping: [{ type: 'sid' }, { type: 'upn' }, { type: 'email' }],
      allowWeakMappings: true,
      ...extra,
    });
  }

  it('never reads the peer certificate without a certificate package', async () => {
    const password = basic({ realm: 'r', verify: (u, p) => u === 'bob' && p === 'builder' });
    const port = await serveHandler({ packages: [password] });
    const basicHeader = { authorization: `Basic ${Buffer.from('bob:builder').toString('base64')}` };
    const answers = await keptAlive(port, pki.certs.sid, 3, undefined, basicHeader);
    assert.deepEqual(
      answers.map((a) => [a.status, a.name]),
      [
        [200, 'bob'],
        [200, 'bob'],
        [200, 'bob'],
      ],
    );
    assert.equal(peerCertificateCalls, 0);
  });

  it('builds the chain and maps once for all the requests of the connection', async () => {
    let lookups = 0;
    const certificate = certificatePackage({
      mapping: [{ type: 'sid', resolve: () => `EXAMPLE\\bob-${++lookups}` }],
    });
    const port = await serveHandler({ certificate, packages: [] });
    const answers = await keptAlive(port, pki.certs.sid, 4);
    assert.deepEqual(
      answers.map((a) => [a.status, a.name]),
      Array(4).fill([200, 'EXAMPLE\\bob-1']),
    );
    assert.deepEqual(
      answers.map((a) => a.reused),
      [false, true, true, true],
    );
    assert.deepEqual({ peerCertificateCalls, lookups }, { peerCertificateCalls: 1, lookups: 1 });
  });

  it('refuses the next request of the connection once a reloaded CRL revokes the certificate', async () => {
    const victim = pki.certs.email; // used by no other test of this file
    const certificate = certificatePackage({
      revocation: { crlFiles: [pki.rootCrl, pki.intermediateCrl], checkIntervalMs: 0 },
    });
    const port = await serveHandler({ certificate, packages: [] });
    const before = readFileSync(pki.intermediateCrl);
    try {
      const answers = await keptAlive(port, victim, 3, (i) => {
        if (i !== 2) return;
        pki.revoke(victim);
        pki.regenerateIntermediateCrl();
      });
      assert.deepEqual(
        answers.map((a) => [a.status, a.name ?? a.code]),
        [
          [200, 'carol@example.test'],
          [200, 'carol@example.test'],
          [403, 'ERR_HTTPAUTH_CERT_REVOKED'],
        ],
      );
      assert.deepEqual(
        answers.map((a) => a.reused),
        [false, true, true],
      );
    } finally {
      writeFileSync(pki.intermediateCrl, before);
    }
  });

  it('refuses the next request of the connection once the certificate has expired', async () => {
    const client = pki.certs.shortLived; // expires before the CRL used is stale
    const notAfter = Date.parse(new X509Certificate(client.der).validTo);
    let clock = Date.now();
    const certificate = certificatePackage({ cache: { ttlMs: 365 * 86_400_000 } });
    const port = await serveHandler({ certificate, packages: [], now: () => clock });
    const answers = await keptAlive(port, client, 3, (i) => {
      if (i === 1) clock = notAfter; // the last millisecond it is valid in
      if (i === 2) clock = notAfter + 1000;
    });
    assert.deepEqual(
      answers.map((a) => [a.status, a.name ?? a.code]),
      [
        [200, 'alice@example.test'],
        [200, 'alice@example.test'],
        [403, 'ERR_HTTPAUTH_CERT_EXPIRED'],
      ],
    );
    assert.deepEqual(
      answers.map((a) => a.reused),
      [false, true, true],
    );
  });
});
