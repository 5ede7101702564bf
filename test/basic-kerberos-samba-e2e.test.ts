/**
 * Basic with Kerberos passwords against an Active Directory KDC (the Samba AD DC harness, which
 * takes a machine-wide lock: this file keeps its run short). AD salts keys with its own
 * ETYPE-INFO2 rules and answers disabled and expired accounts with its own KRB-ERRORs; the
 * service key the KDC is verified with is the service account's, exported by samba-tool.
 */
import { strict as assert } from 'node:assert';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { basic, createAuthenticator } from '@httpauth/core';
import { DEFAULT_SAMBA_USERS, startSambaDc, type SambaDc } from './harness/samba-dc.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'httpauth-basic-krb-ad-'));
const alice = DEFAULT_SAMBA_USERS[0] as { name: string; password: string };
const DISABLED = { name: 'dora', password: 'D0ra-Passw0rd!', state: 'disabled' as const };
const EXPIRED = { name: 'ed', password: 'Ed-Passw0rd!1', state: 'passwordExpired' as const };
const reasons: (string | undefined)[] = [];

let dc: SambaDc;
let server: ReturnType<typeof createHttpsServer> | undefined;
let url = '';

before(async () => {
  dc = await startSambaDc({ users: [alice, DISABLED, EXPIRED] });
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  const auth = createAuthenticator({
    packages: [
      basic({
        realm: 'intranet',
        kerberos: {
          realm: dc.realm,
          keytab: dc.keytabPath,
          servicePrincipal: `HTTP/localhost@${dc.realm}`,
          krb5Conf: dc.krb5Conf,
        },
      }),
    ],
  });
  server = createHttpsServer(
    { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
    async (req: IncomingMessage, res: ServerResponse) => {
      const decision = await auth.authenticate({
        method: req.method ?? 'GET',
        target: req.url ?? '/',
        headers: req.headers,
        httpVersionMajor: req.httpVersionMajor,
        secure: (req.socket as TLSSocket).encrypted === true,
      });
      if (decision.type === 'authenticated') {
        res.end(JSON.stringify(decision.auth.principal));
      } else {
        reasons.push(decision.error.reason);
        res.statusCode = decision.status;
        res.end(decision.error.code);
      }
    },
  );
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

after(async () => {
  server?.close();
  await dc?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function curlBasic(user: string, password: string) {
  const { stdout } = await run('curl', [
    '-sk',
    '--max-time',
    '30',
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

describe('Basic over Kerberos against the Samba AD DC', () => {
  test('alice logs on with her AD password; the KDC is verified with the service keytab', async () => {
    const ok = await curlBasic(alice.name, alice.password);
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual(JSON.parse(ok.body), {
      name: `alice@${dc.realm}`,
      user: 'alice',
      realm: dc.realm,
      mechanism: 'Basic',
    });
  });

  test('wrong password and unknown user: the same 401', async () => {
    for (const [user, password] of [
      [alice.name, 'Wr0ng-Passw0rd!'],
      ['nobody', 'Wr0ng-Passw0rd!'],
    ] as const) {
      const answer = await curlBasic(user, password);
      assert.equal(answer.status, 401);
      assert.equal(answer.body, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    }
  });

  test('a disabled account and an expired password get their own codes', async () => {
    const disabled = await curlBasic(DISABLED.name, DISABLED.password);
    assert.equal(disabled.status, 401);
    assert.equal(disabled.body, 'ERR_HTTPAUTH_ACCOUNT_LOCKED', reasons.at(-1));
    const expired = await curlBasic(EXPIRED.name, EXPIRED.password);
    assert.equal(expired.status, 401);
    assert.equal(expired.body, 'ERR_HTTPAUTH_PASSWORD_EXPIRED', reasons.at(-1));
  });
});
