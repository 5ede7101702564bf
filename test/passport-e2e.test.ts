/**
 * @httpauth/passport end to end: an Express app on passport + express-session, as an app already
 * on passport-negotiate would be, driven by curl with --negotiate (MIT KDC), --ntlm and --digest.
 */
import * as assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { digest, negotiate, ntlm, type Principal } from '@httpauth/core';
import { ntowfv1 } from '@httpauth/core/wire';
import { HttpAuthStrategy } from '@httpauth/passport';
import express from 'express';
import session from 'express-session';
import passport from 'passport';
import { Strategy } from 'passport-strategy';
import { curl } from './harness/http-clients.js';
import { startMitKdc, type MitKdc } from './harness/mit-kdc.js';
import { curlNegotiate } from './harness/negotiate-clients.js';
import { curlNtlm, scratchDir } from './harness/ntlm-clients.js';

const ALICE = { name: 'alice', password: 'Alice-pw-1' };
const BOB = { domain: 'EXAMPLE', name: 'bob', password: 'Bob-ntlm-2' };
const CAROL = { name: 'carol', password: 'Carol-digest-3' };

interface AppUser {
  id: string;
  mechanism: string;
}

/** A trivial second strategy: `X-Api-Key: key-NAME`. */
class ApiKeyStrategy extends Strategy {
  name = 'apikey';
  override authenticate(req: express.Request): void {
    const key = req.headers['x-api-key'];
    if (typeof key === 'string' && key.startsWith('key-')) {
      this.success({ id: key.slice(4), mechanism: 'apikey' });
    } else {
      this.fail('ApiKey realm="api"', 401);
    }
  }
}

function appFor(strategy: HttpAuthStrategy): express.Express {
  const auth = new passport.Passport();
  auth.use(strategy);
  auth.use(new ApiKeyStrategy());
  auth.serializeUser((user, done) => done(null, JSON.stringify(user)));
  auth.deserializeUser((text: string, done) => done(null, JSON.parse(text) as AppUser));
  const app = express();
  app.use(session({ secret: 'throwaway-test-secret', resave: false, saveUninitialized: false }));
  app.use(auth.initialize());
  app.use(auth.session());
  const reply = (req: express.Request, res: express.Response) =>
    res.json({ user: req.user, mechanism: (req.authInfo as { mechanism?: string }).mechanism });
  app.get('/login', auth.authenticate('httpauth', { session: true }), reply);
  app.get('/either', auth.authenticate(['apikey', 'httpauth'], { session: false }), reply);
  app.get(
    '/redirecting',
    auth.authenticate('httpauth', { session: false, failureRedirect: '/denied' }),
    reply,
  );
  // Session-only: passport.session() restores req.user from the cookie, no credentials needed.
  app.get('/me', (req, res) => {
    if (req.isAuthenticated()) res.json({ user: req.user });
    else res.status(401).json({ error: 'not logged in' });
  });
  return app;
}

/** The `logger` option's lines, as pino would receive them. */
interface LogLine {
  readonly level: 'info' | 'warn';
  readonly fields: Record<string, unknown>;
  readonly message: string | undefined;
}

describe('@httpauth/passport end to end', () => {
  const lines: LogLine[] = [];
  const logger = {
    info: (fields: Record<string, unknown>, message?: string) =>
      lines.push({ level: 'info', fields, message }),
    warn: (fields: Record<string, unknown>, message?: string) =>
      lines.push({ level: 'warn', fields, message }),
  };
  let kdc: MitKdc;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let server: Server;
  let aliceEnv: NodeJS.ProcessEnv;
  let base = '';

  before(async () => {
    dir = await scratchDir('passport-e2e-');
    kdc = await startMitKdc({
      principals: [{ name: ALICE.name, password: ALICE.password }, { name: 'HTTP/localhost' }],
    });
    aliceEnv = kdc.kinit(ALICE.name, ALICE.password).env;
    const strategy = new HttpAuthStrategy(
      {
        packages: [
          negotiate({ kerberos: { keytab: kdc.keytabPath } }),
          ntlm({
            domain: BOB.domain,
            credentials: (user: string) =>
              user.toLowerCase() === BOB.name ? ntowfv1(BOB.password) : undefined,
          }),
          digest({
            realm: 'passport-test',
            credentials: (user: string) =>
              user === CAROL.name ? { password: CAROL.password } : undefined,
          }),
        ],
        logger,
      },
      // The one-line swap keeps the app's verify: principal -> the app's user.
      (principal: Principal, done) => done(null, { id: principal.user, mechanism: 'verified' }),
    );
    server = appFor(strategy).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://localhost:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await kdc?.stop();
    await dir?.cleanup();
  });

  it('without credentials: 401 with Negotiate, NTLM and both Digest challenges on separate lines', async () => {
    const res = await curl([`${base}/login`]);
    assert.equal(res.status, 401);
    const lines = res.headers.get('www-authenticate') ?? [];
    // One challenge per line: a joined line would not be split by browsers (Digest has commas).
    assert.equal(lines.length, 4, lines.join(' | '));
    assert.equal(lines[0], 'Negotiate');
    assert.equal(lines[1], 'NTLM');
    assert.match(lines[2] ?? '', /^Digest realm="passport-test", .*algorithm=SHA-256/);
    assert.match(lines[3] ?? '', /^Digest realm="passport-test", .*algorithm=MD5/);
  });

  it('curl --digest logs in; the session cookie alone authenticates the next request', async () => {
    const jar = join(dir.path, 'cookies');
    const login = await curl([
      '--digest',
      '-u',
      `${CAROL.name}:${CAROL.password}`,
      '-c',
      jar,
      `${base}/login`,
    ]);
    assert.equal(login.status, 200, login.body);
    assert.deepEqual(JSON.parse(login.body), {
      user: { id: 'carol', mechanism: 'verified' },
      mechanism: 'Digest',
    });
    assert.ok(login.headers.get('authentication-info')?.[0]?.includes('rspauth='));
    const me = await curl(['-b', jar, `${base}/me`]);
    assert.equal(me.status, 200, me.body);
    assert.deepEqual(JSON.parse(me.body), { user: { id: 'carol', mechanism: 'verified' } });
    assert.equal((await curl([`${base}/me`])).status, 401);
  });

  it('curl --digest with a wrong password: 401 with the challenges', async () => {
    const res = await curl(['--digest', '-u', `${CAROL.name}:wrong`, `${base}/login`]);
    assert.equal(res.status, 401);
    assert.ok((res.headers.get('www-authenticate') ?? []).some((v) => v.startsWith('Digest ')));
  });

  it('the logger option: a warn line per refusal, an info line per logon, no secret in either', async () => {
    lines.length = 0;
    const wrong = await curl(['--digest', '-u', `${CAROL.name}:not-her-password`, `${base}/login`]);
    assert.equal(wrong.status, 401);
    const good = await curl(['--digest', '-u', `${CAROL.name}:${CAROL.password}`, `${base}/login`]);
    assert.equal(good.status, 200, good.body);
    // The challenge legs make no line: one refusal, one success.
    assert.deepEqual(
      lines.map((line) => line.level),
      ['warn', 'info'],
      JSON.stringify(lines),
    );
    const [refused, logged] = lines as [LogLine, LogLine];
    assert.equal(refused.message, 'httpauth: authentication refused');
    assert.equal(refused.fields.scheme, 'Digest');
    assert.equal(refused.fields.code, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
    assert.equal(refused.fields.method, 'GET');
    assert.equal(refused.fields.path, '/login');
    assert.equal(logged.fields.name, CAROL.name);
    assert.equal(logged.fields.mechanism, 'Digest');
    const text = JSON.stringify(lines);
    assert.ok(!text.includes('not-her-password') && !text.includes(CAROL.password), text);
    assert.ok(!/response=|authorization/i.test(text), text);
  });

  it('curl --ntlm: the three legs on one keep-alive connection', async () => {
    const res = await curlNtlm(`${base}/login`, `${BOB.domain}\\${BOB.name}`, BOB.password);
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(JSON.parse(res.body), {
      user: { id: 'bob', mechanism: 'verified' },
      mechanism: 'NTLM',
    });
    const wrong = await curlNtlm(`${base}/login`, `${BOB.domain}\\${BOB.name}`, 'wrong');
    assert.equal(wrong.status, 401);
  });

  it('curl --negotiate: Kerberos against the MIT KDC', async () => {
    const res = await curlNegotiate(`${base}/login`, aliceEnv);
    assert.equal(res.status, 200, `${res.body} ${res.stderr}`);
    assert.deepEqual(JSON.parse(res.body), {
      user: { id: 'alice', mechanism: 'verified' },
      mechanism: 'Kerberos',
    });
  });

  it('failureRedirect: a wrong password is redirected, not challenged', async () => {
    const res = await curl(['--digest', '-u', `${CAROL.name}:wrong`, `${base}/redirecting`]);
    assert.equal(res.status, 302);
    assert.deepEqual(res.headers.get('location'), ['/denied']);
  });

  it('two strategies: either logs in; without credentials both challenge', async () => {
    const key = await curl(['-H', 'x-api-key: key-dave', `${base}/either`]);
    assert.equal(key.status, 200);
    assert.equal((JSON.parse(key.body) as { user: AppUser }).user.id, 'dave');
    const digestLogin = await curl([
      '--digest',
      '-u',
      `${CAROL.name}:${CAROL.password}`,
      `${base}/either`,
    ]);
    assert.equal(digestLogin.status, 200, digestLogin.body);
    assert.equal((JSON.parse(digestLogin.body) as { user: AppUser }).user.id, 'carol');
    const none = await curl([`${base}/either`]);
    assert.equal(none.status, 401);
    assert.deepEqual((none.headers.get('www-authenticate') ?? []).slice(0, 3), [
      'ApiKey realm="api"',
      'Negotiate',
      'NTLM',
    ]);
  });
});
