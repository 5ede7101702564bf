// A certificate logon kept per TLS handshake (issue 17's per-request target): the later requests
// of a connection skip the certificate phase (no chain, no getFinished() under TLS 1.3, no
// package call), and only that connection's: another connection, a resumed TLS session, a
// renegotiation or a peer certificate that changed run the phase again, and a CRL reload still
// refuses. Counted with spies, never timed.
import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { Agent, request as httpsRequest, createServer, type Server } from 'node:https';
import { connect, createSecureServer, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { TLSSocket } from 'node:tls';
import {
  clientCertificate,
  type ClientCertificateOptions,
  type ConnectionSecurityPackage,
} from '../src/certificate/index.js';
import { authenticateNow, createAuthenticator } from '../src/loop/authenticator.js';
import { createHandler } from '../src/node/handler.js';
import type { NodeRequest } from '../src/node/message.js';
import { resolveAdapterOptions } from '../src/node/options.js';
import { toAuthRequest } from '../src/node/request.js';
import { createTestPki, type Issued } from './certificate-pki.js';

const pki = createTestPki();
/** The name the SID certificate maps to (no resolver: by its UPN). */
const BOB = 'bob@example.test';
const servers: (Server | Http2SecureServer)[] = [];
after(() => pki.remove());
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** The package, with a count of the certificate phases it ran (authenticateConnection calls). */
function counted(extra: Partial<ClientCertificateOptions> = {}) {
  const inner = clientCertificate({
    ca: pki.rootPem,
    revocation: { crlFiles: [pki.rootCrl, pki.intermediateCrl] },
    mapping: [{ type: 'sid' }, { type: 'upn' }, { type: 'email' }],
    allowWeakMappings: true,
    ...extra,
  });
  const spy = {
    phases: 0,
    package: {
      ...inner,
      authenticateConnection(chain, now, connection) {
        spy.phases++;
        return inner.authenticateConnection(chain, now, connection);
      },
    } as ConnectionSecurityPackage,
  };
  return spy;
}

const tlsOptions = {
  key: readFileSync(pki.server.key),
  cert: readFileSync(pki.server.cert),
  ca: pki.rootPem,
  requestCert: true,
  rejectUnauthorized: false,
};

async function listen(server: Server | Http2SecureServer): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** getFinished() calls on server sockets (the client side calls it too, for nothing here). */
let finishedCalls = 0;
const originalGetFinished = TLSSocket.prototype.getFinished;
beforeEach(() => {
  finishedCalls = 0;
  TLSSocket.prototype.getFinished = function (this: TLSSocket) {
    if ((this as TLSSocket & { server?: unknown }).server !== undefined) finishedCalls++;
    return originalGetFinished.call(this);
  };
});
afterEach(() => {
  TLSSocket.prototype.getFinished = originalGetFinished;
});

interface Answer {
  readonly status: number;
  readonly name?: string;
  readonly code?: string;
  readonly resumed: boolean;
}

/** An HTTPS server answering with the principal's name; `onRequest` runs before the answer. */
async function serve(
  certificate: ConnectionSecurityPackage,
  tls: object = tlsOptions,
  onRequest?: (req: IncomingMessage) => Promise<void>,
): Promise<number> {
  const authenticator = createAuthenticator({ certificate, packages: [] });
  return listen(
    createServer(
      tls,
      createHandler(authenticator, async (req, res, auth) => {
        await onRequest?.(req);
        res.end(JSON.stringify({ name: auth.principal.name }));
      }),
    ),
  );
}

/** One request; `agent` keeps the connection, `session` resumes a TLS session on a new one. */
function get(
  port: number,
  client: Issued,
  options: { agent?: Agent; session?: Buffer; onSession?: (session: Buffer) => void } = {},
): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        ca: pki.rootPem,
        cert: readFileSync(client.fullChain),
        key: readFileSync(client.key),
        ...(options.agent === undefined ? { agent: false } : { agent: options.agent }),
        ...(options.session === undefined ? {} : { session: options.session }),
      },
      (res) => {
        const resumed = (res.socket as TLSSocket).isSessionReused();
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          const parsed = JSON.parse(body) as { name?: string; error?: string };
          resolve({
            status: res.statusCode ?? 0,
            resumed,
            ...(parsed.name === undefined ? {} : { name: parsed.name }),
            ...(parsed.error === undefined ? {} : { code: parsed.error }),
          });
        });
      },
    );
    if (options.onSession !== undefined) {
      const onSession = options.onSession;
      req.on('socket', (socket) => socket.on('session', onSession));
    }
    req.on('error', reject).end();
  });
}

function keepAlive(client: Issued): Agent {
  return new Agent({
    keepAlive: true,
    maxSockets: 1,
    maxCachedSessions: 0,
    ca: pki.rootPem,
    cert: readFileSync(client.fullChain),
    key: readFileSync(client.key),
  });
}

describe('a certificate logon kept per TLS handshake', () => {
  it('answers the later requests of a TLS 1.3 connection without the certificate phase', async () => {
    const spy = counted();
    const port = await serve(spy.package);
    const agent = keepAlive(pki.certs.sid);
    try {
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await get(port, pki.certs.sid, { agent }));
      assert.deepEqual(
        answers.map((a) => [a.status, a.name]),
        Array(4).fill([200, BOB]),
      );
    } finally {
      agent.destroy();
    }
    // One phase for the connection, and the handshake's Finished message read once, not per request.
    assert.deepEqual({ phases: spy.phases, finishedCalls }, { phases: 1, finishedCalls: 1 });
  });

  it('runs the phase again on another connection, and on a resumed TLS session', async () => {
    const spy = counted();
    const port = await serve(spy.package);
    let session: Buffer | undefined;
    const first = await get(port, pki.certs.upn, { onSession: (s) => (session ??= s) });
    const other = await get(port, pki.certs.upn);
    assert.ok(session !== undefined);
    const resumed = await get(port, pki.certs.upn, { session });
    assert.deepEqual(
      [first, other, resumed].map((a) => [a.status, a.name, a.resumed]),
      [
        [200, 'alice@example.test', false],
        [200, 'alice@example.test', false],
        [200, 'alice@example.test', true],
      ],
    );
    assert.equal(spy.phases, 3);
  });

  it('refuses a certificate revoked by a reloaded CRL, on a resumed session and on a kept connection', async () => {
    const victim = pki.certs.email; // used by no other test of this file
    const spy = counted({
      revocation: { crlFiles: [pki.rootCrl, pki.intermediateCrl], checkIntervalMs: 0 },
    });
    const port = await serve(spy.package);
    const before = readFileSync(pki.intermediateCrl);
    const agent = keepAlive(victim);
    let session: Buffer | undefined;
    try {
      const kept = await get(port, victim, { agent });
      const first = await get(port, victim, { onSession: (s) => (session ??= s) });
      assert.deepEqual([kept.status, first.status], [200, 200]);
      pki.revoke(victim);
      pki.regenerateIntermediateCrl();
      assert.ok(session !== undefined);
      const resumed = await get(port, victim, { session });
      const keptAfter = await get(port, victim, { agent });
      assert.deepEqual(
        [resumed, keptAfter].map((a) => [a.status, a.code, a.resumed]),
        [
          [403, 'ERR_HTTPAUTH_CERT_REVOKED', true],
          [403, 'ERR_HTTPAUTH_CERT_REVOKED', false],
        ],
      );
    } finally {
      agent.destroy();
      writeFileSync(pki.intermediateCrl, before);
    }
  });

  it('runs the phase again after a TLS 1.2 renegotiation, then keeps the new logon', async () => {
    const spy = counted();
    let renegotiate = true;
    const port = await serve(spy.package, { ...tlsOptions, maxVersion: 'TLSv1.2' }, async (req) => {
      if (!renegotiate) return;
      renegotiate = false;
      const socket = req.socket as TLSSocket;
      await new Promise<void>((resolve, reject) =>
        socket.renegotiate({ requestCert: true, rejectUnauthorized: false }, (error) =>
          error ? reject(error) : resolve(),
        ),
      );
    });
    const agent = keepAlive(pki.certs.sid);
    const phases: number[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        assert.equal((await get(port, pki.certs.sid, { agent })).status, 200);
        phases.push(spy.phases);
      }
    } finally {
      agent.destroy();
    }
    // The first request renegotiated before answering: the second is on a new handshake.
    assert.deepEqual(phases, [1, 2, 2]);
  });

  it('shares the logon between the streams of one HTTP/2 session, not between sessions', async () => {
    const spy = counted();
    const authenticator = createAuthenticator({ certificate: spy.package, packages: [] });
    const port = await listen(
      createSecureServer(
        tlsOptions,
        createHandler(authenticator, (req, res, auth) => res.end(auth.principal.name)),
      ),
    );
    const names: string[] = [];
    for (let s = 0; s < 2; s++) {
      const session = connect(`https://127.0.0.1:${port}`, {
        ca: pki.rootPem,
        cert: readFileSync(pki.certs.upn.fullChain),
        key: readFileSync(pki.certs.upn.key),
      });
      for (let i = 0; i < 3; i++) {
        names.push(
          await new Promise<string>((resolve, reject) => {
            let body = '';
            const stream = session.request({ ':path': '/' });
            stream.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
            stream
              .on('error', reject)
              .on('end', () => resolve(body))
              .end();
          }),
        );
      }
      session.close();
    }
    assert.deepEqual(names, Array(6).fill('alice@example.test'));
    assert.equal(spy.phases, 2);
  });
});

/** A TLS socket as the glue sees it, whose handshake and peer chain the test changes. */
function fakeSocket(protocol: 'TLSv1.2' | 'TLSv1.3') {
  const state = { chain: pki.chain(pki.certs.sid), finished: Buffer.from('handshake-1') };
  const socket = {
    encrypted: true,
    remoteAddress: '127.0.0.1',
    once: () => socket,
    getProtocol: () => protocol,
    getFinished: () => state.finished,
    getCertificate: () => null,
    getPeerCertificate: () => {
      const [leaf, intermediate] = state.chain;
      return { raw: leaf, issuerCertificate: { raw: intermediate } };
    },
  };
  return { socket, state };
}

describe('the kept logon and a socket whose peer certificate changed', () => {
  const options = resolveAdapterOptions({});
  const requestOn = (socket: object) =>
    toAuthRequest(
      {
        method: 'GET',
        url: '/',
        headers: {},
        httpVersionMajor: 1,
        socket,
      } as unknown as NodeRequest,
      options,
    );

  it('maps the new certificate after a renegotiation (a new Finished message)', async () => {
    const spy = counted();
    const authenticator = createAuthenticator({ certificate: spy.package, packages: [] });
    const { socket, state } = fakeSocket('TLSv1.2');
    const name = async () => {
      const decision = await authenticateNow(authenticator, requestOn(socket));
      assert.equal(decision.type, 'authenticated');
      return decision.type === 'authenticated' ? decision.auth.principal.name : undefined;
    };
    assert.deepEqual([await name(), await name()], [BOB, BOB]);
    assert.equal(spy.phases, 1);
    // Renegotiated with alice's certificate: another handshake, another chain, another logon.
    state.chain = pki.chain(pki.certs.upn);
    state.finished = Buffer.from('handshake-2');
    assert.deepEqual([await name(), await name()], ['alice@example.test', 'alice@example.test']);
    assert.equal(spy.phases, 2);
  });

  it('gives a request on a kept handshake its decision at once, and each its own AuthInfo', async () => {
    const spy = counted();
    const authenticator = createAuthenticator({ certificate: spy.package, packages: [] });
    const { socket } = fakeSocket('TLSv1.3');
    const first = await authenticateNow(authenticator, requestOn(socket));
    const second = authenticateNow(authenticator, requestOn(socket));
    const third = authenticateNow(authenticator, requestOn(socket));
    assert.ok(!(second instanceof Promise) && !(third instanceof Promise));
    assert.ok(first.type === 'authenticated' && !first.reused);
    assert.ok(second.type === 'authenticated' && second.reused && second.scheme === 'Certificate');
    assert.ok(third.type === 'authenticated');
    // The identity is reused; the AuthInfo and its impersonation context are the request's own.
    assert.equal(second.auth.principal, third.auth.principal);
    assert.notEqual(second.auth, third.auth);
    assert.notEqual(second.auth.impersonation, third.auth.impersonation);
    assert.equal(spy.phases, 1);
  });

  it('runs the phase on every request behind a trusted proxy (no chain is passed)', async () => {
    const spy = counted();
    const authenticator = createAuthenticator({ certificate: spy.package, packages: [] });
    const { socket } = fakeSocket('TLSv1.3');
    const request = toAuthRequest(
      {
        method: 'GET',
        url: '/',
        headers: {},
        httpVersionMajor: 1,
        socket,
      } as unknown as NodeRequest,
      resolveAdapterOptions({ trustProxy: true }),
    );
    assert.equal(request.tlsHandshake, undefined);
    const decision = await authenticateNow(authenticator, request);
    assert.equal(decision.type, 'respond');
    assert.equal(spy.phases, 0);
  });
});
