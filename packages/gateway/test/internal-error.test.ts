/**
 * Anything thrown while a request is served becomes a coded 503 (ERR_HTTPAUTH_INTERNAL), never a
 * crash or a hung request: whether it is thrown before anything waited (the request handler runs
 * public paths, the gateway's own endpoints and kept connections without a promise) or after an
 * authentication that had to wait.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { validateConfig } from '../src/config.js';
import { createGateway } from '../src/gateway.js';
import type { Gateway } from '../src/gateway.js';

const dir = mkdtempSync(join(tmpdir(), 'httpauth-gateway-internal-'));
const htpasswd = join(dir, 'htpasswd');
writeFileSync(htpasswd, '');
let upstream: Server;
let gateway: Gateway;
let port: number;

function get(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    // A request nobody answers is the failure this file guards against: fail, do not hang.
    req.setTimeout(5000, () => req.destroy(new Error(`no answer for ${path}`)));
    req.on('error', reject).end();
  });
}

before(async () => {
  upstream = createServer((_req, res) => res.end('upstream'));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  gateway = createGateway(
    validateConfig({
      listen: { host: '127.0.0.1', port: 0 },
      upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      auth: { basic: { htpasswd, allowInsecure: true } },
      metricsPath: '/_metrics',
      rules: [{ prefix: '/public', public: true }],
      log: { level: 'silent' },
    }),
  );
  ({ port } = await gateway.listen());
});

after(async () => {
  await gateway.close();
  await new Promise((resolve) => upstream.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('a failure while serving', () => {
  it('thrown before anything waited (the metrics endpoint): a coded 503', async () => {
    const render = gateway.metrics.render.bind(gateway.metrics);
    gateway.metrics.render = () => {
      throw new Error('render failed');
    };
    try {
      const { status, body } = await get('/_metrics');
      assert.equal(status, 503);
      assert.equal(JSON.parse(body).error, 'ERR_HTTPAUTH_INTERNAL');
    } finally {
      gateway.metrics.render = render;
    }
    // The server goes on serving.
    assert.equal((await get('/public/x')).body, 'upstream');
  });

  it('thrown after an authentication that waited (Basic): a coded 503', async () => {
    const auth = gateway.metrics.auth.bind(gateway.metrics);
    gateway.metrics.auth = () => {
      throw new Error('count failed');
    };
    try {
      const credentials = Buffer.from('nobody:wrong').toString('base64');
      const { status, body } = await get('/private', { authorization: `Basic ${credentials}` });
      assert.equal(status, 503);
      assert.equal(JSON.parse(body).error, 'ERR_HTTPAUTH_INTERNAL');
    } finally {
      gateway.metrics.auth = auth;
    }
    assert.equal((await get('/private')).status, 401);
  });
});
