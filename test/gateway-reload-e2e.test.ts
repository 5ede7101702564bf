/**
 * One gateway process, several upstreams, reloaded on SIGHUP:
 * - routes: /grafana goes to a Grafana-like upstream that reads X-WEBAUTH-USER (auth proxy mode)
 *   and gets exactly the gateway's value, never a client-sent copy (in any route);
 * - SIGHUP with a new configuration (another upstream, a user added to the credential file):
 *   a request running during the reload finishes on the old configuration, a keep-alive
 *   connection opened before it keeps working, new requests use the new one;
 * - SIGHUP with a broken configuration: refused with a log line, the previous one keeps serving.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { GatewayProcess } from './harness/gateway-process.js';
import { startGatewayProcess } from './harness/gateway-process.js';

const dir = mkdtempSync(join(tmpdir(), 'httpauth-gateway-reload-'));
const configFile = join(dir, 'gateway.yaml');
const htpasswd = join(dir, 'htpasswd');

interface Echo {
  server: Server;
  port: number;
  /** Requests to /slow wait until this is called. */
  release(): void;
}

async function echo(name: string): Promise<Echo> {
  let waiting: (() => void)[] = [];
  const server = createServer((req, res) => {
    const answer = () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ upstream: name, headers: req.headers }));
    };
    if (req.url?.endsWith('/slow') === true) waiting.push(answer);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    release() {
      for (const answer of waiting) answer();
      waiting = [];
    },
  };
}

interface Reply {
  status: number;
  body: { upstream?: string; headers?: IncomingHttpHeaders; error?: string };
  socket: Socket;
}

function get(port: number, path: string, headers: Record<string, string>, agent?: Agent) {
  return new Promise<Reply>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, headers, agent: agent ?? false },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: text === '' ? {} : JSON.parse(text),
            socket: req.socket as Socket,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

function writeConfig(app: Echo, grafana: Echo): void {
  writeFileSync(
    configFile,
    [
      'listen: { host: 127.0.0.1, port: 0 }',
      `upstream: http://127.0.0.1:${app.port}`,
      'auth: { realm: reload, basic: { htpasswd: htpasswd, allowInsecure: true } }',
      'routes:',
      '  - prefix: /grafana',
      `    upstream: http://127.0.0.1:${grafana.port}`,
      '    identity: { userHeader: X-WEBAUTH-USER, userFormat: user }',
      '    rules: [{ prefix: /grafana/admin, users: [carol] }]',
      '  - host: grafana.example.test',
      `    upstream: http://127.0.0.1:${grafana.port}`,
      '    identity: { userHeader: X-WEBAUTH-USER, userFormat: user }',
      'log: { level: info }',
      '',
    ].join('\n'),
  );
}

let app1: Echo;
let app2: Echo;
let grafana: Echo;
let gw: GatewayProcess;

before(async () => {
  execFileSync('htpasswd', ['-c', '-b', '-B', '-C', '5', htpasswd, 'carol', 'carolpw'], {
    stdio: 'ignore',
  });
  [app1, app2, grafana] = await Promise.all([echo('app1'), echo('app2'), echo('grafana')]);
  writeConfig(app1, grafana);
  gw = await startGatewayProcess(configFile);
});

after(async () => {
  await gw?.stop();
  for (const upstream of [app1, app2, grafana]) {
    upstream?.release();
    upstream?.server.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('several upstreams and reload on SIGHUP', () => {
  it('Grafana auth proxy: X-WEBAUTH-USER is exactly the gateway value; client copies never pass', async () => {
    const reply = await get(gw.port, '/grafana/d/home', {
      ...basic('carol', 'carolpw'),
      'X-WEBAUTH-USER': 'admin',
    });
    assert.equal(reply.status, 200);
    assert.equal(reply.body.upstream, 'grafana');
    assert.equal(reply.body.headers?.['x-webauth-user'], 'carol');
    assert.equal(reply.body.headers?.['x-auth-mechanism'], 'Basic');
    assert.equal(reply.body.headers?.['x-remote-user'], undefined, 'the route names its header');
    assert.equal(reply.body.headers?.['authorization'], undefined);
    // The top-level app does not read X-WEBAUTH-USER, but a forged copy still never reaches it.
    const other = await get(gw.port, '/app', {
      ...basic('carol', 'carolpw'),
      'X-WEBAUTH-USER': 'admin',
    });
    assert.equal(other.body.upstream, 'app1');
    assert.equal(other.body.headers?.['x-webauth-user'], undefined);
    assert.equal(other.body.headers?.['x-remote-user'], 'carol');
    // A route by host: the same upstream under its own name.
    const byHost = await get(gw.port, '/d/home', {
      ...basic('carol', 'carolpw'),
      host: 'grafana.example.test',
      'X-WEBAUTH-USER': 'admin',
    });
    assert.equal(byHost.body.upstream, 'grafana');
    assert.equal(byHost.body.headers?.['x-webauth-user'], 'carol');
    // The route's own rules: /grafana/admin admits carol only.
    assert.equal((await get(gw.port, '/grafana/admin', basic('carol', 'carolpw'))).status, 200);
    // Without credentials: a challenge, nothing forwarded.
    assert.equal(
      (await get(gw.port, '/grafana/d/home', { 'X-WEBAUTH-USER': 'admin' })).status,
      401,
    );
  });

  it('SIGHUP: a running request finishes on the old config, a kept-alive connection survives', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = await get(gw.port, '/app', basic('carol', 'carolpw'), agent);
    assert.equal(before.body.upstream, 'app1');
    const slow = get(gw.port, '/slow', basic('carol', 'carolpw'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    // New configuration: another upstream, and a user added to the credential file.
    execFileSync('htpasswd', ['-b', '-B', '-C', '5', htpasswd, 'erin', 'erinpw'], {
      stdio: 'ignore',
    });
    writeConfig(app2, grafana);
    const from = gw.logs().length;
    gw.signal('SIGHUP');
    await gw.waitForLog(/^reloaded$/, 30_000, from);
    const after = await get(gw.port, '/app', basic('erin', 'erinpw'), agent);
    assert.equal(after.status, 200);
    assert.equal(after.body.upstream, 'app2');
    assert.equal(after.socket, before.socket, 'the same keep-alive connection');
    app1.release();
    const finished = await slow;
    assert.equal(finished.status, 200);
    assert.equal(finished.body.upstream, 'app1', 'the running request kept its configuration');
    agent.destroy();
  });

  it('SIGHUP with a broken configuration: refused with a log line, the previous one serves', async () => {
    writeFileSync(configFile, 'upstream: [not, a, url\nauth: {');
    const from = gw.logs().length;
    gw.signal('SIGHUP');
    const refused = await gw.waitForLog(/^reload refused/, 30_000, from);
    assert.match(JSON.stringify(refused['problems']), /does not parse/);
    const still = await get(gw.port, '/app', basic('erin', 'erinpw'));
    assert.equal(still.status, 200);
    assert.equal(still.body.upstream, 'app2');
    // A configuration that parses but cannot be built (a missing credential file) too.
    writeFileSync(
      configFile,
      `${'auth: { realm: r, digest: { file: missing.digest } }\n'}upstream: http://127.0.0.1:1\n`,
    );
    const from2 = gw.logs().length;
    gw.signal('SIGHUP');
    await gw.waitForLog(/^reload refused/, 30_000, from2);
    assert.equal((await get(gw.port, '/app', basic('erin', 'erinpw'))).body.upstream, 'app2');
  });
});
