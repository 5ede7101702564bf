/**
 * `httpauth doctor` against a real MIT realm: the command the package's `bin` names, run on the
 * realm's keytab and on SPNEGO tokens python-gssapi makes from real tickets, including the two
 * failures operators meet most (a ticket for a name the keytab does not hold, and a kvno that
 * moved on after the service's key was changed).
 */
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startMitKdc, type MitKdc } from './harness/mit-kdc.js';

const ALICE = { name: 'alice', password: 'Alice-doctor-1' };

/** The `httpauth` command as npm links it: the core package's `bin` entry. */
function httpauthBin(): string {
  const manifestPath = createRequire(import.meta.url).resolve('@httpauth/core/package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { bin: { httpauth: string } };
  return join(dirname(manifestPath), manifest.bin.httpauth);
}

function doctor(
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [httpauthBin(), 'doctor', ...args], { env }, (error, stdout) => {
      done({ code: error === null ? 0 : Number(error.code ?? 1), stdout });
    });
  });
}

const SPNEGO_INITIATOR = `
import sys, base64, gssapi
name = gssapi.Name(sys.argv[1], gssapi.NameType.hostbased_service)
spnego = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")
ctx = gssapi.SecurityContext(name=name, usage="initiate", mech=spnego)
print(base64.b64encode(ctx.step()).decode())
`;

function spnegoToken(service: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((done, fail) => {
    execFile(
      '/usr/bin/python3',
      ['-c', SPNEGO_INITIATOR, service],
      { env },
      (error, stdout, stderr) =>
        error === null ? done(stdout.trim()) : fail(new Error(`${error.message}\n${stderr}`)),
    );
  });
}

describe('httpauth doctor against an MIT realm', () => {
  let kdc: MitKdc;

  before(async () => {
    kdc = await startMitKdc({
      principals: [
        { name: ALICE.name, password: ALICE.password },
        { name: 'HTTP/localhost' },
        { name: 'HTTP/elsewhere' },
      ],
    });
  });

  after(async () => {
    await kdc?.stop();
  });

  it('lists the keytab and finds the SPN with its kvno and enctypes', async () => {
    const { code, stdout } = await doctor(['--keytab', kdc.keytabPath, '--spn', 'HTTP/localhost']);
    assert.equal(code, 0, stdout);
    assert.match(
      stdout,
      new RegExp(`HTTP/localhost@${kdc.realm} kvno \\d+: .*aes256-cts-hmac-sha1-96`),
    );
    assert.match(stdout, /ok {3}spn: HTTP\/localhost: kvno \d+ with .*aes/);
    assert.match(stdout, /doctor: ok$/m);
  });

  it('fails an SPN the keytab does not hold, naming what it holds', async () => {
    const { code, stdout } = await doctor([
      '--keytab',
      kdc.keytabPath,
      '--spn',
      'HTTP/web.example.test',
    ]);
    assert.equal(code, 1);
    assert.match(
      stdout,
      /FAIL spn: HTTP\/web\.example\.test is not in the keytab \(it holds: .*HTTP\/localhost@/,
    );
  });

  it('accepts a real SPNEGO token and names the client', async () => {
    const { env } = kdc.kinit(ALICE.name, ALICE.password);
    const token = await spnegoToken('HTTP@localhost', env);
    const { code, stdout } = await doctor(['--keytab', kdc.keytabPath, '--token', token]);
    assert.equal(code, 0, stdout);
    assert.match(stdout, new RegExp(`ticket for HTTP/localhost@${kdc.realm}, kvno \\d+, aes`));
    assert.match(
      stdout,
      new RegExp(`ok {3}ticket: accepted: ${ALICE.name}@${kdc.realm} \\(Kerberos\\)`),
    );
  });

  it('names the missing key when the ticket is for a name the keytab lacks', async () => {
    // HTTP/elsewhere exists in the realm, so the client gets a ticket; its keys are not exported.
    const keytab = join(kdc.dir, 'localhost-only.keytab');
    kdc.exportKeytab('HTTP/localhost', keytab);
    const { env } = kdc.kinit(ALICE.name, ALICE.password);
    const token = await spnegoToken('HTTP@elsewhere', env);
    const { code, stdout } = await doctor(['--keytab', keytab, '--token', token]);
    assert.equal(code, 1, stdout);
    assert.match(
      stdout,
      new RegExp(`FAIL ticket: the keytab has no key for HTTP/elsewhere@${kdc.realm}`),
    );
    assert.match(stdout, /FAIL ticket: refused: ERR_HTTPAUTH_/);
  });

  it('says the kvno moved on when the service key changed after the keytab was made', async () => {
    const stale = join(kdc.dir, 'stale.keytab');
    kdc.exportKeytab('HTTP/localhost', stale);
    // New keys in the database only: the realm now issues tickets with the next kvno.
    kdc.kadmin('cpw -randkey HTTP/localhost');
    const { env } = kdc.kinit(ALICE.name, ALICE.password);
    const token = await spnegoToken('HTTP@localhost', env);
    const { code, stdout } = await doctor(['--keytab', stale, '--token', token]);
    assert.equal(code, 1, stdout);
    assert.match(
      stdout,
      /FAIL ticket: kvno \d+ is not in the keytab \(it holds \d+\): the account's password changed/,
    );
  });

  it('with --kdc, an AS exchange with the keytab key says the keytab is stale', async () => {
    // The previous test changed HTTP/localhost's keys: kdc.keytabPath holds the old ones.
    const stale = join(kdc.dir, 'stale.keytab');
    const { code, stdout } = await doctor(
      ['--keytab', stale, '--spn', 'HTTP/localhost', '--kdc'],
      kdc.env,
    );
    assert.equal(code, 1, stdout);
    assert.match(
      stdout,
      new RegExp(
        `FAIL keytab-kdc: the keytab's key for HTTP/localhost@${kdc.realm} does not decrypt the KDC's answer: the keytab is stale`,
      ),
    );
  });

  it('finds the realm KDC through krb5.conf; the keytab key decrypts an AS-REP, whose authtime gives the clock', async () => {
    const current = join(kdc.dir, 'current.keytab');
    kdc.exportKeytab('HTTP/localhost', current);
    const { code, stdout } = await doctor(
      ['--keytab', current, '--spn', 'HTTP/localhost', '--kdc'],
      kdc.env,
    );
    assert.equal(code, 0, stdout);
    assert.match(
      stdout,
      new RegExp(
        `ok {3}kdc: 127\\.0\\.0\\.1:${kdc.port} answered for ${kdc.realm} in \\d+ ms \\(AS-REP\\)`,
      ),
    );
    assert.match(
      stdout,
      new RegExp(
        `ok {3}keytab-kdc: the keytab's key for HTTP/localhost@${kdc.realm} is the KDC's current one \\(AS exchange, session key aes\\S+\\)`,
      ),
    );
    // Same machine, same clock: the authtime (whole seconds) is within a second or two.
    assert.match(
      stdout,
      /ok {3}clock: the local clock is [0-2] s (ahead of|behind) the KDC's \(its ticket's authtime\)/,
    );
    assert.doesNotMatch(stdout, /clock: an AS-REP carries no KDC time/);
  });

  it('compares the clocks from the PREAUTH_REQUIRED error of a principal that needs pre-authentication', async () => {
    kdc.kadmin('modprinc +requires_preauth HTTP/elsewhere');
    const { code, stdout } = await doctor(
      ['--keytab', kdc.keytabPath, '--spn', 'HTTP/elsewhere', '--realm', kdc.realm],
      kdc.env,
    );
    assert.equal(code, 0, stdout);
    assert.match(
      stdout,
      new RegExp(
        `ok {3}kdc: 127\\.0\\.0\\.1:${kdc.port} answered for ${kdc.realm} in \\d+ ms \\(KDC_ERR_PREAUTH_REQUIRED \\(25\\)\\)`,
      ),
    );
    // Same machine, same clock: within a second or two.
    assert.match(stdout, /ok {3}clock: the local clock is [0-2] s (ahead of|behind) the KDC's/);
  });

  it('takes the realm from the keytab when only --kdc is given', async () => {
    // A keytab made now: an earlier test changed HTTP/localhost's keys after kdc.keytabPath.
    const current = join(kdc.dir, 'current-only.keytab');
    kdc.exportKeytab('HTTP/localhost', current);
    const { code, stdout } = await doctor(['--keytab', current, '--kdc'], kdc.env);
    assert.equal(code, 0, stdout);
    assert.match(stdout, new RegExp(`answered for ${kdc.realm} in`));
  });

  it('fails a realm that has no KDC in krb5.conf nor in DNS', async () => {
    const { code, stdout } = await doctor(
      ['--keytab', kdc.keytabPath, '--spn', 'HTTP/localhost', '--realm', 'NO-SUCH-REALM.INVALID'],
      kdc.env,
    );
    assert.equal(code, 1, stdout);
    assert.match(stdout, /FAIL kdc: no KDC found for NO-SUCH-REALM\.INVALID/);
  });

  it('fails with a clear line when the configured KDC does not answer', async () => {
    // A krb5.conf naming a port nothing listens on (the KDC's port + 1 is not the KDC's).
    const conf = join(kdc.dir, 'unreachable-krb5.conf');
    writeFileSync(
      conf,
      `[libdefaults]\n  dns_lookup_kdc = false\n[realms]\n  ${kdc.realm} = {\n    kdc = tcp/127.0.0.1:${await closedPort()}\n  }\n`,
    );
    const { code, stdout } = await doctor(
      ['--keytab', kdc.keytabPath, '--spn', 'HTTP/localhost', '--kdc'],
      { ...kdc.env, KRB5_CONFIG: conf },
    );
    assert.equal(code, 1, stdout);
    assert.match(stdout, /FAIL kdc: 127\.0\.0\.1:\d+ unreachable: /);
    assert.match(stdout, new RegExp(`FAIL kdc: no KDC of ${kdc.realm} answered`));
  });
});

/** A loopback TCP port nobody listens on: bound, then closed. */
function closedPort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => done(port));
    });
  });
}
