/**
 * Test harness for client-certificate logons over TLS (issue 17): curl presenting a certificate of
 * the test PKI (packages/core/test/certificate-pki.ts), an upstream that echoes the identity
 * headers it receives, and the gateway with `listen.tls.clientCertificates` in front of it.
 *
 *   const curl = certificateCurl(rootCa);
 *   const echo = await startIdentityEcho({ user: 'x-remote-user' });
 *   const { gateway, url } = await startCertificateGateway(pki, { mapping }, { upstream: echo.url });
 *   await curl(url, pki.certs.sid);   // { status, body, challenges }
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createGateway, validateConfig, type Gateway } from '@httpauth/gateway';
import type { Issued, TestPki } from '../../packages/core/test/certificate-pki.js';

const run = promisify(execFile);

export interface CurlAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly challenges: readonly string[];
}

/** curl over HTTPS trusting `rootCa`; `cert` presented with --cert/--key, `extra` curl options. */
export function certificateCurl(
  rootCa: string,
): (url: string, cert: Issued | undefined, extra?: string[]) => Promise<CurlAnswer> {
  return async (url, cert, extra = []) => {
    const credentials = cert === undefined ? [] : ['--cert', cert.fullChain, '--key', cert.key];
    const { stdout } = await run('curl', [
      '-s',
      '-D',
      '-',
      '--cacert',
      rootCa,
      ...credentials,
      ...extra,
      url,
    ]);
    // With --digest curl prints the 401's headers too: the last response is what counts.
    const last = stdout.split(/\r\n(?=HTTP\/)/).at(-1) as string;
    const [head, body = ''] = last.split('\r\n\r\n');
    const lines = (head as string).split('\r\n');
    return {
      status: Number(/^HTTP\/\S+ (\d{3})/.exec(lines[0] as string)?.[1]),
      body: JSON.parse(body) as Record<string, unknown>,
      challenges: lines
        .filter((line) => /^www-authenticate:/i.test(line))
        .map((line) => line.slice(line.indexOf(':') + 1).trim()),
    };
  };
}

/**
 * An upstream on loopback that answers with JSON: each field of `fields` holds the request header
 * it names (null when absent), so a test sees what identity the gateway forwarded.
 */
export async function startIdentityEcho(
  fields: Record<string, string>,
): Promise<{ url: string; close(): void }> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    const echoed = Object.entries(fields).map(([field, header]) => [
      field,
      req.headers[header] ?? null,
    ]);
    res.end(JSON.stringify(Object.fromEntries(echoed)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

/**
 * The gateway over TLS with the PKI's server certificate, asking for client certificates that
 * chain to the PKI's root and checking both CRLs; `clientCertificates` adds to (or overrides) that
 * section, `config` adds the rest (upstream, auth, identity, directory ...). Relative paths in the
 * configuration resolve against `baseDir`. The caller closes the gateway.
 */
export async function startCertificateGateway(
  pki: TestPki,
  clientCertificates: Record<string, unknown>,
  config: Record<string, unknown>,
  baseDir: string,
): Promise<{ gateway: Gateway; url: string }> {
  const validated = validateConfig(
    {
      listen: {
        host: '127.0.0.1',
        port: 0,
        tls: {
          cert: pki.server.cert,
          key: pki.server.key,
          clientCertificates: {
            ca: join(pki.dir, 'root', 'ca.pem'),
            crlFiles: [pki.rootCrl, pki.intermediateCrl],
            ...clientCertificates,
          },
        },
      },
      log: { level: 'silent' },
      ...config,
    },
    {},
    baseDir,
  );
  const gateway = createGateway(validated);
  const { port } = await gateway.listen();
  return { gateway, url: `https://127.0.0.1:${port}/app` };
}
