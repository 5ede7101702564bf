/**
 * Basic with Kerberos passwords (RFC 7617 credentials checked by an AS exchange, RFC 4120 §3.1,
 * and the KDC verified with the service keytab) behind node:https on loopback, and curl -u as the
 * client: the setup the Basic-over-Kerberos tests against MIT and against the Samba AD DC share.
 *
 *   const { url } = await listenBasicKerberos(tls, { realm, keytab, krb5Conf }, servers, onRefusal);
 *   await curlBasic(url, 'alice', password);   // { status, body }
 */
import { execFile } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { basic, createAuthenticator, type BasicKerberosOptions } from '@httpauth/core';

const run = promisify(execFile);

/** What a refusal said: its stable code and the reason kept for logs. */
export interface BasicRefusal {
  readonly code: string;
  readonly reason: string | undefined;
}

/**
 * A request handler for Basic realm "intranet" over `kerberos`: the principal as JSON on success,
 * else the decision's status with its code as the body (and `onRefusal` told).
 */
export function basicKerberosHandler(
  kerberos: BasicKerberosOptions,
  onRefusal: (refusal: BasicRefusal) => void,
) {
  const auth = createAuthenticator({ packages: [basic({ realm: 'intranet', kerberos })] });
  return async (req: IncomingMessage, res: ServerResponse) => {
    const decision = await auth.authenticate({
      method: req.method ?? 'GET',
      target: req.url ?? '/',
      headers: req.headers,
      httpVersionMajor: req.httpVersionMajor,
      secure: (req.socket as TLSSocket).encrypted === true,
    });
    for (const [name, value] of decision.headers) res.appendHeader(name, value);
    if (decision.type === 'authenticated') {
      res.end(JSON.stringify(decision.auth.principal));
    } else {
      onRefusal({ code: decision.error.code, reason: decision.error.reason });
      res.statusCode = decision.status;
      res.end(decision.error.code);
    }
  };
}

/** The handler over HTTPS with `tls` on a free loopback port; the server joins `servers`. */
export async function listenBasicKerberos(
  tls: { key: Buffer; cert: Buffer },
  kerberos: BasicKerberosOptions,
  servers: { close(): unknown }[],
  onRefusal: (refusal: BasicRefusal) => void,
): Promise<string> {
  const server = createHttpsServer(tls, basicKerberosHandler(kerberos, onRefusal));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/** curl --basic -u user:password (the self-signed certificate accepted): status and body. */
export async function curlBasic(url: string, user: string, password: string) {
  const { stdout } = await run('curl', [
    '-sk',
    '--max-time',
    '30',
    '--basic',
    '-u',
    `${user}:${password}`,
    '-w',
    '\n%{http_code}',
    url,
  ]);
  const lines = stdout.split('\n');
  const status = Number(lines.pop());
  return { status, body: lines.join('\n') };
}
