/**
 * Operator diagnostics end to end: curl --negotiate with a real MIT ticket (test/harness/mit-kdc.ts)
 * against node:http servers from createHandler with a `logger`, one whose clock runs 20 minutes
 * ahead and one whose keytab holds another service's key (a wrong SPN). The refusal's log line
 * says what an operator needs to fix it, and never carries the token or a key.
 */
import * as assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { negotiate, type NegotiateOptions } from '@httpauth/core';
import { createHandler } from '@httpauth/core/node';
import { startMitKdc, type MitKdc } from './harness/mit-kdc.js';
import { curlNegotiate } from './harness/negotiate-clients.js';
import { listen, type Running } from './harness/listen.js';

const ALICE = { name: 'alice', password: 'Alice-pw-1' };

interface Line {
  readonly level: string;
  readonly fields: Record<string, unknown>;
}

async function serve(
  options: NegotiateOptions,
  lines: Line[],
  now?: () => number,
): Promise<Running> {
  const logger = {
    info: (fields: Record<string, unknown>) => lines.push({ level: 'info', fields }),
    warn: (fields: Record<string, unknown>) => lines.push({ level: 'warn', fields }),
  };
  const handler = createHandler(
    { packages: [negotiate(options)], ...(now === undefined ? {} : { now }) },
    (_req, res, auth) => res.end(auth.principal.name),
    { logger },
  );
  return listen(createServer(handler));
}

describe('failure details in the log, from a real MIT ticket', () => {
  let kdc: MitKdc;
  let env: NodeJS.ProcessEnv;
  const servers: Running[] = [];

  before(async () => {
    kdc = await startMitKdc({
      principals: [
        { name: ALICE.name, password: ALICE.password },
        { name: 'HTTP/localhost' },
        { name: 'HTTP/other.localhost', keytab: false },
      ],
    });
    env = kdc.kinit(ALICE.name, ALICE.password).env;
  });
  after(async () => {
    for (const server of servers) await server.close();
    await kdc?.stop();
  });

  it('clock skew: the clock difference in seconds, the client realm, the service principal', async () => {
    const lines: Line[] = [];
    const server = await serve(
      { kerberos: { keytab: kdc.keytabPath } },
      lines,
      () => Date.now() + 20 * 60_000,
    );
    servers.push(server);
    const result = await curlNegotiate(`http://localhost:${server.port}/`, env);
    assert.equal(result.status, 401);
    const refusals = lines.filter((l) => l.level === 'warn');
    assert.ok(refusals.length >= 1, JSON.stringify(lines));
    const { fields } = refusals[0]!;
    assert.equal(fields.code, 'ERR_HTTPAUTH_KRB_SKEW');
    assert.equal(fields.scheme, 'Negotiate');
    const detail = fields.detail as Record<string, unknown>;
    // The client's clock is 1200 s behind ours; allow for the time curl took.
    const difference = detail.clockDifferenceSeconds as number;
    assert.ok(difference <= -1190 && difference >= -1210, String(difference));
    assert.equal(detail.allowedSkewSeconds, 300);
    assert.equal(detail.clientRealm, kdc.realm);
    assert.equal(detail.servicePrincipal, `HTTP/localhost@${kdc.realm}`);
    assert.equal(typeof detail.ticketKvno, 'number');
  });

  it('wrong SPN: the ticket names HTTP/localhost, the keytab holds only another service', async () => {
    const otherKeytab = join(kdc.dir, 'other.keytab');
    kdc.exportKeytab('HTTP/other.localhost', otherKeytab);
    const lines: Line[] = [];
    const server = await serve({ kerberos: { keytab: otherKeytab } }, lines);
    servers.push(server);
    const result = await curlNegotiate(`http://localhost:${server.port}/`, env);
    assert.equal(result.status, 401);
    const refusal = lines.find((l) => l.level === 'warn');
    assert.ok(refusal !== undefined, JSON.stringify(lines));
    assert.equal(refusal.fields.code, 'ERR_HTTPAUTH_KRB_WRONG_SERVICE');
    const detail = refusal.fields.detail as Record<string, unknown>;
    assert.equal(detail.servicePrincipal, `HTTP/localhost@${kdc.realm}`);
    assert.equal(detail.keytabPrincipals, `HTTP/other.localhost@${kdc.realm}`);
    // Nothing secret in any line: no Negotiate token, no key bytes (base64 runs of 32+ chars).
    const serialized = JSON.stringify(lines);
    assert.doesNotMatch(serialized, /[A-Za-z0-9+/]{32,}/);
  });
});
