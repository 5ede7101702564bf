// Basic with a real client: Debian's curl against node:https and node:http servers on loopback,
// users from an htpasswd file written by Apache's htpasswd.
import { strict as assert } from 'node:assert';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { basic } from '../src/basic/basic.js';
import { htpasswdFile } from '../src/basic/htpasswd.js';
import { createAuthenticator } from '../src/loop/authenticator.js';
import { selfSignedCertificate } from '../../../test/support/tls.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'httpauth-basic-curl-'));
const servers: { close(): unknown }[] = [];

function handler(allowInsecure: boolean) {
  const auth = createAuthenticator({
    packages: [
      basic({ realm: 'curl test', verify: htpasswdFile(join(dir, 'users')), allowInsecure }),
    ],
  });
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
      res.statusCode = decision.status;
      res.end(decision.error.code);
    }
  };
}

async function listen(server: ReturnType<typeof createHttpServer>): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function curl(args: string[]): Promise<{ status: number; body: string; headers: string }> {
  const headerFile = join(dir, `h-${Math.random().toString(36).slice(2)}`);
  const { stdout } = await run('curl', ['-s', '-D', headerFile, '-w', '\n%{http_code}', ...args]);
  const lines = stdout.split('\n');
  const status = Number(lines.pop());
  return { status, body: lines.join('\n'), headers: readFileSync(headerFile, 'utf8') };
}

let httpsPort = 0;
let httpPort = 0;
let insecurePort = 0;

before(async () => {
  writeFileSync(
    join(dir, 'users'),
    execFileSync('htpasswd', ['-nbB', '-C', '5', 'bea', 'bcrypt pw']).toString().trim() + '\n',
  );
  const { key, cert } = selfSignedCertificate();
  const tls = { key, cert };
  httpsPort = await listen(
    createHttpsServer(tls, handler(false)) as unknown as ReturnType<typeof createHttpServer>,
  );
  httpPort = await listen(createHttpServer(handler(false)));
  insecurePort = await listen(createHttpServer(handler(true)));
});

after(async () => {
  for (const server of servers) server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Basic with curl', () => {
  it('authenticates over HTTPS and challenges with charset="UTF-8"', async () => {
    const challenge = await curl(['-k', `https://127.0.0.1:${httpsPort}/`]);
    assert.equal(challenge.status, 401);
    assert.match(challenge.headers, /www-authenticate: Basic realm="curl test", charset="UTF-8"/i);
    const ok = await curl([
      '-k',
      '--basic',
      '-u',
      'bea:bcrypt pw',
      `https://127.0.0.1:${httpsPort}/`,
    ]);
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.body), {
      name: 'bea',
      user: 'bea',
      realm: 'curl test',
      mechanism: 'Basic',
    });
    const wrong = await curl([
      '-k',
      '--basic',
      '-u',
      'bea:wrong',
      `https://127.0.0.1:${httpsPort}/`,
    ]);
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
  });

  it('refuses plain HTTP unless allowInsecure', async () => {
    const none = await curl([`http://127.0.0.1:${httpPort}/`]);
    assert.equal(none.status, 401);
    assert.doesNotMatch(none.headers, /www-authenticate: Basic/i);
    const refused = await curl(['--basic', '-u', 'bea:bcrypt pw', `http://127.0.0.1:${httpPort}/`]);
    assert.equal(refused.status, 401);
    assert.equal(refused.body, 'ERR_HTTPAUTH_INSECURE_TRANSPORT');
    const allowed = await curl([
      '--basic',
      '-u',
      'bea:bcrypt pw',
      `http://127.0.0.1:${insecurePort}/`,
    ]);
    assert.equal(allowed.status, 200);
  });
});
