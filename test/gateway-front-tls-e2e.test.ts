/**
 * TLS ended at a front proxy: the gateway listens in plain HTTP behind a TLS terminator (here a
 * TLS-to-TCP relay on loopback, as HAProxy in `mode tcp` with `ssl` would be), lists it in
 * trustedProxies, and takes channel bindings from `channelBindingCertificate`, the certificate the
 * terminator presents (RFC 5929 tls-server-end-point, MS-NLMP §3.2.5.1.2 MsvAvChannelBindings).
 * python requests_ntlm binds its NTLM response to the TLS channel it sees: accepted with the
 * front certificate configured, refused with another one (a token relayed from another channel),
 * and refused without one (NTLM channelBinding `require` with no channel to bind).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServer as createTlsServer } from 'node:tls';
import type { Server as TlsServer } from 'node:tls';
import { ntowfv1 } from '@httpauth/core/wire';
import { validateConfig } from '@httpauth/gateway';
import { createGateway } from '@httpauth/gateway';
import type { Gateway } from '@httpauth/gateway';
import { requestsNtlm, scratchDir, selfSignedCertificate } from './harness/ntlm-clients.js';

const PASSWORD = 'alice-front-door-1';
let dir: { path: string; cleanup: () => Promise<void> };
let upstream: Server;
const closers: (() => Promise<void>)[] = [];

/**
 * A gateway behind its own TLS terminator, configured with the terminator's certificate
 * (`front`), an unrelated one (`other`) or none; resolves with the terminator's https base URL.
 */
async function frontDoor(configured: 'front' | 'other' | 'none'): Promise<string> {
  const { key, cert } = await selfSignedCertificate(dir.path);
  const other = await selfSignedCertificate(dir.path);
  const certificateFile = join(
    dir.path,
    `${configured}-${Math.random().toString(36).slice(2)}.pem`,
  );
  writeFileSync(certificateFile, configured === 'front' ? cert : other.cert);
  const gateway: Gateway = createGateway(
    validateConfig(
      {
        listen: { host: '127.0.0.1', port: 0 },
        upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
        auth: {
          ntlm: {
            smbpasswd: join(dir.path, 'smbpasswd'),
            domain: 'EXAMPLE',
            channelBinding: 'require',
            allowMissingTargetName: true,
          },
        },
        trustedProxies: ['127.0.0.1'],
        ...(configured === 'none' ? {} : { channelBindingCertificate: certificateFile }),
        log: { level: 'silent' },
      },
      {},
      dir.path,
    ),
  );
  const { port } = await gateway.listen();
  const terminator: TlsServer = createTlsServer({ key, cert }, (clear) => {
    const back = connect(port, '127.0.0.1');
    clear.pipe(back).pipe(clear);
    clear.on('error', () => back.destroy());
    back.on('error', () => clear.destroy());
  });
  await new Promise<void>((resolve) => terminator.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    terminator.close();
    await gateway.close();
  });
  return `https://127.0.0.1:${(terminator.address() as AddressInfo).port}`;
}

before(async () => {
  dir = await scratchDir('httpauth-gateway-front-tls-');
  writeFileSync(
    join(dir.path, 'smbpasswd'),
    `alice:1001:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:${ntowfv1(PASSWORD).toString('hex').toUpperCase()}:[U          ]:LCT-00000000:\n`,
  );
  upstream = createServer((req, res) => res.end(String(req.headers['x-remote-user'])));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  for (const close of closers) await close();
  upstream?.close();
  await dir?.cleanup();
});

describe('channel bindings from the front proxy certificate', () => {
  it('the certificate the terminator presents: requests_ntlm is accepted', async () => {
    const base = await frontDoor('front');
    const result = await requestsNtlm(dir.path, `${base}/x`, 'EXAMPLE\\alice', PASSWORD);
    assert.equal(result.status, 200, result.body);
    assert.equal(result.body, 'EXAMPLE\\alice');
  });

  it('another certificate (a channel the client never saw): refused', async () => {
    const base = await frontDoor('other');
    const result = await requestsNtlm(dir.path, `${base}/x`, 'EXAMPLE\\alice', PASSWORD);
    assert.equal(result.status, 401);
    assert.equal(JSON.parse(result.body).error, 'ERR_HTTPAUTH_CHANNEL_BINDING_MISMATCH');
  });

  it('no certificate configured: nothing to bind to, refused under require', async () => {
    const base = await frontDoor('none');
    const result = await requestsNtlm(dir.path, `${base}/x`, 'EXAMPLE\\alice', PASSWORD);
    assert.equal(result.status, 401);
    assert.equal(JSON.parse(result.body).error, 'ERR_HTTPAUTH_CHANNEL_BINDING_MISSING');
  });
});
