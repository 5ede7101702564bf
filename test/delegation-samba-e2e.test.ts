// size: one Samba DC start (a machine-wide lock, ~40 s) serves every delegation test.
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
 *
 * Resource-based constrained delegation (the backend's msDS-AllowedToActOnBehalfOfOtherIdentity
 * names the API, MS-SFU §3.2.5.2.3) needs Samba 4.19 or later: on Debian 12 the suite installs
 * Samba from bookworm-backports (scripts/samba-backports.mjs), and the first RBCD test checks it.
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
} from '@httpauth/core';
import { createHandler } from '@httpauth/core/node';
import { startApacheGssapi, type ApacheGssapi } from './harness/apache-gssapi.js';
import { callAs, delegationUsers, whoamiBackend, type Logon } from './harness/delegation-front.js';
import { listen, type Running } from './harness/listen.js';
import { DEFAULT_SAMBA_USERS, startSambaDc, type SambaDc } from './harness/samba-dc.js';
import { sambaDelegation, type DelegationSetup } from './harness/samba-delegation.js';

const run = promisify(execFile);
const alice = DEFAULT_SAMBA_USERS[0] as { name: string; password: string };
const bob = { name: 'bob', password: 'B0b-Passw0rd!' };
const carol = { name: 'carol', password: 'Car0l-Passw0rd!' };
const MACHINE = { name: 'WEB2', password: 'Web2-Machine-Passw0rd!' };
const BACKEND = 'HTTP/backend.samdom.test';
const APACHE = 'HTTP/apache.samdom.test';
const RBCD = 'HTTP/rbcd.samdom.test';
const RBCD_KERBEROS = 'HTTP/rbcd-kerberos.samdom.test';
const OTHER = 'HTTP/other.samdom.test';
/** A second front service, without protocol transition (no TrustedToAuthForDelegation). */
const FRONT2 = 'HTTP/front2.samdom.test';

let dc: SambaDc;
let apache: ApacheGssapi | undefined;
let impersonation: ImpersonationFactoryWithResources;
const servers: Running[] = [];
let front: Running;
let backend: Running;
let rbcdBackend: Running;
let rbcdKerberosBackend: Running;
let front2: ImpersonationFactoryWithResources;
let setup: DelegationSetup;
const setupOutput: Record<string, string> = {};

before(async () => {
  dc = await startSambaDc({ users: [alice, bob, carol], machineAccounts: [MACHINE] });
  setup = sambaDelegation(dc);
  const backendKeytab = await setup.addBackend('backsvc', BACKEND);
  const apacheKeytab = await setup.addBackend('apachesvc', APACHE);
  const rbcdKeytab = await setup.addBackend('rbcdsvc', RBCD);
  await setup.addBackend('othersvc', OTHER);
  await setup.tool('delegation', 'for-any-protocol', 'websvc', 'on');
  await setup.tool('delegation', 'add-service', 'websvc', BACKEND);
  await setup.tool('delegation', 'add-service', 'websvc', APACHE);
  // Resource-based: the backends' msDS-AllowedToActOnBehalfOfOtherIdentity name the front
  // services; websvc's msDS-AllowedToDelegateTo does not list them.
  const rbcdKerberosKeytab = await setup.addBackend('rbcdkrbsvc', RBCD_KERBEROS);
  const front2Keytab = await setup.addBackend('websvc2', FRONT2);
  await setup.tool('delegation', 'add-principal', 'rbcdsvc', 'websvc');
  await setup.tool('delegation', 'add-principal', 'rbcdkrbsvc', 'websvc');
  await setup.tool('delegation', 'add-principal', 'rbcdsvc', 'websvc2');
  await setup.tool('user', 'sensitive', bob.name, 'on');
  setupOutput.show = await setup.tool('delegation', 'show', 'websvc');
  setupOutput.showRbcd = await setup.tool('delegation', 'show', 'rbcdsvc');

  backend = await whoamiBackend(backendKeytab);
  rbcdBackend = await whoamiBackend(rbcdKeytab);
  rbcdKerberosBackend = await whoamiBackend(rbcdKerberosKeytab);
  servers.push(backend, rbcdBackend, rbcdKerberosBackend);
  apache = await startApacheGssapi(apacheKeytab, dc.krb5Conf);

  impersonation = createImpersonation({
    maxLevel: 'delegate',
    allow: { anyUser: true },
    userDatabase: delegationUsers,
    constrainedDelegation: {
      realm: dc.realm,
      keytab: dc.keytabPath,
      servicePrincipal: `HTTP/localhost@${dc.realm}`,
      accountName: 'websvc',
      krb5Conf: dc.krb5Conf,
      allowedServices: [BACKEND, APACHE, RBCD, RBCD_KERBEROS, OTHER],
    },
  });
  front2 = createImpersonation({
    maxLevel: 'delegate',
    allow: { anyUser: true },
    userDatabase: delegationUsers,
    constrainedDelegation: {
      realm: dc.realm,
      keytab: front2Keytab,
      servicePrincipal: `${FRONT2}@${dc.realm}`,
      accountName: 'websvc2',
      krb5Conf: dc.krb5Conf,
      allowedServices: [RBCD],
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
  await front2?.close();
  await dc?.stop();
});

function call(
  login: Logon,
  to: string,
  service: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return callAs(dc, front.port, login, to, service);
}

describe('S4U2Self + S4U2Proxy against Samba AD, calling backends as the user', () => {
  test('NTLM logon checked by the DC (curl --ntlm): S4U2Self for SAMDOM\\alice, the backend sees alice', async () => {
    const delegation = impersonation.constrainedDelegation!;
    const before = delegation.kdcRequests;
    const answer = await call({ ntlm: alice }, backend.url, BACKEND);
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
    const viaHttpauth = await call({ basic: alice }, backend.url, BACKEND);
    assert.equal(viaHttpauth.status, 200, JSON.stringify(viaHttpauth.body));
    assert.equal(viaHttpauth.body.level, 'delegate');
    assert.equal(viaHttpauth.body.status, 200);
    assert.deepEqual(JSON.parse(viaHttpauth.body.body as string), {
      user: `alice@${dc.realm}`,
      mechanism: 'Kerberos',
    });
    const viaApache = await call({ basic: alice }, `${apache!.url}/api`, APACHE);
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
    const answer = await call({ ccache }, backend.url, BACKEND);
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
    const answer = await call({ ccache }, backend.url, BACKEND);
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
    const answer = await call({ basic: bob }, backend.url, BACKEND);
    assert.equal(answer.status, 403, JSON.stringify(answer.body));
    assert.equal(answer.body.error, 'ERR_HTTPAUTH_DELEGATION_NOT_FORWARDABLE');
  });

  test('a backend the directory does not allow: the KDC refuses S4U2Proxy', async () => {
    const answer = await call({ basic: alice }, backend.url, OTHER);
    assert.equal(answer.status, 403, JSON.stringify(answer.body));
    assert.equal(answer.body.error, 'ERR_HTTPAUTH_DELEGATION_REFUSED');
    assert.match(String(answer.body.reason), /BADOPTION|POLICY/);
  });

  test('a backend not in allowedServices: refused before any KDC request', async () => {
    const delegation = impersonation.constrainedDelegation!;
    const before = delegation.kdcRequests;
    const answer = await call({ basic: alice }, backend.url, 'HTTP/elsewhere.samdom.test');
    assert.equal(answer.status, 403, JSON.stringify(answer.body));
    assert.equal(answer.body.error, 'ERR_HTTPAUTH_DELEGATION_TARGET_NOT_ALLOWED');
    assert.equal(delegation.kdcRequests, before);
  });

  test('a backend answering without a valid AP-REP is refused (mutual authentication)', async () => {
    // The httpauth backend holding HTTP/backend's key, asked under the Apache SPN: the ticket
    // does not open, so no AP-REP can come back and the 401 is handed over as the backend's.
    const answer = await call({ basic: alice }, backend.url, APACHE);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.status, 401);
    // A server that answers 200 without any Negotiate token is not believed.
    const plain = createServer((_req, res) => res.end('{"user":"someone"}'));
    const impostor = await listen(plain);
    servers.push(impostor);
    const refused = await call({ basic: alice }, impostor.url, BACKEND);
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.equal(refused.body.error, 'ERR_HTTPAUTH_MUTUAL_AUTH_FAILED');
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

describe('resource-based constrained delegation (the backend names the front service)', () => {
  test('the DC is Samba 4.19 or later, whose Heimdal KDC checks RBCD (bookworm-backports on Debian 12)', async () => {
    const { stdout } = await run('samba', ['--version']);
    const [major, minor] = (/(\d+)\.(\d+)/.exec(stdout) ?? []).slice(1).map(Number);
    assert.ok((major as number) > 4 || (minor as number) >= 19, stdout);
    // The path under test is RBCD: classic delegation does not list the RBCD backends.
    assert.match(setupOutput.show ?? '', /backend\.samdom\.test/i);
    assert.doesNotMatch(setupOutput.show ?? '', /rbcd/i);
    assert.match(
      setupOutput.showRbcd ?? '',
      /^msDS-AllowedToActOnBehalfOfOtherIdentity: CN=websvc,CN=Users,DC=samdom,DC=test$/im,
    );
  });

  test('NTLM logon (curl --ntlm): S4U2Self, then S4U2Proxy allowed by the backend; it sees alice', async () => {
    const delegation = impersonation.constrainedDelegation!;
    const before = delegation.kdcRequests;
    const answer = await call({ ntlm: alice }, rbcdBackend.url, RBCD);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.logon, `${dc.domain}\\alice`);
    assert.deepEqual(JSON.parse(answer.body.body as string), {
      user: `alice@${dc.realm}`,
      mechanism: 'Kerberos',
    });
    assert.ok(delegation.kdcRequests - before >= 1, 'an S4U2Proxy exchange took place');
  });

  test("Negotiate logon (curl --negotiate): alice's own ticket is the evidence; the backend sees alice", async () => {
    const ccache = await dc.kinit(alice.name, alice.password);
    const delegation = impersonation.constrainedDelegation!;
    const before = delegation.kdcRequests;
    const answer = await call({ ccache }, rbcdKerberosBackend.url, RBCD_KERBEROS);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(JSON.parse(answer.body.body as string), {
      user: `alice@${dc.realm}`,
      mechanism: 'Kerberos',
    });
    assert.equal(delegation.kdcRequests - before, 1, 'one S4U2Proxy, no S4U2Self');
  });

  test('without the RBCD entry (samba-tool delegation del-principal): the KDC refuses', async () => {
    await setup.tool('delegation', 'del-principal', 'rbcdkrbsvc', 'websvc');
    // carol has no cached ticket to that backend: the KDC is asked again.
    const answer = await call({ ntlm: carol }, rbcdKerberosBackend.url, RBCD_KERBEROS);
    assert.equal(answer.status, 403, JSON.stringify(answer.body));
    assert.equal(answer.body.error, 'ERR_HTTPAUTH_DELEGATION_REFUSED');
    assert.match(String(answer.body.reason), /BADOPTION/);
  });

  test('a sensitive account (NOT_DELEGATED): refused with a stable code', async () => {
    const answer = await call({ ntlm: bob }, rbcdBackend.url, RBCD);
    assert.equal(answer.status, 403, JSON.stringify(answer.body));
    assert.equal(answer.body.error, 'ERR_HTTPAUTH_DELEGATION_NOT_FORWARDABLE');
  });

  test('protocol transition by a service not trusted to authenticate for delegation: refused', async () => {
    // websvc2 is named by the backend's RBCD entry but has no TrustedToAuthForDelegation: its
    // S4U2Self ticket is not forwardable, and Samba's KDC refuses a non-forwardable evidence
    // ticket for RBCD too (KDC_ERR_BADOPTION, see docs/delegation.md), so it is refused here.
    const context = await front2(
      { name: `alice@${dc.realm}`, user: 'alice', realm: dc.realm, mechanism: 'Basic' },
      undefined,
    );
    try {
      await assert.rejects(
        context.fetch!(rbcdBackend.url, { service: RBCD, allowServiceHostMismatch: true }),
        {
          code: 'ERR_HTTPAUTH_DELEGATION_NOT_FORWARDABLE',
        },
      );
      assert.equal(front2.constrainedDelegation!.cachedUsers, 1, 'S4U2Self took place');
    } finally {
      await context.dispose();
    }
  });
});
