/**
 * Gateway.reload: new requests use the new configuration; what only a restart can change is
 * refused; of two reloads in flight the later one wins, whichever finishes its store wait first.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GatewayConfigError, validateConfig } from '../src/config.js';
import { createGateway } from '../src/gateway.js';
import type { Gateway } from '../src/gateway.js';

const servers: Server[] = [];
const dir = mkdtempSync(join(tmpdir(), 'httpauth-gateway-reload-unit-'));
const htpasswd = join(dir, 'htpasswd');
writeFileSync(htpasswd, '');
let gateway: Gateway;
let port: number;

async function namedUpstream(name: string): Promise<string> {
  const server = createServer((_req, res) => res.end(name));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function configFor(upstream: string, listen = { host: '127.0.0.1', port: 0 }) {
  return validateConfig({
    listen,
    upstream,
    auth: { basic: { htpasswd } },
    rules: [{ prefix: '/', public: true }],
    log: { level: 'silent' },
  });
}

function fetchBody(): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      res.on('end', () => resolve(text));
    })
      .on('error', reject)
      .end();
  });
}

let urls: Record<'one' | 'two' | 'three', string>;

before(async () => {
  urls = {
    one: await namedUpstream('one'),
    two: await namedUpstream('two'),
    three: await namedUpstream('three'),
  };
  gateway = createGateway(configFor(urls.one));
  ({ port } = await gateway.listen());
});

after(async () => {
  await gateway?.close();
  for (const server of servers) server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Gateway.reload', () => {
  it('new requests use the new configuration', async () => {
    assert.equal(await fetchBody(), 'one');
    await gateway.reload(configFor(urls.two));
    assert.equal(await fetchBody(), 'two');
  });

  it('refuses to change the listening address (a restart does that), and keeps serving', async () => {
    await assert.rejects(
      gateway.reload(configFor(urls.three, { host: '127.0.0.1', port: 1 })),
      (error: unknown) =>
        error instanceof GatewayConfigError && /listen .* need a restart/.test(error.message),
    );
    assert.equal(await fetchBody(), 'two');
  });

  it('of two reloads in flight, the later one wins', async () => {
    const [first, second] = await Promise.allSettled([
      gateway.reload(configFor(urls.one)),
      gateway.reload(configFor(urls.three)),
    ]);
    assert.equal(first.status, 'rejected');
    assert.equal(second.status, 'fulfilled');
    assert.equal(await fetchBody(), 'three');
  });
});
