/**
 * Constrained delegation end to end against MIT krb5's KDC with its LDAP back end (a private
 * slapd, test/harness/mit-ldap-kdc.ts): MIT keeps classic delegation targets only there, in the
 * `krbAllowedToDelegateTo` attribute of the service's entry, and marks protocol transition with
 * the `ok_to_auth_as_delegate` principal flag (MS-SFU §3.2.5.1.2: without it, a service with
 * delegation targets gets non-forwardable S4U2Self tickets).
 *
 * An intranet API (httpauth, HTTP/localhost, test/harness/delegation-apps.ts) lets users log on
 * with NTLM, Digest, Basic or a client certificate (protocol transition: S4U2Self then
 * S4U2Proxy) or Kerberos (curl --negotiate: the client's own ticket is the S4U2Proxy evidence)
 * and calls backends as them with `impersonation.fetch()`.
 * Backends: another httpauth server and Apache with mod_auth_gssapi; both must see the user.
 * Refused: a backend not in krbAllowedToDelegateTo (by the KDC), a user who may not be delegated
 * (-allow_forwardable), and, at a second API without ok_to_auth_as_delegate, every protocol
 * transition logon (a non-forwardable S4U2Self ticket, refused before S4U2Proxy).
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import {
  clientCertificate,
  createImpersonation,
  type ImpersonationFactoryWithResources,
} from '@httpauth/core';
import { createTestPki, type TestPki } from '../packages/core/test/certificate-pki.js';
import { startApacheGssapi, type ApacheGssapi } from './harness/apache-gssapi.js';
import { chromiumNegotiate, jsonFromDom } from './harness/chromium.js';
import {
  fixedUsers,
  startDelegatingApi,
  startWhoamiBackend,
  type DelegatingApiOptions,
} from './harness/delegation-apps.js';
import type { Running } from './harness/listen.js';
import { startMitLdapKdc, type MitLdapKdc } from './harness/mit-ldap-kdc.js';

const run = promisify(execFile);
const REALM = 'EXAMPLE.TEST';
const DOMAIN = 'EXAMPLE';
const PASSWORDS: Record<string, string> = {
  alice: 'Alice-pw-1',
  carol: 'Carol-pw-1',
  frank: 'Frank-pw-1',
  gina: 'Gina-pw-1',
  dave: 'Dave-pw-1',
};
const FRONT = 'HTTP/localhost';
// A second API without ok_to_auth_as_delegate ("Kerberos only"); curl reaches it by this name.
const KERBEROS_ONLY = 'HTTP/web2.example.test';
const BACKEND = 'HTTP/backend.example.test';
const APACHE = 'HTTP/apache.example.test';
const OTHER = 'HTTP/other.example.test';
const PREAUTH = ['+requires_preauth'];

let kdc: MitLdapKdc;
let apache: ApacheGssapi | undefined;
const impersonations: ImpersonationFactoryWithResources[] = [];
const servers: Running[] = [];
let front: Running;
let kerberosOnlyFront: Running;
// The same API over TLS, for client certificates (mapped by their UPN).
let certificateFront: Running;
let pki: TestPki | undefined;
let backend: Running;
let delegationLdif = '';

/** A service's keys alone in a keytab of its own. */
function keytabOf(principal: string): string {
  const path = join(kdc.dir, `${principal.replace(/\W/g, '_')}.keytab`);
  kdc.exportKeytab(principal, path);
  return path;
}

/** An intranet API holding `principal`'s keys (delegation-apps.ts), TLS with `certificate`. */
async function frontApi(
  principal: string,
  certificate?: DelegatingApiOptions['certificate'],
): Promise<Running> {
  const keytab = keytabOf(principal);
  const impersonation = createImpersonation({
    maxLevel: 'delegate',
    allow: { anyUser: true },
    userDatabase: fixedUsers(Object.keys(PASSWORDS)),
    constrainedDelegation: {
      realm: REALM,
      keytab,
      servicePrincipal: `${principal}@${REALM}`,
      krb5Conf: kdc.krb5Conf,
      allowedServices: [BACKEND, APACHE, OTHER],
      // The Digest file's users are the realm's users here (carol in both): let Digest logons
      // transition (off by default: a file user would otherwise vouch for a realm account).
      transitionLocalLogons: true,
    },
  });
  impersonations.push(impersonation);
  const running = await startDelegatingApi({
    keytab,
    impersonation,
    passwords: PASSWORDS,
    domain: DOMAIN,
    realm: REALM,
    krb5Conf: kdc.krb5Conf,
    ...(certificate === undefined ? {} : { certificate }),
  });
  servers.push(running);
  return running;
}

before(async () => {
  kdc = await startMitLdapKdc({
    realm: REALM,
    principals: [
      // Pre-authenticated users (kdc.conf's usual default_principal_flags = +preauth): MIT issues
      // tickets to a +requires_preauth service only from a pre-authenticated TGT.
      { name: 'alice', password: PASSWORDS.alice, options: PREAUTH },
      { name: 'carol', password: PASSWORDS.carol, options: PREAUTH },
      { name: 'frank', password: PASSWORDS.frank, options: PREAUTH },
      { name: 'gina', password: PASSWORDS.gina, options: PREAUTH },
      // MIT's "may not be delegated": its tickets are never forwardable.
      { name: 'dave', password: PASSWORDS.dave, options: [...PREAUTH, '-allow_forwardable'] },
      { name: FRONT, options: [...PREAUTH, '+ok_to_auth_as_delegate'] },
      { name: KERBEROS_ONLY, options: PREAUTH },
      { name: BACKEND },
      { name: APACHE },
      { name: OTHER },
    ],
  });
  delegationLdif = kdc.allowDelegation(FRONT, [`${BACKEND}@${REALM}`, `${APACHE}@${REALM}`]);
  kdc.allowDelegation(KERBEROS_ONLY, [`${BACKEND}@${REALM}`]);
  backend = await startWhoamiBackend(keytabOf(BACKEND));
  servers.push(backend);
  apache = await startApacheGssapi(keytabOf(APACHE), kdc.krb5Conf);
  front = await frontApi(FRONT);
  kerberosOnlyFront = await frontApi(KERBEROS_ONLY);
  pki = createTestPki();
  certificateFront = await frontApi(FRONT, {
    package: clientCertificate({
      ca: pki.rootPem,
      revocation: { crlFiles: [pki.rootCrl, pki.intermediateCrl] },
      mapping: [{ type: 'upn' }],
      allowWeakMappings: true,
    }),
    tls: {
      key: readFileSync(pki.server.key),
      cert: readFileSync(pki.server.cert),
      ca: pki.rootPem,
      requestCert: true,
      rejectUnauthorized: false,
    },
  });
});

after(async () => {
  for (const server of servers) await server.close();
  await apache?.stop();
  for (const impersonation of impersonations) await impersonation.close();
  await kdc?.stop();
  pki?.remove();
});

type Logon = 'ntlm' | 'digest' | 'basic' | 'certificate' | { ccache: string };

async function callAs(
  user: string,
  logon: Logon,
  to: string,
  service: string,
  api: Running = front,
): Promise<{ status: number; body: Record<string, unknown> }> {
  // curl --negotiate asks for HTTP/<host>: the Kerberos-only API is reached by its own name.
  const host = api === kerberosOnlyFront ? 'web2.example.test' : 'localhost';
  const query = `to=${encodeURIComponent(to)}&service=${encodeURIComponent(service)}`;
  const scheme = logon === 'certificate' ? 'https' : 'http';
  const target = `${scheme}://${host}:${api.port}/call?${query}`;
  const credentials = `${user}:${PASSWORDS[user]}`;
  const auth =
    logon === 'certificate'
      ? ['--cacert', join(pki!.dir, 'root', 'ca.pem'), '--cert', pki!.certs.upn.fullChain].concat([
          '--key',
          pki!.certs.upn.key,
        ])
      : logon === 'ntlm'
        ? ['--ntlm', '-u', `${DOMAIN}\\${credentials}`]
        : logon === 'digest'
          ? ['--digest', '-u', credentials]
          : logon === 'basic'
            ? ['-u', credentials]
            : ['--negotiate', '-u', ':'];
  const { stdout } = await run(
    'curl',
    ['-s', '--max-time', '60', '--resolve', `${host}:${api.port}:127.0.0.1`, ...auth].concat([
      '-w',
      '\n%{http_code}',
      target,
    ]),
    typeof logon === 'object' ? { env: { ...kdc.env, KRB5CCNAME: `FILE:${logon.ccache}` } } : {},
  );
  const lines = stdout.split('\n');
  const status = Number(lines.pop());
  return { status, body: JSON.parse(lines.join('\n')) as Record<string, unknown> };
}

function assertBackendSaw(answer: { status: number; body: Record<string, unknown> }, user: string) {
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  assert.equal(answer.body.status, 200, JSON.stringify(answer.body));
  assert.deepEqual(JSON.parse(answer.body.body as string), {
    user: `${user}@${REALM}`,
    mechanism: 'Kerberos',
  });
}

describe('S4U2Self + S4U2Proxy against MIT krb5 with the LDAP back end', () => {
  test('the delegation targets are in the directory, as ldapmodify wrote them', () => {
    // docs/delegation.md shows this LDIF word for word.
    const docs = readFileSync(new URL('../docs/delegation.md', import.meta.url), 'utf8');
    assert.equal(/<<'LDIF'\n([^]*?)^LDIF$/m.exec(docs)?.[1], delegationLdif);
    const entry = kdc.ldap.search(`(krbPrincipalName=${FRONT}@${REALM})`, [
      'krbAllowedToDelegateTo',
      'krbTicketFlags',
    ]);
    assert.match(entry, new RegExp(`^krbAllowedToDelegateTo: ${BACKEND}@${REALM}$`, 'm'));
    assert.match(entry, new RegExp(`^krbAllowedToDelegateTo: ${APACHE}@${REALM}$`, 'm'));
    // KRB5_KDB_OK_TO_AUTH_AS_DELEGATE (0x00200000).
    const flags = Number(/^krbTicketFlags: (\d+)$/m.exec(entry)?.[1]);
    assert.equal(flags & 0x00200000, 0x00200000, entry);
  });

  test("MIT's own client agrees: kvno -U alice -P <backend>", async () => {
    // The check docs/delegation.md gives administrators, with the API's keytab.
    const ccache = join(kdc.dir, 'front.ccache');
    const env = { ...kdc.env, KRB5CCNAME: `FILE:${ccache}` };
    const keytab = join(kdc.dir, `${FRONT.replace(/\W/g, '_')}.keytab`);
    await run('kinit', ['-k', '-t', keytab, FRONT], { env });
    await run('kvno', ['-U', 'alice', '-P', BACKEND], { env });
    const { stdout } = await run('klist', ['-f'], { env });
    assert.match(stdout, new RegExp(`${BACKEND}@${REALM}\\s+for client alice@${REALM}, Flags: F`));
    await assert.rejects(run('kvno', ['-U', 'alice', '-P', OTHER], { env }), {
      stderr: /KDC can't fulfill requested option/,
    });
  });

  test('NTLM logon: S4U2Self for alice, S4U2Proxy to the backend, which sees alice', async () => {
    const delegation = impersonations[0]!.constrainedDelegation!;
    const before = delegation.kdcRequests;
    const answer = await callAs('alice', 'ntlm', backend.url, BACKEND);
    assert.equal(answer.body.logon, `${DOMAIN}\\alice`);
    assertBackendSaw(answer, 'alice');
    // The service's TGT (PREAUTH_REQUIRED, then PA-ENC-TIMESTAMP), S4U2Self, S4U2Proxy.
    assert.equal(delegation.kdcRequests - before, 4);
  });

  test('Digest logon (carol): the httpauth backend sees carol', async () => {
    assertBackendSaw(await callAs('carol', 'digest', backend.url, BACKEND), 'carol');
  });

  test('Basic logon checked by the KDC: the httpauth backend and Apache see alice', async () => {
    assertBackendSaw(await callAs('alice', 'basic', backend.url, BACKEND), 'alice');
    const viaApache = await callAs('alice', 'basic', `${apache!.url}/api`, APACHE);
    assert.equal(viaApache.status, 200, JSON.stringify(viaApache.body));
    assert.equal(viaApache.body.status, 200);
    assert.equal(viaApache.body.body, '{"backend":"apache"}');
    assert.ok(
      apache!.accessLog().includes(`alice@${REALM} 200 /api`),
      apache!.accessLog().join('\n'),
    );
  });

  test("Kerberos logon (curl --negotiate): frank's own ticket is the evidence, no S4U2Self", async () => {
    const { ccache } = kdc.kinit('frank', PASSWORDS.frank!);
    const delegation = impersonations[0]!.constrainedDelegation!;
    const before = { requests: delegation.kdcRequests, users: delegation.cachedUsers };
    assertBackendSaw(await callAs('frank', { ccache }, backend.url, BACKEND), 'frank');
    assert.equal(delegation.kdcRequests - before.requests, 1, 'S4U2Proxy alone');
    assert.equal(delegation.cachedUsers, before.users, 'no S4U2Self ticket for frank');
  });

  test("a browser user: Chromium's Kerberos logon at the API, and the backend sees gina", async () => {
    // What docs/delegation.md opens with: a browser (headless Chromium, Negotiate allowed for
    // localhost) logs on to the API with gina's ticket; the API calls the backend as her with
    // one S4U2Proxy, her own forwardable ticket to the API being the evidence.
    const { ccache } = kdc.kinit('gina', PASSWORDS.gina!);
    const delegation = impersonations[0]!.constrainedDelegation!;
    const before = delegation.kdcRequests;
    const query = `to=${encodeURIComponent(backend.url)}&service=${encodeURIComponent(BACKEND)}`;
    const dom = await chromiumNegotiate(kdc.dir, `http://localhost:${front.port}/call?${query}`, {
      ...kdc.env,
      KRB5CCNAME: `FILE:${ccache}`,
    });
    const body = jsonFromDom(dom) as Record<string, unknown>;
    assert.equal(body.logon, `gina@${REALM}`, dom);
    assertBackendSaw({ status: 200, body }, 'gina');
    assert.equal(delegation.kdcRequests - before, 1, 'S4U2Proxy alone');
  });

  test('certificate logon (curl --cert, mapped by its UPN alice@example.test): the backend sees alice', async () => {
    const answer = await callAs('alice', 'certificate', backend.url, BACKEND, certificateFront);
    assert.equal(answer.body.logon, 'alice@example.test');
    assertBackendSaw(answer, 'alice');
    // Its own factory, so nothing was cached: the service's TGT (two rounds), S4U2Self for
    // alice@EXAMPLE.TEST (the UPN's realm is this one), S4U2Proxy.
    assert.equal(impersonations[2]!.constrainedDelegation!.kdcRequests, 4);
  });

  test('a backend not in krbAllowedToDelegateTo: the KDC refuses S4U2Proxy', async () => {
    const answer = await callAs('alice', 'ntlm', backend.url, OTHER);
    assert.equal(answer.status, 403, JSON.stringify(answer.body));
    assert.equal(answer.body.error, 'ERR_HTTPAUTH_DELEGATION_REFUSED');
    assert.match(String(answer.body.reason), /BADOPTION/);
    // MIT then tries resource-based delegation (our request carries PA-PAC-OPTIONS), which the
    // LDAP module does not implement (no allowed_to_delegate_from in ldap_exp.c).
    const log = readFileSync(join(kdc.dir, 'kdc.log'), 'utf8');
    assert.match(log, new RegExp(`UNSUPPORTED_S4U2PROXY_REQUEST.*${OTHER}`));
  });

  test('a user flagged -allow_forwardable: a non-forwardable S4U2Self ticket, refused', async () => {
    const delegation = impersonations[0]!.constrainedDelegation!;
    const before = delegation.kdcRequests;
    const answer = await callAs('dave', 'ntlm', backend.url, BACKEND);
    assert.equal(answer.status, 403, JSON.stringify(answer.body));
    assert.equal(answer.body.error, 'ERR_HTTPAUTH_DELEGATION_NOT_FORWARDABLE');
    assert.equal(delegation.kdcRequests - before, 1, 'S4U2Self only: no S4U2Proxy was sent');
  });

  test('a target removed from the directory is refused at once (the KDC reads LDAP per request)', async () => {
    // carol has no ticket to Apache yet (none cached): this asks the KDC.
    kdc.allowDelegation(FRONT, [`${BACKEND}@${REALM}`]);
    try {
      const answer = await callAs('carol', 'basic', `${apache!.url}/api`, APACHE);
      assert.equal(answer.status, 403, JSON.stringify(answer.body));
      assert.equal(answer.body.error, 'ERR_HTTPAUTH_DELEGATION_REFUSED');
    } finally {
      kdc.allowDelegation(FRONT, [`${BACKEND}@${REALM}`, `${APACHE}@${REALM}`]);
    }
    const restored = await callAs('carol', 'basic', `${apache!.url}/api`, APACHE);
    assert.equal(restored.status, 200, JSON.stringify(restored.body));
    assert.equal(restored.body.body, '{"backend":"apache"}');
  });
});

describe('an API with delegation targets but without ok_to_auth_as_delegate ("Kerberos only")', () => {
  test('protocol transition logons get non-forwardable S4U2Self tickets: refused locally', async () => {
    const delegation = impersonations[1]!.constrainedDelegation!;
    const requests: number[] = [];
    for (const logon of ['ntlm', 'basic', 'digest'] as const) {
      const before = delegation.kdcRequests;
      const answer = await callAs('alice', logon, backend.url, BACKEND, kerberosOnlyFront);
      assert.equal(answer.status, 403, `${logon}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.error, 'ERR_HTTPAUTH_DELEGATION_NOT_FORWARDABLE', logon);
      requests.push(delegation.kdcRequests - before);
    }
    // The service's TGT (two AS rounds) and one S4U2Self, whose ticket is then reused; never an
    // S4U2Proxy request.
    assert.deepEqual(requests, [3, 0, 0]);
  });

  test("a Kerberos logon: the client's forwardable ticket works as evidence", async () => {
    const { ccache } = kdc.kinit('alice', PASSWORDS.alice!);
    const answer = await callAs('alice', { ccache }, backend.url, BACKEND, kerberosOnlyFront);
    assertBackendSaw(answer, 'alice');
  });
});
