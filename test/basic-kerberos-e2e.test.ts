/**
 * Basic with Kerberos passwords end to end: a throwaway MIT realm (test/harness/mit-kdc.ts), the
 * Basic package over node:https checking passwords with that KDC and verifying it with the realm
 * keytab, and real clients (Debian's curl -u, Python requests). A second MIT KDC with the same
 * realm name but its own keys plays the spoofed KDC: it accepts alice's password, but the
 * service ticket it issues does not decrypt with the real keytab, so the logon is refused.
 */
import { strict as assert } from 'node:assert';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { BasicKerberosOptions } from '@httpauth/core';
import { curlBasic, listenBasicKerberos } from './harness/basic-kerberos.js';
import { startMitKdc, type MitKdc } from './harness/mit-kdc.js';
import { selfSignedCertificateFiles } from './support/tls.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'httpauth-basic-krb-'));
const servers: { close(): unknown }[] = [];
const refusals: { code: string; reason: string | undefined }[] = [];

const PASSWORDS = {
  alice: 'alice-pw-1',
  bob: 'bob-pw-2',
  carol: 'carol-pw-3',
  dave: 'dave-pw-4',
  erin: 'erin-pw-5',
} as const;

let kdc: MitKdc;
let spoof: MitKdc;
let tls: { key: Buffer; cert: Buffer };

const listenHttps = (kerberos: BasicKerberosOptions) =>
  listenBasicKerberos(tls, kerberos, servers, (refusal) => refusals.push(refusal));

const PYTHON = `
import json, sys, warnings
import requests
warnings.filterwarnings("ignore")
url, user, password = sys.argv[1:4]
r = requests.get(url, auth=(user, password), verify=False, timeout=30)
print(json.dumps({"status": r.status_code, "body": r.text}))
`;

async function pythonBasic(url: string, user: string, password: string) {
  const { stdout } = await run('python3', ['-c', PYTHON, url, user, password]);
  return JSON.parse(stdout) as { status: number; body: string };
}

let realUrl: string;
let spoofUrl: string;
let deadUrl: string;

before(async () => {
  kdc = await startMitKdc({
    principals: [
      { name: 'alice', password: PASSWORDS.alice, options: ['+requires_preauth'] },
      // No pre-authentication required: the KDC answers the first AS-REQ with an AS-REP.
      { name: 'bob', password: PASSWORDS.bob },
      {
        name: 'carol',
        password: PASSWORDS.carol,
        options: ['+requires_preauth', '-pwexpire', '"2001-01-01"'],
      },
      { name: 'dave', password: PASSWORDS.dave, options: ['+requires_preauth', '-allow_tix'] },
      // AES-SHA2 only (RFC 8009 string-to-key, its salt carries the enctype name).
      {
        name: 'erin',
        password: PASSWORDS.erin,
        options: ['+requires_preauth'],
        enctypes: ['aes256-cts-hmac-sha384-192', 'aes128-cts-hmac-sha256-128'],
      },
      { name: 'HTTP/localhost' },
    ],
  });
  // Same realm name, same user and password, different keys for everything.
  spoof = await startMitKdc({
    principals: [
      { name: 'alice', password: PASSWORDS.alice, options: ['+requires_preauth'] },
      { name: 'HTTP/localhost' },
    ],
  });
  tls = selfSignedCertificateFiles(dir);
  const common = { realm: kdc.realm, keytab: kdc.keytabPath, timeoutMs: 1500 };
  realUrl = await listenHttps({ ...common, krb5Conf: kdc.krb5Conf });
  spoofUrl = await listenHttps({ ...common, kdcs: [`127.0.0.1:${spoof.port}`] });
  // A port nobody listens on: UDP gets ICMP port unreachable, TCP a refused connection.
  const closed = createHttpServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  deadUrl = await listenHttps({ ...common, kdcs: [`127.0.0.1:${closedPort}`] });
});

after(async () => {
  for (const server of servers) server.close();
  await kdc?.stop();
  await spoof?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function lastRefusal() {
  return refusals[refusals.length - 1];
}

describe('Basic over Kerberos against MIT', () => {
  for (const [client, request] of [
    ['curl -u', curlBasic],
    ['python requests', pythonBasic],
  ] as const) {
    test(`${client}: a good password logs on as the Kerberos principal`, async () => {
      const answer = await request(realUrl, 'alice', PASSWORDS.alice);
      assert.equal(answer.status, 200, answer.body);
      assert.deepEqual(JSON.parse(answer.body), {
        name: `alice@${kdc.realm}`,
        user: 'alice',
        realm: kdc.realm,
        mechanism: 'Basic',
      });
    });

    test(`${client}: wrong password and unknown user get the same code`, async () => {
      const wrong = await request(realUrl, 'alice', 'not-the-password');
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
      assert.match(lastRefusal()?.reason ?? '', /KDC_ERR_PREAUTH_FAILED/);
      const unknown = await request(realUrl, 'nobody', 'whatever');
      assert.equal(unknown.status, 401);
      assert.equal(unknown.body, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
      assert.match(lastRefusal()?.reason ?? '', /KDC_ERR_C_PRINCIPAL_UNKNOWN/);
    });
  }

  test('a user without pre-authentication: right password in, wrong one out', async () => {
    const ok = await curlBasic(realUrl, 'bob', PASSWORDS.bob);
    assert.equal(ok.status, 200, ok.body);
    assert.equal(JSON.parse(ok.body).name, `bob@${kdc.realm}`);
    const wrong = await curlBasic(realUrl, 'bob', 'bob-wrong');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    assert.match(lastRefusal()?.reason ?? '', /does not decrypt/);
  });

  test('the user may name the realm; another realm or a service name is refused', async () => {
    const ok = await pythonBasic(realUrl, `alice@${kdc.realm}`, PASSWORDS.alice);
    assert.equal(ok.status, 200, ok.body);
    const other = await pythonBasic(realUrl, 'alice@OTHER.TEST', PASSWORDS.alice);
    assert.equal(other.body, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    const service = await pythonBasic(realUrl, 'HTTP/localhost', 'x');
    assert.equal(service.body, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
  });

  test('AES-SHA2 keys (RFC 8009 string-to-key)', async () => {
    const ok = await curlBasic(realUrl, 'erin', PASSWORDS.erin);
    assert.equal(ok.status, 200, ok.body);
    assert.equal(JSON.parse(ok.body).name, `erin@${kdc.realm}`);
    const wrong = await curlBasic(realUrl, 'erin', 'nope');
    assert.equal(wrong.body, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
  });

  test('an expired password: its own code, the KDC error as the reason', async () => {
    const answer = await curlBasic(realUrl, 'carol', PASSWORDS.carol);
    assert.equal(answer.status, 401);
    assert.equal(answer.body, 'ERR_HTTPAUTH_PASSWORD_EXPIRED');
    assert.match(lastRefusal()?.reason ?? '', /KDC_ERR_KEY_EXPIRED/);
  });

  test('a locked account (-allow_tix): its own code', async () => {
    const answer = await pythonBasic(realUrl, 'dave', PASSWORDS.dave);
    assert.equal(answer.status, 401);
    assert.equal(answer.body, 'ERR_HTTPAUTH_ACCOUNT_LOCKED');
    assert.match(lastRefusal()?.reason ?? '', /KDC_ERR_CLIENT_REVOKED/);
  });

  test('a spoofed KDC that accepts the password is refused by the keytab check', async () => {
    for (const request of [curlBasic, pythonBasic]) {
      const answer = await request(spoofUrl, 'alice', PASSWORDS.alice);
      assert.equal(answer.status, 401);
      assert.equal(answer.body, 'ERR_HTTPAUTH_KDC_UNVERIFIED');
      assert.match(lastRefusal()?.reason ?? '', /does not decrypt with the keytab/);
    }
    // The real KDC, same user and password, same keytab: accepted. The keytab makes the difference.
    assert.equal((await curlBasic(realUrl, 'alice', PASSWORDS.alice)).status, 200);
  });

  test('no KDC answers: 503', async () => {
    const answer = await curlBasic(deadUrl, 'alice', PASSWORDS.alice);
    assert.equal(answer.status, 503);
    assert.equal(answer.body, 'ERR_HTTPAUTH_KDC_UNAVAILABLE');
  });
});

/** Starts examples/intranet-api from source on a free port; resolves once it listens. */
function startDemo(env: NodeJS.ProcessEnv): Promise<{ base: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'examples/intranet-api/src/server.ts'],
    {
      env: { ...env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      const match = /listening on (https?:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (match !== null) resolve({ base: match[1] as string, child });
    });
    child.once('exit', (code) => reject(new Error(`demo exited with ${code}: ${stderr}`)));
  });
}

function stopDemo(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

describe('the demo with HTTPAUTH_BASIC_KERBEROS=1', () => {
  const children: ChildProcess[] = [];
  let demoEnv: NodeJS.ProcessEnv;

  before(() => {
    demoEnv = {
      ...process.env,
      KRB5_KTNAME: `FILE:${kdc.keytabPath}`,
      KRB5_CONFIG: kdc.krb5Conf,
      HTTPAUTH_BASIC_KERBEROS: '1',
    };
  });

  after(async () => {
    for (const child of children) await stopDemo(child);
  });

  test('over HTTPS: /whoami says Basic and the Kerberos principal', async () => {
    const demo = await startDemo({
      ...demoEnv,
      HTTPAUTH_TLS_CERT: join(dir, 'cert.pem'),
      HTTPAUTH_TLS_KEY: join(dir, 'key.pem'),
    });
    children.push(demo.child);
    assert.match(demo.base, /^https:/);
    const ok = await curlBasic(`${demo.base}/whoami`, 'alice', PASSWORDS.alice);
    assert.equal(ok.status, 200, ok.body);
    const who = JSON.parse(ok.body) as {
      name: string;
      user: string;
      realm: string;
      mechanism: string;
    };
    assert.equal(who.mechanism, 'Basic');
    assert.equal(who.name, `alice@${kdc.realm}`);
    assert.equal(who.realm, kdc.realm);
    const wrong = await pythonBasic(`${demo.base}/whoami`, 'alice', 'wrong');
    assert.equal(wrong.status, 401);
    assert.match(wrong.body, /ERR_HTTPAUTH_BAD_CREDENTIALS/);
  });

  test('over plain HTTP only with HTTPAUTH_BASIC_INSECURE=1 on loopback', async () => {
    const demo = await startDemo({ ...demoEnv, HTTPAUTH_BASIC_INSECURE: '1' });
    children.push(demo.child);
    const ok = await pythonBasic(`${demo.base}/whoami`, 'alice', PASSWORDS.alice);
    assert.equal(ok.status, 200, ok.body);
    assert.equal((JSON.parse(ok.body) as { mechanism: string }).mechanism, 'Basic');
    await assert.rejects(startDemo(demoEnv), /demo exited with 2: .*HTTPAUTH_TLS_CERT/s);
    await assert.rejects(
      startDemo({ ...demoEnv, HTTPAUTH_BASIC_INSECURE: '1', HOST: '0.0.0.0' }),
      /demo exited with 2: .*loopback/s,
    );
  });
});
