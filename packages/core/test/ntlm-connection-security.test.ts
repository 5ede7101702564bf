/**
 * Security issue 12, findings 8 and 9 (handshake part):
 *  - 8: an NTLM identity persisted on a connection must not answer for other clients whose
 *    requests a proxy sends over the same backend connection;
 *  - 9: one client address cannot hold the process-wide pending-handshake bound, and a
 *    half-done handshake expires sooner.
 */
import * as assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';

import { createAuthenticator } from '../src/loop/authenticator.js';
import type { AuthDecision, Authenticator } from '../src/loop/authenticator.js';
import type { ConnectionLimits } from '../src/loop/connections.js';
import { ntowfv1 } from '../src/ntlm/keys.js';
import { ntlm } from '../src/ntlm/ntlm-package.js';
import { createHandler } from '../src/node/index.js';
import type { AuthRequest } from '../src/security-package.js';
import { authenticate, negotiate } from './ntlm-client.js';

const credentials = (user: string) =>
  user.toLowerCase() === 'alice' ? ntowfv1('Wonderland1') : undefined;

/** A fake socket with a peer address. */
function socket(remoteAddress = '192.0.2.1'): EventEmitter & { remoteAddress: string } {
  return Object.assign(new EventEmitter(), { remoteAddress });
}

function request(
  connection: EventEmitter,
  authorization?: string,
  extra: Partial<AuthRequest> = {},
  headers: Record<string, string> = {},
): AuthRequest {
  return {
    method: 'GET',
    target: '/',
    headers: authorization === undefined ? headers : { ...headers, authorization },
    connection,
    httpVersionMajor: 1,
    secure: false,
    ...extra,
  };
}

function authenticator(connections?: ConnectionLimits, now?: () => number): Authenticator {
  return createAuthenticator({
    packages: [ntlm({ domain: 'EXAMPLE', credentials })],
    ...(connections === undefined ? {} : { connections }),
    ...(now === undefined ? {} : { now }),
  });
}

/** NEGOTIATE then AUTHENTICATE on `connection`, each request shaped by `shape`. */
async function logon(
  auth: Authenticator,
  connection: EventEmitter,
  shape: (authorization: string) => AuthRequest,
): Promise<AuthDecision> {
  const neg = negotiate();
  const second = await auth.authenticate(shape(`NTLM ${neg.toString('base64')}`));
  const value = second.headers.find(([name]) => name === 'www-authenticate')?.[1] ?? '';
  const challenge = Buffer.from(value.slice(5), 'base64');
  const type3 = authenticate(neg, challenge, {
    user: 'alice',
    password: 'Wonderland1',
    domain: 'EXAMPLE',
  });
  return auth.authenticate(shape(`NTLM ${type3.message.toString('base64')}`));
}

function startHandshake(
  auth: Authenticator,
  connection: EventEmitter,
  extra?: Partial<AuthRequest>,
) {
  return auth.authenticate(request(connection, `NTLM ${negotiate().toString('base64')}`, extra));
}

describe('finding 8: no persisted NTLM identity behind a proxy', () => {
  it('behind a trusted proxy, a request without credentials is not alice, whoever sends it', async () => {
    const auth = authenticator();
    const proxy = socket('10.0.0.1');
    const fromAlice = { viaTrustedProxy: true, clientAddress: '198.51.100.7' };
    const done = await logon(auth, proxy, (a) =>
      request(proxy, a, fromAlice, { 'x-forwarded-for': '198.51.100.7' }),
    );
    assert.equal(done.type === 'authenticated' && done.auth.principal.name, 'EXAMPLE\\alice');
    // Mallory's request, multiplexed by the proxy onto the same backend connection.
    const mallory = await auth.authenticate(
      request(
        proxy,
        undefined,
        { viaTrustedProxy: true, clientAddress: '203.0.113.9' },
        {
          'x-forwarded-for': '203.0.113.9',
        },
      ),
    );
    assert.equal(mallory.type, 'respond');
    assert.equal(
      mallory.type === 'respond' && mallory.error.code,
      'ERR_HTTPAUTH_CREDENTIALS_REQUIRED',
    );
    // Nor is alice's own next request: every request through the proxy authenticates itself.
    const again = await auth.authenticate(request(proxy, undefined, fromAlice));
    assert.equal(again.type, 'respond');
  });

  it('without trustProxy, X-Forwarded-For, Forwarded or Via still turn persistence off', async () => {
    for (const [name, value] of [
      ['x-forwarded-for', '198.51.100.7'],
      ['forwarded', 'for=198.51.100.7'],
      ['via', '1.1 proxy.example'],
    ] as const) {
      const auth = authenticator();
      const proxy = socket('10.0.0.1');
      const done = await logon(auth, proxy, (a) => request(proxy, a, {}, { [name]: value }));
      assert.equal(done.type, 'authenticated', name);
      const next = await auth.authenticate(
        request(proxy, undefined, {}, { [name]: '203.0.113.9' }),
      );
      assert.equal(next.type, 'respond', name);
    }
  });

  it('a proxied request also ends an identity persisted by an earlier direct one', async () => {
    const auth = authenticator();
    const connection = socket();
    await logon(auth, connection, (a) => request(connection, a));
    const proxied = await auth.authenticate(
      request(connection, undefined, {}, { 'x-forwarded-for': '203.0.113.9' }),
    );
    assert.equal(proxied.type, 'respond');
    const direct = await auth.authenticate(request(connection));
    assert.equal(direct.type, 'respond');
  });

  it('a direct client keeps IIS behaviour: the connection stays authenticated', async () => {
    const auth = authenticator();
    const connection = socket();
    await logon(auth, connection, (a) => request(connection, a));
    const next = await auth.authenticate(request(connection));
    assert.equal(next.type === 'authenticated' && next.auth.principal.name, 'EXAMPLE\\alice');
  });

  it('createHandler with trustProxy: a keep-alive connection does not answer as alice', async () => {
    const handler = createHandler(
      { packages: [ntlm({ domain: 'EXAMPLE', credentials })], trustProxy: true },
      (_req, res, auth) => res.end(auth.principal.name),
    );
    const server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (headers: Record<string, string>) =>
      new Promise<{ status: number; body: string; header: string; socket: unknown }>(
        (resolve, reject) => {
          const req = httpRequest({ port, host: '127.0.0.1', agent, headers }, (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                body,
                header: String(res.headers['www-authenticate'] ?? ''),
                socket: req.socket,
              }),
            );
          });
          req.on('error', reject);
          req.end();
        },
      );
    try {
      const neg = negotiate();
      const alice = { 'x-forwarded-for': '198.51.100.7' };
      const second = await send({ ...alice, authorization: `NTLM ${neg.toString('base64')}` });
      const type3 = authenticate(neg, Buffer.from(second.header.slice(5), 'base64'), {
        user: 'alice',
        password: 'Wonderland1',
        domain: 'EXAMPLE',
      });
      const third = await send({
        ...alice,
        authorization: `NTLM ${type3.message.toString('base64')}`,
      });
      assert.equal(third.status, 200);
      assert.equal(third.body, 'EXAMPLE\\alice');
      assert.equal(third.socket, second.socket, 'one keep-alive connection');
      const mallory = await send({ 'x-forwarded-for': '203.0.113.9' });
      assert.equal(mallory.socket, second.socket, 'still the same connection');
      assert.equal(mallory.status, 401);
      assert.doesNotMatch(mallory.body, /alice/);
    } finally {
      agent.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('finding 9: handshake quotas per client address', () => {
  it('one address cannot take the whole pending bound: others still get a CHALLENGE', async () => {
    const auth = authenticator({ maxPendingHandshakes: 20, maxPendingHandshakesPerClient: 5 });
    const refused: string[] = [];
    for (let i = 0; i < 20; i++) {
      const d = await startHandshake(auth, socket('192.0.2.66'));
      if (d.type === 'respond' && d.status !== 401) refused.push(d.error.code);
    }
    assert.equal(refused.length, 15);
    assert.ok(refused.every((code) => code === 'ERR_HTTPAUTH_CLIENT_HANDSHAKE_QUOTA'));
    const other = await startHandshake(auth, socket('192.0.2.77'));
    assert.equal(other.type === 'respond' && other.error.code, 'ERR_HTTPAUTH_HANDSHAKE_CONTINUE');
  });

  it('the default quota is 100 per address; over it is a 503 with Retry-After', async () => {
    const auth = authenticator();
    for (let i = 0; i < 100; i++) {
      const d = await startHandshake(auth, socket('192.0.2.66'));
      assert.equal(d.type === 'respond' && d.status, 401, `handshake ${i}`);
    }
    const over = await startHandshake(auth, socket('192.0.2.66'));
    assert.equal(over.type, 'respond');
    if (over.type !== 'respond') return;
    assert.equal(over.status, 503);
    assert.equal(over.error.code, 'ERR_HTTPAUTH_CLIENT_HANDSHAKE_QUOTA');
    assert.ok(over.headers.some(([name]) => name === 'retry-after'));
    assert.equal(auth.pendingHandshakes, 100);
  });

  it('slots come back when handshakes complete, expire or their sockets close', async () => {
    let clock = Date.UTC(2026, 10, 26, 12);
    const auth = authenticator({ maxPendingHandshakesPerClient: 1 }, () => clock);
    const first = socket();
    await logon(auth, first, (a) => request(first, a));
    const second = socket();
    assert.equal((await startHandshake(auth, second)).type, 'respond');
    const blocked = await startHandshake(auth, socket());
    assert.equal(blocked.type === 'respond' && blocked.status, 503);
    second.emit('close');
    const third = socket();
    const afterClose = await startHandshake(auth, third);
    assert.equal(afterClose.type === 'respond' && afterClose.status, 401);
    clock += 30_001;
    const afterExpiry = await startHandshake(auth, socket());
    assert.equal(afterExpiry.type === 'respond' && afterExpiry.status, 401);
  });

  it('behind a trusted proxy each forwarded client has its own quota', async () => {
    const auth = authenticator({ maxPendingHandshakesPerClient: 1 });
    const via = (client: string) => ({ viaTrustedProxy: true, clientAddress: client });
    const proxyAddress = '10.0.0.1';
    const a = await startHandshake(auth, socket(proxyAddress), via('198.51.100.1'));
    const b = await startHandshake(auth, socket(proxyAddress), via('198.51.100.2'));
    const a2 = await startHandshake(auth, socket(proxyAddress), via('198.51.100.1'));
    assert.equal(a.type === 'respond' && a.status, 401);
    assert.equal(b.type === 'respond' && b.status, 401);
    assert.equal(a2.type === 'respond' && a2.error.code, 'ERR_HTTPAUTH_CLIENT_HANDSHAKE_QUOTA');
  });

  it('a Type 3 more than 30 s after the CHALLENGE is refused by default', async () => {
    let clock = Date.UTC(2026, 10, 26, 12);
    const auth = authenticator(undefined, () => clock);
    const connection = socket();
    const neg = negotiate();
    const second = await auth.authenticate(request(connection, `NTLM ${neg.toString('base64')}`));
    const value = second.headers.find(([name]) => name === 'www-authenticate')?.[1] ?? '';
    const type3 = authenticate(neg, Buffer.from(value.slice(5), 'base64'), {
      user: 'alice',
      password: 'Wonderland1',
      domain: 'EXAMPLE',
      timeMs: clock + 30_001,
    });
    clock += 30_001;
    const late = await auth.authenticate(
      request(connection, `NTLM ${type3.message.toString('base64')}`),
    );
    assert.equal(
      late.type === 'respond' && late.error.code,
      'ERR_HTTPAUTH_NTLM_UNEXPECTED_MESSAGE',
    );
  });

  it('refuses invalid limits at construction', () => {
    for (const bad of [
      { maxPendingHandshakesPerClient: 0 },
      { maxPendingHandshakesPerClient: 1.5 },
      { maxPendingHandshakes: -1 },
      { handshakeTimeoutMs: Number.NaN },
      { handshakeTimeoutMs: '30000' as unknown as number },
    ]) {
      assert.throws(
        () => authenticator(bad),
        { code: 'ERR_HTTPAUTH_INVALID_OPTIONS' },
        JSON.stringify(bad),
      );
    }
  });
});
