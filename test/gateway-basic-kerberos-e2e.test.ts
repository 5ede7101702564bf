/**
 * The gateway's auth.basic.kerberos end to end: a throwaway MIT realm (test/harness/mit-kdc.ts),
 * the gateway over TLS configured from a YAML file (realm, keytab, krb5.conf or a KDC list,
 * timeoutMs), Debian's curl -u as the client, and an upstream that echoes what the gateway
 * forwards; a user of a trusted realm (a second MIT realm with a one-way cross-realm trust) too.
 * A wrong password and an unknown user get one and the same refusal; a KDC that is
 * down gives 503; plain HTTP without allowInsecure offers no Basic at all.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createGateway, loadConfig, type Gateway } from '@httpauth/gateway';
import { startMitKdc, type MitKdc } from './harness/mit-kdc.js';
import { selfSignedCertificateFiles } from './support/tls.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'httpauth-gateway-basic-krb-'));
const ALICE_PASSWORD = 'alice-gw-pw-1';
const CAROL_PASSWORD = 'carol-partner-pw-2';
const PARTNER = 'PARTNER.TEST';

async function curl(url: string, args: string[]) {
  const { stdout } = await run('curl', [
    '-sk',
    '--max-time',
    '30',
    '-D',
    join(dir, 'headers'),
    '-w',
    '\n%{http_code}',
    ...args,
    url,
  ]);
  const lines = stdout.split('\n');
  const status = Number(lines.pop());
  const headers = readFileSync(join(dir, 'headers'), 'utf8');
  return { status, body: lines.join('\n'), headers };
}

function gatewayYaml(lines: string[]): string {
  const file = join(dir, `gw-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

describe('gateway auth.basic.kerberos against MIT', () => {
  let kdc: MitKdc;
  let partner: MitKdc;
  let upstream: Server;
  const gateways: Gateway[] = [];
  let tlsUrl: string;
  let plainUrl: string;

  async function start(file: string): Promise<number> {
    const gateway = createGateway(loadConfig(file, {}, {}));
    gateways.push(gateway);
    return (await gateway.listen()).port;
  }

  before(async () => {
    [kdc, partner] = await Promise.all([
      startMitKdc({
        principals: [
          { name: 'alice', password: ALICE_PASSWORD, options: ['+requires_preauth'] },
          { name: 'HTTP/localhost' },
        ],
      }),
      startMitKdc({
        realm: PARTNER,
        principals: [{ name: 'carol', password: CAROL_PASSWORD, options: ['+requires_preauth'] }],
      }),
    ]);
    // A one-way trust: PARTNER's users may use EXAMPLE's services (the same inter-realm key).
    for (const k of [kdc, partner])
      k.kadmin(`addprinc -pw xrealm-pw krbtgt/${kdc.realm}@${PARTNER}`);
    // The gateway's own copies: stopping the KDC (the last test) removes the realm's folder.
    copyFileSync(kdc.keytabPath, join(dir, 'http.keytab'));
    writeFileSync(
      join(dir, 'krb5.conf'),
      `[libdefaults]\n    dns_lookup_kdc = false\n[realms]\n` +
        `    ${kdc.realm} = {\n        kdc = 127.0.0.1:${kdc.port}\n    }\n` +
        `    ${PARTNER} = {\n        kdc = 127.0.0.1:${partner.port}\n    }\n`,
    );
    selfSignedCertificateFiles(dir, { key: 'tls.key', cert: 'tls.crt' });
    upstream = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ headers: req.headers }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const common = [
      `upstream: ${upstreamUrl}`,
      'log: { level: silent }',
      'auth:',
      '  realm: intranet',
      '  basic:',
      '    kerberos:',
      `      realm: ${kdc.realm}`,
      '      keytab: http.keytab',
    ];
    // Over TLS: KDCs from a krb5.conf.
    const tlsPort = await start(
      gatewayYaml([
        'listen: { host: 127.0.0.1, port: 0, tls: { cert: tls.crt, key: tls.key } }',
        ...common,
        '      krb5Conf: krb5.conf',
        `      trustedRealms: [${PARTNER}]`,
        '      timeoutMs: 1500',
      ]),
    );
    tlsUrl = `https://127.0.0.1:${tlsPort}/app`;
    // Plain HTTP without allowInsecure; KDCs as a list.
    const plainPort = await start(
      gatewayYaml([
        'listen: { host: 127.0.0.1, port: 0 }',
        ...common,
        `      kdcs: ['127.0.0.1:${kdc.port}']`,
      ]),
    );
    plainUrl = `http://127.0.0.1:${plainPort}/app`;
  });

  after(async () => {
    for (const gateway of gateways) await gateway.close();
    upstream?.closeAllConnections();
    await new Promise((resolve) => upstream?.close(resolve));
    await kdc?.stop();
    await partner?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('curl -u: the upstream sees the Kerberos principal and mechanism', async () => {
    const answer = await curl(tlsUrl, ['--basic', '-u', `alice:${ALICE_PASSWORD}`]);
    assert.equal(answer.status, 200, answer.body);
    const { headers } = JSON.parse(answer.body) as { headers: Record<string, string> };
    assert.equal(headers['x-remote-user'], `alice@${kdc.realm}`);
    assert.equal(headers['x-auth-mechanism'], 'Basic');
    // The password never reaches the upstream.
    assert.equal(headers['authorization'], undefined);
  });

  it('a user of a trusted realm (auth.basic.kerberos.trustedRealms) reaches the upstream under her own realm', async () => {
    const answer = await curl(tlsUrl, ['--basic', '-u', `carol@${PARTNER}:${CAROL_PASSWORD}`]);
    assert.equal(answer.status, 200, answer.body);
    const { headers } = JSON.parse(answer.body) as { headers: Record<string, string> };
    assert.equal(headers['x-remote-user'], `carol@${PARTNER}`);
    // A realm that is not listed: refused as bad credentials, like a wrong password.
    const other = await curl(tlsUrl, ['--basic', '-u', `carol@OTHER.TEST:${CAROL_PASSWORD}`]);
    assert.equal(other.status, 401);
    assert.equal(JSON.parse(other.body).error, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
  });

  it('a wrong password and an unknown user are refused alike', async () => {
    const wrong = await curl(tlsUrl, ['--basic', '-u', 'alice:not-the-password']);
    const unknown = await curl(tlsUrl, ['--basic', '-u', `nobody:${ALICE_PASSWORD}`]);
    for (const answer of [wrong, unknown]) {
      assert.equal(answer.status, 401, answer.body);
      assert.equal(JSON.parse(answer.body).error, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
      assert.match(answer.headers, /www-authenticate: Basic realm="intranet", charset="UTF-8"/i);
    }
    assert.equal(wrong.body, unknown.body);
  });

  it('plain HTTP without allowInsecure: Basic is neither offered nor accepted', async () => {
    const anonymous = await curl(plainUrl, []);
    assert.equal(anonymous.status, 401);
    assert.doesNotMatch(anonymous.headers, /www-authenticate: Basic/i);
    const answer = await curl(plainUrl, ['--basic', '-u', `alice:${ALICE_PASSWORD}`]);
    assert.equal(answer.status, 401, answer.body);
    assert.equal(JSON.parse(answer.body).error, 'ERR_HTTPAUTH_INSECURE_TRANSPORT');
  });

  it('the KDC down: 503 with ERR_HTTPAUTH_KDC_UNAVAILABLE, not a refusal', async () => {
    await kdc.stop();
    const answer = await curl(tlsUrl, ['--basic', '-u', `alice:${ALICE_PASSWORD}`]);
    assert.equal(answer.status, 503, answer.body);
    assert.equal(JSON.parse(answer.body).error, 'ERR_HTTPAUTH_KDC_UNAVAILABLE');
  });
});
