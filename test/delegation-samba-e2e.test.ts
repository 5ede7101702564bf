/**
 * Constrained delegation end to end against the Samba AD DC (machine-wide lock: one short run).
 *
 * An intranet API (httpauth, service account websvc, HTTP/localhost) lets users log on with
 * NTLM checked by the DC over NETLOGON (curl --ntlm) or Basic checked by the KDC (curl -u), both
 * through protocol transition, or with Kerberos (curl --negotiate, as a browser), and
 * calls backends as them with `impersonation.fetch()`: S4U2Self then S4U2Proxy from its own
 * keytab, Negotiate to the backend with mutual authentication. Backends: another httpauth server
 * and Apache with mod_auth_gssapi, both must see the user. Refused: a sensitive account
 * (NOT_DELEGATED), a backend the directory does not allow, a backend not in allowedServices
 * (locally, no KDC request). klist reads the exported ccache of the delegated ticket.
 */
import { strict as assert } from 'node:assert';
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import {
  basic,
  createImpersonation,
  domainControllerVerifier,
  ntlm,
  isHttpAuthError,
  negotiate,
  statusForKind,
  type ImpersonationFactoryWithResources,
  type PosixIdentity,
} from '@httpauth/core';
import { createHandler } from '@httpauth/core/node';
import { startApacheGssapi, type ApacheGssapi } from './harness/apache-gssapi.js';
import { listen, type Running } from './harness/listen.js';
import { DEFAULT_SAMBA_USERS, startSambaDc, type SambaDc } from './harness/samba-dc.js';
import { sambaDelegation } from './harness/samba-delegation.js';

const run = promisify(execFile);
const alice = DEFAULT_SAMBA_USERS[0] as { name: string; password: string };
const bob = { name: 'bob', password: 'B0b-Passw0rd!' };
const carol = { name: 'carol', password: 'Car0l-Passw0rd!' };
const MACHINE = { name: 'WEB2', password: 'Web2-Machine-Passw0rd!' };
const BACKEND = 'HTTP/backend.samdom.test';
const APACHE = 'HTTP/apache.samdom.test';
const RBCD = 'HTTP/rbcd.samdom.test';
const OTHER = 'HTTP/other.samdom.test';

let dc: SambaDc;
let apache: ApacheGssapi | undefined;
let impersonation: ImpersonationFactoryWithResources;
const servers: Running[] = [];
let front: Running;
let backend: Running;
let rbcdBackend: Running;
const setupOutput: Record<string, string> = {};

/** Local users for the AD accounts: the policy maps alice and bob to them (no useradd needed). */
const users = {
  // Basic names keep their realm ('alice@SAMDOM.TEST'), Kerberos ones lose it ('alice').
  lookup: async (name: string): Promise<PosixIdentity | undefined> =>
    ['alice', 'bob', 'carol'].includes(name.split('@')[0] as string)
      ? {
          user: name,
          uid: name.startsWith('alice') ? 61001 : name.startsWith('bob') ? 61002 : 61003,
          gid: 61000,
          groups: [61000],
          groupNames: ['staff'],
          home: '/nonexistent',
          shell: '/usr/sbin/nologin',
        }
      : undefined,
};

async function whoamiBackend(keytab: string): Promise<Running> {
  const handler = createHandler(
    { packages: [negotiate({ kerberos: { keytab } })] },
    (_req, res, auth) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ user: auth.principal.name, mechanism: auth.principal.mechanism }));
    },
  );
  const running = await listen(createServer(handler));
  servers.push(running);
  return running;
}

before(async () => {
  dc = await startSambaDc({ users: [alice, bob, carol], machineAccounts: [MACHINE] });
  const setup = sambaDelegation(dc);
  const backendKeytab = await setup.addBackend('backsvc', BACKEND);
  const apacheKeytab = await setup.addBackend('apachesvc', APACHE);
  const rbcdKeytab = await setup.addBackend('rbcdsvc', RBCD);
  await setup.addBackend('othersvc', OTHER);
  await setup.tool('delegation', 'for-any-protocol', 'websvc', 'on');
  await setup.tool('delegation', 'add-service', 'websvc', BACKEND);
  await setup.tool('delegation', 'add-service', 'websvc', APACHE);
  setupOutput.rbcd = await setup
    .tool('delegation', 'add-principal', 'rbcdsvc', 'websvc')
    .catch((error: Error) => `failed: ${error.message}`);
  await setup.tool('user', 'sensitive', bob.name, 'on');
  setupOutput.show = await setup.tool('delegation', 'show', 'websvc');

  backend = await whoamiBackend(backendKeytab);
  rbcdBackend = await whoamiBackend(rbcdKeytab);
  apache = await startApacheGssapi(apacheKeytab, dc.krb5Conf);

  impersonation = createImpersonation({
    maxLevel: 'delegate',
    allow: { anyUser: true },
    userDatabase: users,
    constrainedDelegation: {
      realm: dc.realm,
      keytab: dc.keytabPath,
      servicePrincipal: `HTTP/localhost@${dc.realm}`,
      accountName: 'websvc',
      krb5Conf: dc.krb5Conf,
      allowedServices: [BACKEND, APACHE, RBCD, OTHER],
    },
  });
  const frontHandler = createHandler(
    {
      packages: [
        negotiate({ kerberos: { keytab: dc.keytabPath } }),
        // NTLM checked by the DC over NETLOGON (the machine account's secure channel).
        ntlm({
          domain: { netbios: dc.domain, dns: dc.realm.toLowerCase() },
          computerName: MACHINE.name,
          credentials: domainControllerVerifier({
            domain: dc.domain,
            servers: ['127.0.0.1'],
            machineAccount: `${MACHINE.name}$`,
            machinePassword: MACHINE.password,
            timeoutMs: 5000,
          }),
        }),
        basic({
          realm: 'intranet',
          allowInsecure: true,
          kerberos: { realm: dc.realm, keytab: dc.keytabPath, krb5Conf: dc.krb5Conf },
        }),
      ],
      impersonation,
    },
    async (req, res, auth) => {
      const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
      res.setHeader('content-type', 'application/json');
      try {
        // The harness's backends listen on 127.0.0.1 under SPNs of samdom.test names.
        const answer = await auth.impersonation.fetch!(query.get('to') ?? '', {
          service: query.get('service') ?? '',
          allowServiceHostMismatch: true,
        });
        res.end(
          JSON.stringify({
            logon: auth.principal.name,
            level: auth.impersonation.level,
            status: answer.status,
            body: await answer.text(),
          }),
        );
      } catch (error) {
        const code = isHttpAuthError(error) ? error.code : 'unexpected';
        res.statusCode = isHttpAuthError(error) ? statusForKind(error.kind) : 500;
        res.end(JSON.stringify({ error: code, reason: (error as { reason?: string }).reason }));
      }
    },
  );
  front = await listen(createServer(frontHandler));
  servers.push(front);
});

after(async () => {
  for (const server of servers) await server.close();
  await apache?.stop();
  await impersonation?.close();
  await dc?.stop();
});

async function callAs(
  login: { basic: typeof alice } | { ntlm: typeof alice } | { ccache: string },
  to: string,
  service: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const target = `http://localhost:${front.port}/call?to=${encodeURIComponent(to)}&service=${encodeURIComponent(service)}`;
  const auth =
    'basic' in login
      ? ['-u', `${login.basic.name}:${login.basic.password}`]
      : 'ntlm' in login
        ? ['--ntlm', '-u', `${dc.domain}\\${login.ntlm.name}:${login.ntlm.password}`]
        : ['--negotiate', '-u', ':'];
  const { stdout } = await run(
    'curl',
    ['-s', '--max-time', '60', ...auth, '-w', '\n%{http_code}', target],
    'ccache' in login ? { env: { ...dc.env, KRB5CCNAME: `FILE:${login.ccache}` } } : {},
  );
  const lines = stdout.split('\n');
  const status = Number(lines.pop());
  return { status, body: JSON.parse(lines.join('\n')) as Record<string, unknown> };
}

describe('S4U2Self + S4U2Proxy against Samba AD, calling backends as the user', () => {
  test('NTLM logon checked by the DC (curl --ntlm): S4U2Self for SAMDOM\\alice, the backend sees alice', async () => {
    const delegation = impersonation.constrainedDelegation!;
    const before = delegation.kdcRequests;
    const answer = await callAs({ ntlm: alice }, backend.url, BACKEND);
    // The service's TGT (AS, with the pre-authentication round), S4U2Self, S4U2Proxy.
    assert.ok(delegation.kdcRequests - before >= 3, String(delegation.kdcRequests - before));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.level, 'delegate');
    assert.equal(answer.body.logon, `${dc.domain}\\alice`);
    assert.deepEqual(JSON.parse(answer.body.body as string), {
      user: `alice@${dc.realm}`,
      mechanism: 'Kerberos',
    });
  });

  test('Basic logon (protocol transition): the httpauth backend and Apache see alice', async () => {
    const viaHttpauth = await callAs({ basic: alice }, backend.url, BACKEND);
    assert.equal(viaHttpauth.status, 200, JSON.stringify(viaHttpauth.body));
    assert.equal(viaHttpauth.body.level, 'delegate');
    assert.equal(viaHttpauth.body.status, 200);
    assert.deepEqual(JSON.parse(viaHttpauth.body.body as string), {
      user: `alice@${dc.realm}`,
      mechanism: 'Kerberos',
    });
    const viaApache = await callAs({ basic: alice }, `${apache!.url}/api`, APACHE);
    assert.equal(viaApache.status, 200, JSON.stringify(viaApache.body));
    assert.equal(viaApache.body.status, 200);
    assert.equal(viaApache.body.body, '{"backend":"apache"}');
    assert.ok(
      apache!.accessLog().includes(`alice@${dc.realm} 200 /api`),
      apache!.accessLog().join('\n'),
    );
  });

  test('Kerberos logon (curl --negotiate): the backend sees alice; tickets come from the cache', async () => {
    const ccache = await dc.kinit(alice.name, alice.password);
    const delegation = impersonation.constrainedDelegation!;
    const before = delegation.kdcRequests;
    const answer = await callAs({ ccache }, backend.url, BACKEND);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(JSON.parse(answer.body.body as string), {
      user: `alice@${dc.realm}`,
      mechanism: 'Kerberos',
    });
    // alice's S4U2Self and S4U2Proxy tickets from the first test are still fresh.
    assert.equal(delegation.kdcRequests, before);
  });

  test("Kerberos logon: the client's own forwardable ticket is the S4U2Proxy evidence (no S4U2Self)", async () => {
    const ccache = await dc.kinit(carol.name, carol.password);
    const delegation = impersonation.constrainedDelegation!;
    const before = delegation.kdcRequests;
    const answer = await callAs({ ccache }, backend.url, BACKEND);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(JSON.parse(answer.body.body as string), {
      user: `carol@${dc.realm}`,
      mechanism: 'Kerberos',
    });
    // One TGS exchange: S4U2Proxy with carol's ticket to HTTP/localhost (the service's TGT is held).
    assert.equal(delegation.kdcRequests - before, 1);
    assert.equal(delegation.cachedUsers, 1, 'no S4U2Self ticket was cached for carol');
  });

  test('a sensitive account (NOT_DELEGATED): refused with a stable code', async () => {
    const answer = await callAs({ basic: bob }, backend.url, BACKEND);
    assert.equal(answer.status, 403, JSON.stringify(answer.body));
    assert.equal(answer.body.error, 'ERR_HTTPAUTH_DELEGATION_NOT_FORWARDABLE');
  });

  test('a backend the directory does not allow: the KDC refuses S4U2Proxy', async () => {
    const answer = await callAs({ basic: alice }, backend.url, OTHER);
    assert.equal(answer.status, 403, JSON.stringify(answer.body));
    assert.equal(answer.body.error, 'ERR_HTTPAUTH_DELEGATION_REFUSED');
    assert.match(String(answer.body.reason), /BADOPTION|POLICY/);
  });

  test('a backend not in allowedServices: refused before any KDC request', async () => {
    const delegation = impersonation.constrainedDelegation!;
    const before = delegation.kdcRequests;
    const answer = await callAs({ basic: alice }, backend.url, 'HTTP/elsewhere.samdom.test');
    assert.equal(answer.status, 403, JSON.stringify(answer.body));
    assert.equal(answer.body.error, 'ERR_HTTPAUTH_DELEGATION_TARGET_NOT_ALLOWED');
    assert.equal(delegation.kdcRequests, before);
  });

  test('a backend answering without a valid AP-REP is refused (mutual authentication)', async () => {
    // The httpauth backend holding HTTP/backend's key, asked under the Apache SPN: the ticket
    // does not open, so no AP-REP can come back and the 401 is handed over as the backend's.
    const answer = await callAs({ basic: alice }, backend.url, APACHE);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.status, 401);
    // A server that answers 200 without any Negotiate token is not believed.
    const plain = createServer((_req, res) => res.end('{"user":"someone"}'));
    const impostor = await listen(plain);
    servers.push(impostor);
    const refused = await callAs({ basic: alice }, impostor.url, BACKEND);
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.equal(refused.body.error, 'ERR_HTTPAUTH_MUTUAL_AUTH_FAILED');
  });

  test('resource-based constrained delegation: honoured by Samba >= 4.19, refused with a stable code by 4.17', async () => {
    // samba-tool delegation add-principal writes the backend's
    // msDS-AllowedToActOnBehalfOfOtherIdentity, and our S4U2Proxy sends PA-PAC-OPTIONS with the
    // RBCD bit, but Debian 12's Samba 4.17 wires the RBCD check (samba_kdc_check_s4u2proxy_rbcd)
    // into the MIT KDC build only: its embedded Heimdal KDC applies msDS-AllowedToDelegateTo alone
    // and answers KDC_ERR_BADOPTION (Heimdal RBCD came with Samba 4.19).
    assert.equal(setupOutput.rbcd?.startsWith('failed'), false, setupOutput.rbcd);
    const { stdout } = await run('samba', ['--version']);
    const [major, minor] = (/(\d+)\.(\d+)/.exec(stdout) ?? []).slice(1).map(Number);
    const answer = await callAs({ basic: alice }, rbcdBackend.url, RBCD);
    if ((major as number) > 4 || (minor as number) >= 19) {
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.deepEqual(JSON.parse(answer.body.body as string), {
        user: `alice@${dc.realm}`,
        mechanism: 'Kerberos',
      });
    } else {
      assert.equal(answer.status, 403, JSON.stringify(answer.body));
      assert.equal(answer.body.error, 'ERR_HTTPAUTH_DELEGATION_REFUSED');
      assert.match(String(answer.body.reason), /BADOPTION/);
    }
  });

  test('klist reads the exported ccache holding the delegated ticket', async () => {
    const context = await impersonation(
      { name: `alice@${dc.realm}`, user: 'alice', realm: dc.realm, mechanism: 'Basic' },
      undefined,
    );
    try {
      const path = await context.credentialCacheFor!(BACKEND);
      const { stdout } = await run('klist', ['-f', '-c', `FILE:${path}`], { env: dc.env });
      assert.match(stdout, new RegExp(`Default principal: alice@${dc.realm}`));
      assert.match(stdout, new RegExp(`${BACKEND}@${dc.realm}`));
      await context.dispose();
      await assert.rejects(run('klist', ['-c', `FILE:${path}`], { env: dc.env }));
    } finally {
      await context.dispose();
    }
  });

  test('the delegation example (docs/delegation.md): a browser-like client without --delegation, no local user', async () => {
    const script = fileURLToPath(new URL('../examples/delegation/server.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      env: {
        ...dc.env,
        PORT: '0',
        HOST: '127.0.0.1',
        KRB5_KTNAME: dc.keytabPath,
        DELEGATION_REALM: dc.realm,
        DELEGATION_ACCOUNT: 'websvc',
        DELEGATION_S4U_SERVICES: BACKEND,
        DELEGATION_DOWNSTREAM: `${backend.url}/whoami`,
        DELEGATION_DOWNSTREAM_SPN: BACKEND,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const base = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const match = /listening on (http:\/\/[0-9.:]+)/.exec(line);
          if (match !== null) resolve((match[1] as string).replace('127.0.0.1', 'localhost'));
        });
        child.once('exit', (code) => reject(new Error(`example exited (${code}): ${stderr}`)));
      });
      const ccache = await dc.kinit(alice.name, alice.password);
      const { stdout } = await run(
        'curl',
        ['-s', '--max-time', '60', '--negotiate', '-u', ':', `${base}/downstream`],
        { env: { ...dc.env, KRB5CCNAME: `FILE:${ccache}` } },
      );
      assert.deepEqual(JSON.parse(stdout), {
        as: `alice@${dc.realm}`,
        via: 'S4U2Proxy',
        downstream: { status: 200, body: { user: `alice@${dc.realm}`, mechanism: 'Kerberos' } },
      });
    } finally {
      child.kill('SIGTERM');
    }
  });
});
