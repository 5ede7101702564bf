/**
 * The gateway's NTLM relay settings and trusted-proxy handling, end to end with curl:
 * auth.ntlm.channelBinding / targetNames reach the NTLM acceptor (issue 12, finding 7), and
 * behind a trusted proxy an NTLM-authenticated connection does not run a later, credential-less
 * request of another forwarded client as the first user (finding 8).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { encodeKeytab, makeKey, ntowfv1 } from '@httpauth/core/wire';
import { createGateway } from '@httpauth/gateway';
import type { Gateway } from '@httpauth/gateway';
import { validateConfig } from '@httpauth/gateway';
import { authenticate, negotiate } from '../packages/core/test/ntlm-client.js';

/** One client connection, one request at a time, responses framed by Content-Length. */
class KeepAliveConnection {
  #buffer = '';
  #waiting: (() => void) | undefined;
  private constructor(private readonly socket: Socket) {
    socket.on('data', (data: Buffer) => {
      this.#buffer += data.toString('latin1');
      this.#waiting?.();
    });
  }

  static open(port: number): Promise<KeepAliveConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new KeepAliveConnection(socket)));
      socket.once('error', reject);
    });
  }

  async request(
    path: string,
    headers: Record<string, string>,
  ): Promise<{ status: number; head: string; body: string }> {
    const lines = Object.entries(headers).map(([n, v]) => `${n}: ${v}\r\n`);
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: gw\r\n${lines.join('')}\r\n`);
    for (;;) {
      const end = this.#buffer.indexOf('\r\n\r\n');
      if (end !== -1) {
        const head = this.#buffer.slice(0, end);
        const length = Number(/^content-length: (\d+)$/im.exec(head)?.[1] ?? '0');
        if (this.#buffer.length >= end + 4 + length) {
          const body = this.#buffer.slice(end + 4, end + 4 + length);
          this.#buffer = this.#buffer.slice(end + 4 + length);
          return { status: Number(head.slice(9, 12)), head, body };
        }
      }
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no response')), 10_000);
        this.#waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'httpauth-gateway-ntlm-'));

describe('gateway NTLM settings and trusted proxies', () => {
  let upstream: Server;
  let upstreamPort: number;
  const logLines: string[] = [];

  before(async () => {
    const smb = (user: string, uid: number, password: string) =>
      `${user}:${uid}:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:${ntowfv1(password).toString('hex').toUpperCase()}:[U          ]:LCT-00000000:`;
    writeFileSync(join(dir, 'smbpasswd'), smb('alice', 1001, 'alicepw') + '\n');
    writeFileSync(join(dir, 'htpasswd'), '');
    await run('htpasswd', ['-b', '-B', '-C', '5', join(dir, 'htpasswd'), 'carol', 'carolpw']);
    upstream = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          user: req.headers['x-remote-user'] ?? null,
          proto: req.headers['x-forwarded-proto'],
          for: req.headers['x-forwarded-for'],
        }) + '\n',
      );
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    upstreamPort = (upstream.address() as AddressInfo).port;
  });

  after(async () => {
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  async function withGateway(
    extra: {
      ntlm?: Record<string, unknown>;
      trustProxy?: boolean;
      auth?: Record<string, unknown>;
    },
    body: (base: string, gateway: Gateway) => Promise<void>,
  ): Promise<void> {
    const gateway = createGateway(
      validateConfig(
        {
          listen: { host: '127.0.0.1', port: 0 },
          upstream: `http://127.0.0.1:${upstreamPort}`,
          auth: extra.auth ?? {
            ntlm: { smbpasswd: join(dir, 'smbpasswd'), domain: 'EXAMPLE', ...extra.ntlm },
          },
          ...(extra.trustProxy === undefined ? {} : { trustProxy: extra.trustProxy }),
          log: { level: 'warn' },
        },
        {},
        dir,
      ),
      { logWrite: (line) => logLines.push(line) },
    );
    const { port } = await gateway.listen();
    try {
      await body(`http://127.0.0.1:${port}`, gateway);
    } finally {
      await gateway.close();
    }
  }

  async function curlStatuses(args: string[]): Promise<{ statuses: number[]; out: string }> {
    const { stdout, stderr } = await run('curl', ['-sS', '-v', '--max-time', '20', ...args]);
    const finals = [...stderr.matchAll(/^< HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));
    return { statuses: finals, out: stdout + stderr };
  }

  it('auth.ntlm.targetNames reaches the acceptor: a client naming no target is refused', async () => {
    await withGateway({ ntlm: { targetNames: ['HTTP/gw.example.test'] } }, async (base) => {
      const { statuses } = await curlStatuses(['--ntlm', '-u', 'alice:alicepw', `${base}/x`]);
      assert.equal(statuses.at(-1), 401);
      const metrics = await (await fetch(`${base}/_httpauth/metrics`)).text();
      assert.match(metrics, /reason="ERR_HTTPAUTH_NTLM_TARGET_NAME"/);
    });
  });

  it('auth.ntlm.hostNames reaches the acceptor; allowMissingTargetName lets a nameless client in', async () => {
    await withGateway({ ntlm: { hostNames: ['gw.example.test'] } }, async (base) => {
      const { statuses } = await curlStatuses(['--ntlm', '-u', 'alice:alicepw', `${base}/x`]);
      assert.equal(statuses.at(-1), 401);
      const metrics = await (await fetch(`${base}/_httpauth/metrics`)).text();
      assert.match(metrics, /reason="ERR_HTTPAUTH_NTLM_TARGET_NAME"/);
    });
    await withGateway(
      { ntlm: { hostNames: ['gw.example.test'], allowMissingTargetName: true } },
      async (base) => {
        const { statuses } = await curlStatuses(['--ntlm', '-u', 'alice:alicepw', `${base}/x`]);
        assert.equal(statuses.at(-1), 200, 'curl names no target: allowed by the option');
      },
    );
  });

  it('auth.ntlm.channelBinding: require refuses NTLM without bindings (plain HTTP has none)', async () => {
    await withGateway({ ntlm: { channelBinding: 'require' } }, async (base) => {
      const { statuses } = await curlStatuses(['--ntlm', '-u', 'alice:alicepw', `${base}/x`]);
      assert.equal(statuses.at(-1), 401);
      const metrics = await (await fetch(`${base}/_httpauth/metrics`)).text();
      assert.match(
        metrics,
        /reason="ERR_HTTPAUTH_(CHANNEL_BINDING_MISSING|NTLM_TIMESTAMP_MISSING)"/,
      );
    });
    await withGateway({ ntlm: { channelBinding: 'allow' } }, async (base) => {
      const { statuses } = await curlStatuses(['--ntlm', '-u', 'alice:alicepw', `${base}/x`]);
      assert.equal(statuses.at(-1), 200, 'the same client passes with allow');
    });
  });

  it('warns at start-up when NTLM runs without required bindings or target names', async () => {
    logLines.length = 0;
    await withGateway({}, async () => {});
    assert.ok(logLines.some((l) => /NTLM runs without required channel bindings/.test(l)));
    logLines.length = 0;
    await withGateway({ ntlm: { targetNames: ['HTTP/gw'] } }, async () => {});
    assert.ok(!logLines.some((l) => /NTLM runs without/.test(l)));
    logLines.length = 0;
    await withGateway({ ntlm: { hostNames: ['gw'] } }, async () => {});
    assert.ok(!logLines.some((l) => /NTLM runs without/.test(l)));
    logLines.length = 0;
    await withGateway(
      { ntlm: { hostNames: ['gw'], allowMissingTargetName: true } },
      async () => {},
    );
    assert.ok(logLines.some((l) => /NTLM runs without/.test(l)));
  });

  /**
   * NTLM as alice on one raw keep-alive connection (as a proxy's pooled connection to the
   * gateway would carry it), then on the same connection a request without credentials from
   * another forwarded client.
   */
  async function secondRequestStatus(
    base: string,
    forwarded = true,
  ): Promise<{ first: number; second: number }> {
    const from = (address: string): Record<string, string> =>
      forwarded ? { 'x-forwarded-for': address } : {};
    const connection = await KeepAliveConnection.open(Number(new URL(base).port));
    try {
      const type1 = negotiate();
      const challenge = await connection.request('/first', {
        authorization: `NTLM ${type1.toString('base64')}`,
        ...from('192.0.2.10'),
      });
      assert.equal(challenge.status, 401);
      const token = /^www-authenticate: NTLM (\S+)$/im.exec(challenge.head)?.[1];
      assert.ok(token, challenge.head);
      const type3 = authenticate(type1, Buffer.from(token, 'base64'), {
        user: 'alice',
        password: 'alicepw',
        domain: 'EXAMPLE',
      });
      const first = await connection.request('/first', {
        authorization: `NTLM ${type3.message.toString('base64')}`,
        ...from('192.0.2.10'),
      });
      const second = await connection.request('/second', from('192.0.2.99'));
      if (second.status === 200) assert.match(second.body, /alice/);
      return { first: first.status, second: second.status };
    } finally {
      connection.close();
    }
  }

  it('a direct client keeps its NTLM connection authenticated (the test exercises persistence)', async () => {
    await withGateway({ trustProxy: false }, async (base) => {
      const { first, second } = await secondRequestStatus(base, false);
      assert.equal(first, 200);
      assert.equal(second, 200);
    });
  });

  it('without trustProxy, forwarding headers alone still keep the connection logon off', async () => {
    // Core drops connection persistence for any request that says it came through a proxy
    // (Forwarded, X-Forwarded-For, Via), trusted or not.
    await withGateway({ trustProxy: false }, async (base) => {
      const { first, second } = await secondRequestStatus(base);
      assert.equal(first, 200);
      assert.equal(second, 401);
    });
  });

  it('behind a trusted proxy a later request without credentials is challenged, not run as alice', async () => {
    await withGateway({ trustProxy: true }, async (base) => {
      const { first, second } = await secondRequestStatus(base);
      assert.equal(first, 200);
      assert.equal(second, 401);
    });
  });

  it('behind a trusted proxy the scheme is the proxy’s (last X-Forwarded-Proto), not the client’s', async () => {
    const auth = { basic: { htpasswd: join(dir, 'htpasswd') } }; // Basic only over TLS
    const carol = `Basic ${Buffer.from('carol:carolpw').toString('base64')}`;
    await withGateway({ auth, trustProxy: true }, async (base) => {
      // The client wrote "https"; the proxy, which received plain HTTP, appended "http".
      const spoofed = await fetch(`${base}/x`, {
        headers: { authorization: carol, 'x-forwarded-proto': 'https, http' },
      });
      assert.equal(spoofed.status, 401);
      assert.equal(
        ((await spoofed.json()) as { error: string }).error,
        'ERR_HTTPAUTH_INSECURE_TRANSPORT',
      );
      const genuine = await fetch(`${base}/x`, {
        headers: {
          authorization: carol,
          'x-forwarded-proto': 'http, https',
          'x-forwarded-for': '198.51.100.7',
        },
      });
      assert.equal(genuine.status, 200);
      assert.deepEqual(await genuine.json(), {
        user: 'carol',
        proto: 'https',
        for: '198.51.100.7, 127.0.0.1',
      });
    });
    await withGateway({ auth, trustProxy: false }, async (base) => {
      const direct = await fetch(`${base}/x`, {
        headers: { authorization: carol, 'x-forwarded-proto': 'https' },
      });
      assert.equal(direct.status, 401, 'without trustProxy the header is not believed at all');
    });
  });

  it("Negotiate's NTLM fallback gets the same target names and trusted-proxy rule", async () => {
    writeFileSync(
      join(dir, 'http.keytab'),
      encodeKeytab([
        {
          realm: 'EXAMPLE.TEST',
          components: ['HTTP', 'gw.example.test'],
          kvno: 1,
          key: makeKey(18, randomBytes(32)),
        },
      ]),
    );
    const auth = {
      mechanisms: ['negotiate'],
      negotiate: { keytab: join(dir, 'http.keytab') },
      ntlm: {
        smbpasswd: join(dir, 'smbpasswd'),
        domain: 'EXAMPLE',
        targetNames: ['HTTP/gw.example.test'],
      },
    };
    const attempt = async (base: string, targetName: string | undefined, then?: number[]) => {
      const connection = await KeepAliveConnection.open(Number(new URL(base).port));
      try {
        const type1 = negotiate();
        const challenge = await connection.request('/x', {
          authorization: `Negotiate ${type1.toString('base64')}`,
        });
        assert.equal(challenge.status, 401);
        const token = /^www-authenticate: Negotiate (\S+)$/im.exec(challenge.head)?.[1];
        assert.ok(token, challenge.head);
        const type3 = authenticate(type1, Buffer.from(token, 'base64'), {
          user: 'alice',
          password: 'alicepw',
          domain: 'EXAMPLE',
          ...(targetName === undefined ? {} : { targetName }),
        });
        const status = (
          await connection.request('/x', {
            authorization: `Negotiate ${type3.message.toString('base64')}`,
          })
        ).status;
        // A later request on the same connection, without credentials (another proxied client).
        then?.push((await connection.request('/later', {})).status);
        return status;
      } finally {
        connection.close();
      }
    };
    await withGateway({ auth }, async (base) => {
      assert.equal(await attempt(base, undefined), 401);
      assert.equal(await attempt(base, 'HTTP/elsewhere.example.test'), 401);
      assert.equal(await attempt(base, 'HTTP/gw.example.test'), 200);
      const metrics = await (await fetch(`${base}/_httpauth/metrics`)).text();
      assert.match(metrics, /mechanism="negotiate",reason="ERR_HTTPAUTH_NTLM_TARGET_NAME"/);
      const later: number[] = [];
      assert.equal(await attempt(base, 'HTTP/gw.example.test', later), 200);
      assert.deepEqual(later, [200], 'without trustProxy the NTLM logon persists');
    });
    await withGateway({ auth, trustProxy: true }, async (base) => {
      const later: number[] = [];
      assert.equal(await attempt(base, 'HTTP/gw.example.test', later), 200);
      assert.deepEqual(later, [401], 'behind a trusted proxy it does not');
    });
  });
});
