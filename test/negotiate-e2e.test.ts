/**
 * Negotiate end to end on loopback against a throwaway MIT realm (test/harness/mit-kdc.ts):
 * Express, Fastify and Koa protected by `negotiate({ kerberos: { keytab } })`, driven by real clients:
 * Debian curl --negotiate, requests-kerberos with mutual authentication REQUIRED, python3-gssapi
 * (every enctype, delegation, channel bindings over HTTPS), headless Chromium, and curl with
 * gss-ntlmssp and no ticket (SPNEGO-wrapped NTLM).
 */
import * as assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { negotiate } from '@httpauth/core';
import { ntowfv1 } from '@httpauth/core/wire';
import type { AuthInfo, NegotiateOptions } from '@httpauth/core';
import { httpAuth as expressAuth } from '@httpauth/express';
import { httpAuth as fastifyAuth } from '@httpauth/fastify';
import { httpAuth as koaAuth } from '@httpauth/koa';
import express from 'express';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import Koa from 'koa';

import { startDemo, stopDemo, type Demo } from './harness/demo.js';
import { chromiumNegotiate, jsonFromDom } from './harness/chromium.js';
import { startMitKdc } from './harness/mit-kdc.js';
import type { MitEnctype, MitKdc } from './harness/mit-kdc.js';
import {
  KRB5_MECH,
  NTLMSSP_MECH,
  curlNegotiate,
  gssapiRequest,
  requestsKerberos,
  ticketEnctypes,
} from './harness/negotiate-clients.js';
import { selfSignedCertificate } from './harness/ntlm-clients.js';
import { listen, listenFastify, type Running } from './harness/listen.js';

const AES_ENCTYPES = [
  'aes256-cts-hmac-sha1-96',
  'aes128-cts-hmac-sha1-96',
  'aes256-cts-hmac-sha384-192',
  'aes128-cts-hmac-sha256-128',
] as const satisfies readonly MitEnctype[];
const ALL_TEST_ENCTYPES: readonly MitEnctype[] = [...AES_ENCTYPES, 'arcfour-hmac'];

const ALICE = { name: 'alice', password: 'Alice-pw-1' };
const NTLM_USER = { domain: 'EXAMPLE', name: 'bob', password: 'Bob-ntlm-2' };

type Framework = 'express' | 'fastify' | 'koa';
const FRAMEWORKS: Framework[] = ['express', 'fastify', 'koa'];

interface Who {
  name?: string;
  user?: string;
  realm?: string;
  mechanism?: string;
  delegated?: boolean;
  channelBound?: boolean;
  enctype?: number;
  gssFlags?: number;
  delegatedTickets?: number;
  delegatedClient?: string;
  /** Both SPNEGO mechListMICs were exchanged and the client's verified. */
  mechListMic?: boolean;
}

interface Tls {
  readonly key: Buffer;
  readonly cert: Buffer;
}

/** What /whoami answers: the principal plus a few facts from the security context. */
function who(auth: AuthInfo | null | undefined): Who {
  const principal = auth?.principal;
  const context = auth?.context;
  const delegated = context?.delegatedCredential as
    { client?: string; tickets?: readonly unknown[] } | undefined;
  return {
    name: principal?.name,
    user: principal?.user,
    realm: principal?.realm,
    mechanism: principal?.mechanism,
    delegated: principal?.delegated,
    channelBound: principal?.channelBound,
    enctype: typeof context?.enctype === 'number' ? context.enctype : undefined,
    gssFlags: typeof context?.gssFlags === 'number' ? context.gssFlags : undefined,
    delegatedTickets: delegated?.tickets?.length,
    delegatedClient: delegated?.client,
    mechListMic: context?.mechListMicVerified === true,
  };
}

async function start(
  framework: Framework,
  options: NegotiateOptions,
  tls?: Tls,
  clock?: () => number,
): Promise<Running> {
  const packages = [negotiate(options)];
  const extra = clock === undefined ? {} : { now: clock };
  switch (framework) {
    case 'express': {
      const app = express();
      app.use(expressAuth({ packages, ...extra }));
      app.get('/whoami', (req, res) => {
        res.json(who(req.auth));
      });
      return listen(tls ? createHttpsServer(tls, app) : createHttpServer(app));
    }
    case 'fastify': {
      const app: FastifyInstance = tls
        ? (Fastify({ https: tls }) as unknown as FastifyInstance)
        : Fastify();
      await app.register(fastifyAuth, { packages, ...extra });
      app.get('/whoami', async (request) => who(request.auth));
      return listenFastify(app, { tls: tls !== undefined });
    }
    case 'koa': {
      const app = new Koa();
      app.use(koaAuth({ packages, ...extra }));
      app.use((ctx) => {
        ctx.body = who(ctx.state.auth);
      });
      return listen(
        tls ? createHttpsServer(tls, app.callback()) : createHttpServer(app.callback()),
      );
    }
  }
}

/** RFC 3961 enctype numbers of the MIT names. */
const ENCTYPE_NUMBER: Record<MitEnctype, number> = {
  'aes128-cts-hmac-sha1-96': 17,
  'aes256-cts-hmac-sha1-96': 18,
  'aes128-cts-hmac-sha256-128': 19,
  'aes256-cts-hmac-sha384-192': 20,
  'arcfour-hmac': 23,
};

describe('Negotiate end to end (MIT KDC)', () => {
  let kdc: MitKdc;
  let dir: string;
  let aliceEnv: NodeJS.ProcessEnv;
  let tls: Tls;
  const plain = new Map<Framework, Running>();
  const rc4 = new Map<Framework, Running>();
  const secure = new Map<Framework, Running>();
  /** Servers whose clock runs 20 minutes ahead: every authenticator is outside the skew. */
  const skewed = new Map<Framework, Running>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'httpauth-negotiate-e2e-'));
    kdc = await startMitKdc({
      principals: [
        { name: ALICE.name, password: ALICE.password },
        { name: 'HTTP/localhost' },
        // One service per enctype, each with that single key, so its tickets can only be that
        // enctype (the KDC picks the ticket enctype from the service's keys, not the client's).
        ...ALL_TEST_ENCTYPES.map((enctype) => ({
          name: `HTTP/${enctype}.localhost`,
          enctypes: [enctype],
        })),
      ],
    });
    aliceEnv = kdc.kinit(ALICE.name, ALICE.password).env;
    tls = await selfSignedCertificate(dir);
    const ntlm = {
      domain: NTLM_USER.domain,
      credentials: (user: string) =>
        user.toLowerCase() === NTLM_USER.name ? ntowfv1(NTLM_USER.password) : undefined,
    };
    for (const framework of FRAMEWORKS) {
      plain.set(framework, await start(framework, { kerberos: { keytab: kdc.keytabPath }, ntlm }));
      rc4.set(
        framework,
        await start(framework, { kerberos: { keytab: kdc.keytabPath, allowRc4: true } }),
      );
      skewed.set(
        framework,
        await start(
          framework,
          { kerberos: { keytab: kdc.keytabPath } },
          undefined,
          () => Date.now() + 20 * 60_000,
        ),
      );
      secure.set(
        framework,
        await start(
          framework,
          {
            kerberos: { keytab: kdc.keytabPath },
            channelBinding: { mode: 'require' },
            kerberosOnly: true,
          },
          tls,
        ),
      );
    }
  });

  after(async () => {
    for (const server of [
      ...plain.values(),
      ...rc4.values(),
      ...secure.values(),
      ...skewed.values(),
    ]) {
      await server.close();
    }
    await kdc?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  for (const framework of FRAMEWORKS) {
    describe(framework, () => {
      const port = (): number => (plain.get(framework) as Running).port;

      it('curl --negotiate: Kerberos, alice@EXAMPLE.TEST', async () => {
        const result = await curlNegotiate(`http://localhost:${port()}/whoami`, aliceEnv);
        assert.equal(result.status, 200, result.body + result.stderr);
        const body = JSON.parse(result.body) as Who;
        assert.equal(body.mechanism, 'Kerberos');
        assert.equal(body.name, 'alice@EXAMPLE.TEST');
        assert.equal(body.user, 'alice');
        assert.equal(body.realm, 'EXAMPLE.TEST');
      });

      it('no credentials: 401 with a bare Negotiate challenge', async () => {
        const response = await fetch(`http://127.0.0.1:${port()}/whoami`);
        assert.equal(response.status, 401);
        assert.equal(response.headers.get('www-authenticate'), 'Negotiate');
      });

      it('requests-kerberos with mutual authentication REQUIRED (raw krb5 token, our AP-REP)', async () => {
        const result = await requestsKerberos(dir, `http://localhost:${port()}/whoami`, aliceEnv);
        assert.equal(result.status, 200, result.stderr);
        const body = JSON.parse(result.body) as Who;
        assert.equal(body.name, 'alice@EXAMPLE.TEST');
        assert.equal(body.mechanism, 'Kerberos');
      });

      it('python-gssapi raw krb5 mechanism with mutual authentication', async () => {
        const result = await gssapiRequest(
          dir,
          { host: 'localhost', port: port(), path: '/whoami', mech: KRB5_MECH },
          aliceEnv,
        );
        assert.equal(result.status, 200, result.stderr);
        assert.equal(result.complete, true, 'the initiator verified our AP-REP');
        assert.equal((JSON.parse(result.body) as Who).name, 'alice@EXAMPLE.TEST');
      });

      for (const enctype of AES_ENCTYPES) {
        it(`python-gssapi SPNEGO with ${enctype} tickets`, async () => {
          const { env, ccache } = kdc.kinit(ALICE.name, ALICE.password, undefined, {
            tgsEnctypes: [enctype],
          });
          const service = `HTTP/${enctype}.localhost`;
          const result = await gssapiRequest(
            dir,
            {
              host: 'localhost',
              port: port(),
              path: '/whoami',
              service: `HTTP@${enctype}.localhost`,
            },
            env,
          );
          assert.equal(result.status, 200, result.stderr);
          assert.equal(result.complete, true, 'the initiator verified our final token');
          const body = JSON.parse(result.body) as Who;
          assert.equal(body.name, 'alice@EXAMPLE.TEST');
          assert.equal(body.enctype, ENCTYPE_NUMBER[enctype]);
          const used = await ticketEnctypes(ccache, service, env);
          assert.deepEqual(used, { session: enctype, ticket: enctype });
        });
      }

      it('rc4-hmac tickets: refused by default, accepted when the server enables RC4', async () => {
        const { env, ccache } = kdc.kinit(ALICE.name, ALICE.password, undefined, {
          tgsEnctypes: ['arcfour-hmac'],
        });
        const service = 'HTTP@arcfour-hmac.localhost';
        const refused = await gssapiRequest(
          dir,
          { host: 'localhost', port: port(), path: '/whoami', service },
          env,
        );
        assert.equal(refused.status, 401);
        // The first answer names the refusal (and carries a KRB-ERROR, after which the MIT
        // initiator gives up with a reject of its own).
        assert.match(refused.bodies[0] ?? '', /ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED/);
        const rc4Port = (rc4.get(framework) as Running).port;
        const accepted = await gssapiRequest(
          dir,
          { host: 'localhost', port: rc4Port, path: '/whoami', service },
          env,
        );
        assert.equal(accepted.status, 200, accepted.stderr);
        const body = JSON.parse(accepted.body) as Who;
        assert.equal(body.name, 'alice@EXAMPLE.TEST');
        assert.equal(body.enctype, 23);
        const used = await ticketEnctypes(ccache, 'HTTP/arcfour-hmac.localhost', env);
        assert.equal(used?.ticket.replace(/^DEPRECATED:/, ''), 'arcfour-hmac');
      });

      it('delegation: a forwardable TGT reaches the server as a delegated credential', async () => {
        const result = await gssapiRequest(
          dir,
          { host: 'localhost', port: port(), path: '/whoami', delegate: true },
          aliceEnv,
        );
        assert.equal(result.status, 200, result.stderr);
        const body = JSON.parse(result.body) as Who;
        assert.equal(body.delegated, true);
        assert.equal(body.delegatedClient, 'alice@EXAMPLE.TEST');
        assert.ok((body.delegatedTickets ?? 0) >= 1);
        // GSS_C_DELEG_FLAG (RFC 4121 §4.1.1.1).
        assert.equal(((body.gssFlags ?? 0) & 1) !== 0, true);

        const plainResult = await gssapiRequest(
          dir,
          { host: 'localhost', port: port(), path: '/whoami' },
          aliceEnv,
        );
        const plainBody = JSON.parse(plainResult.body) as Who;
        assert.equal(plainBody.delegated, false);
        assert.equal(plainBody.delegatedTickets, undefined);
      });

      it('HTTPS with channel bindings required: the right binding passes, a wrong one and none are refused', async () => {
        const tlsPort = (secure.get(framework) as Running).port;
        const right = await gssapiRequest(
          dir,
          { host: 'localhost', port: tlsPort, path: '/whoami', tls: true, binding: 'right' },
          aliceEnv,
        );
        assert.equal(right.status, 200, right.stderr);
        const body = JSON.parse(right.body) as Who;
        assert.equal(body.channelBound, true);
        assert.equal(body.name, 'alice@EXAMPLE.TEST');

        const wrong = await gssapiRequest(
          dir,
          { host: 'localhost', port: tlsPort, path: '/whoami', tls: true, binding: 'wrong' },
          aliceEnv,
        );
        assert.equal(wrong.status, 401);
        assert.match(wrong.body, /ERR_HTTPAUTH_CHANNEL_BINDING_MISMATCH/);

        const none = await gssapiRequest(
          dir,
          { host: 'localhost', port: tlsPort, path: '/whoami', tls: true, binding: 'none' },
          aliceEnv,
        );
        assert.equal(none.status, 401);
        assert.match(none.body, /ERR_HTTPAUTH_CHANNEL_BINDING_MISSING/);
      });

      it('python-gssapi listing NTLM first: Kerberos chosen, request-mic, both mechListMICs (RFC 4178 §5)', async () => {
        // This server has no NTLM, so it picks the client's second mechanism: three legs
        // (request-mic; AP-REP with our MIC; the client's MIC), and MIT verifies our MIC.
        const kerberosOnlyPort = (rc4.get(framework) as Running).port;
        const userFile = join(dir, 'ntlm-users-mic');
        await writeFile(userFile, `${NTLM_USER.domain}:${NTLM_USER.name}:${NTLM_USER.password}\n`);
        const result = await gssapiRequest(
          dir,
          {
            host: 'localhost',
            port: kerberosOnlyPort,
            path: '/whoami',
            negMechs: [NTLMSSP_MECH, KRB5_MECH],
          },
          { ...aliceEnv, NTLM_USER_FILE: userFile },
        );
        assert.equal(result.status, 200, result.stderr);
        assert.equal(result.legs, 3);
        assert.equal(result.complete, true, 'the initiator verified our mechListMIC');
        const body = JSON.parse(result.body) as Who;
        assert.equal(body.name, 'alice@EXAMPLE.TEST');
        assert.equal(body.mechanism, 'Kerberos');
        assert.equal(body.mechListMic, true);
      });

      it('clock skew: a KRB-ERROR (KRB_AP_ERR_SKEW) in the 401 that MIT understands', async () => {
        const skewedPort = (skewed.get(framework) as Running).port;
        const raw = await gssapiRequest(
          dir,
          { host: 'localhost', port: skewedPort, path: '/whoami', mech: KRB5_MECH },
          aliceEnv,
        );
        assert.equal(raw.status, 401);
        assert.match(raw.bodies[0] ?? '', /ERR_HTTPAUTH_KRB_SKEW/);
        // The initiator decoded our KRB-ERROR token and reports the skew itself.
        assert.match(raw.gssError ?? '', /Clock skew too great/);

        const spnego = await gssapiRequest(
          dir,
          { host: 'localhost', port: skewedPort, path: '/whoami' },
          aliceEnv,
        );
        assert.equal(spnego.status, 401);
        assert.match(spnego.bodies[0] ?? '', /ERR_HTTPAUTH_KRB_SKEW/);
        assert.notEqual(spnego.complete, true);
      });

      it('headless Chromium sends Negotiate and sees alice', async () => {
        const dom = await chromiumNegotiate(dir, `http://localhost:${port()}/whoami`, aliceEnv);
        const body = jsonFromDom(dom) as Who;
        assert.equal(body.mechanism, 'Kerberos');
        assert.equal(body.name, 'alice@EXAMPLE.TEST');
      });

      it('headless Chromium without a ticket falls back to SPNEGO-wrapped NTLM (gss-ntlmssp)', async () => {
        const userFile = join(dir, 'ntlm-users-chromium');
        await writeFile(userFile, `${NTLM_USER.domain}:${NTLM_USER.name}:${NTLM_USER.password}\n`);
        const dom = await chromiumNegotiate(dir, `http://localhost:${port()}/whoami`, {
          ...kdc.env,
          KRB5CCNAME: `FILE:${join(dir, 'no-such-ccache')}`,
          NTLM_USER_FILE: userFile,
        });
        const body = jsonFromDom(dom) as Who;
        assert.equal(body.mechanism, 'NTLM');
        assert.equal(body.name?.toLowerCase(), 'example\\bob');
      });

      it('curl --negotiate with gss-ntlmssp and no ticket falls back to SPNEGO-wrapped NTLM', async () => {
        const userFile = join(dir, 'ntlm-users');
        await writeFile(userFile, `${NTLM_USER.domain}:${NTLM_USER.name}:${NTLM_USER.password}\n`);
        const env: NodeJS.ProcessEnv = {
          ...kdc.env,
          KRB5CCNAME: `FILE:${join(dir, 'no-such-ccache')}`,
          NTLM_USER_FILE: userFile,
        };
        const result = await curlNegotiate(`http://localhost:${port()}/whoami`, env, {
          user: `${NTLM_USER.name}:${NTLM_USER.password}`,
        });
        assert.equal(result.status, 200, result.body + result.stderr);
        const body = JSON.parse(result.body) as Who;
        assert.equal(body.mechanism, 'NTLM');
        assert.equal(body.name?.toLowerCase(), 'example\\bob');
        // gss-ntlmssp signs the mechanism list with NTLM's keys (MS-SPNG §3.3.5.1): verified.
        assert.equal(body.mechListMic, true);
      });
    });
  }
});

describe('Negotiate over HTTP/2 (Fastify http2 over TLS, allowHTTP1)', () => {
  let kdc: MitKdc;
  let dir: string;
  let app: FastifyInstance | undefined;
  let port = 0;
  let aliceEnv: NodeJS.ProcessEnv;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'httpauth-negotiate-h2-'));
    kdc = await startMitKdc({
      principals: [{ name: ALICE.name, password: ALICE.password }, { name: 'HTTP/localhost' }],
    });
    aliceEnv = kdc.kinit(ALICE.name, ALICE.password).env;
    const ntlm = {
      domain: NTLM_USER.domain,
      credentials: (user: string) =>
        user.toLowerCase() === NTLM_USER.name ? ntowfv1(NTLM_USER.password) : undefined,
      // curl through gss-ntlmssp sends no channel bindings; the policy is tested above.
      channelBinding: { mode: 'allow' as const },
    };
    const tls = await selfSignedCertificate(dir);
    const h2 = Fastify({
      http2: true,
      https: { key: tls.key, cert: tls.cert, allowHTTP1: true },
    }) as unknown as FastifyInstance;
    await h2.register(fastifyAuth, {
      packages: [negotiate({ kerberos: { keytab: kdc.keytabPath }, ntlm })],
    });
    h2.get('/whoami', async (request) => ({
      ...who(request.auth),
      httpVersion: request.raw.httpVersion,
    }));
    await h2.listen({ port: 0, host: '127.0.0.1' });
    port = (h2.server.address() as AddressInfo).port;
    app = h2;
  });

  after(async () => {
    await app?.close();
    await kdc?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('Kerberos needs one request, so it works over HTTP/2', async () => {
    const result = await curlNegotiate(`https://localhost:${port}/whoami`, aliceEnv, {
      http2: true,
      insecure: true,
    });
    assert.equal(result.status, 200, result.body + result.stderr);
    const body = JSON.parse(result.body) as Who & { httpVersion: string };
    assert.equal(body.name, 'alice@EXAMPLE.TEST');
    assert.equal(body.mechanism, 'Kerberos');
    assert.equal(body.httpVersion, '2.0');
  });

  it('NTLM needs a connection: an NTLM-only SPNEGO offer is sent to HTTP/1.1 and completes there', async () => {
    const userFile = join(dir, 'ntlm-users');
    await writeFile(userFile, `${NTLM_USER.domain}:${NTLM_USER.name}:${NTLM_USER.password}\n`);
    const result = await curlNegotiate(
      `https://localhost:${port}/whoami`,
      { ...kdc.env, KRB5CCNAME: `FILE:${join(dir, 'no-such-ccache')}`, NTLM_USER_FILE: userFile },
      { user: `${NTLM_USER.name}:${NTLM_USER.password}`, http2: true, insecure: true },
    );
    // The HTTP/2 stream is reset with HTTP_1_1_REQUIRED (RFC 9113 §8.2.3); curl retries on 1.1.
    assert.equal(result.status, 200, result.body + result.stderr);
    const body = JSON.parse(result.body) as Who & { httpVersion: string };
    assert.equal(body.mechanism, 'NTLM');
    assert.equal(body.httpVersion, '1.1');
  });
});

describe('the demo (examples/intranet-api) with KRB5_KTNAME offers Negotiate first', () => {
  let kdc: MitKdc;
  let demo: Demo | undefined;
  let aliceEnv: NodeJS.ProcessEnv;

  before(async () => {
    kdc = await startMitKdc({
      principals: [{ name: ALICE.name, password: ALICE.password }, { name: 'HTTP/localhost' }],
    });
    aliceEnv = kdc.kinit(ALICE.name, ALICE.password).env;
    demo = await startDemo({ KRB5_KTNAME: `FILE:${kdc.keytabPath}` });
  });

  after(async () => {
    await stopDemo(demo);
    await kdc?.stop();
  });

  it('challenges with Negotiate first', async () => {
    const response = await fetch(`http://127.0.0.1:${demo?.port}/whoami`);
    assert.equal(response.status, 401);
    const challenges = response.headers.get('www-authenticate') ?? '';
    assert.match(challenges, /^Negotiate(,|$)/);
    // A keytab is a user source of the operator's own: the committed demo users (NTLM, Digest)
    // are off, so alice/alicepw opens nothing.
    assert.doesNotMatch(challenges, /NTLM|Digest/);
  });

  it('curl --negotiate: /whoami says Kerberos, alice@EXAMPLE.TEST', async () => {
    const result = await curlNegotiate(`http://localhost:${demo?.port}/whoami`, aliceEnv);
    assert.equal(result.status, 200, result.body + result.stderr);
    const body = JSON.parse(result.body) as Who;
    assert.equal(body.mechanism, 'Kerberos');
    assert.equal(body.name, 'alice@EXAMPLE.TEST');
  });

  it('refuses to start with a keytab it cannot read', async () => {
    await assert.rejects(
      startDemo({ KRB5_KTNAME: join(kdc.dir, 'no-such.keytab') }),
      /demo exited with 2: .*KRB5_KTNAME/s,
    );
  });
});
