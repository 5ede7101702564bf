/**
 * The secure channel's life against an in-process NETLOGON server (./netlogon-fake-dc.ts):
 * one set-up serves many logons (sequence numbers 0, 2, 4... on one connection), a DC that lost
 * the session (restart) refuses the bind and the channel sets up again, a fault 0x721 on a fresh
 * binding does the same, and a tampered response is never accepted.
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { HttpAuthError } from '../src/errors.js';
import { machineNtHash } from '../src/netlogon/schannel.js';
import { domainControllerVerifier } from '../src/netlogon/verifier.js';
import type { DomainControllerVerifier } from '../src/netlogon/verifier.js';
import { startFakeDc } from './netlogon-fake-dc.js';
import type { FakeDc } from './netlogon-fake-dc.js';

const PASSWORD = 'Web1-Machine-Passw0rd!';
const LOGON = {
  user: 'bob',
  domain: 'SAMDOM',
  workstation: 'CLIENT1',
  flags: 0,
  serverChallenge: Buffer.alloc(8, 1),
  lmChallengeResponse: Buffer.alloc(24),
  ntChallengeResponse: Buffer.alloc(60, 2),
  negotiateMessage: Buffer.alloc(0),
  challengeMessage: Buffer.alloc(0),
  authenticateMessage: Buffer.alloc(0),
};
const SETUP = [4, 26];

describe('netlogon secure channel against a NETLOGON server', () => {
  let dc: FakeDc;
  let verifier: DomainControllerVerifier;

  before(async () => {
    dc = await startFakeDc(machineNtHash(PASSWORD));
    verifier = domainControllerVerifier({
      domain: 'SAMDOM',
      servers: [`127.0.0.1:${dc.port}`],
      machineAccount: 'WEB1$',
      machinePassword: PASSWORD,
      maxConnections: 1,
      timeoutMs: 2000,
    });
  });
  after(() => {
    verifier.close();
    dc.close();
  });

  it('sets up once and reuses the connection for sequential logons', async () => {
    for (let i = 0; i < 5; i++) {
      const result = await verifier.verify(LOGON);
      assert.equal(result?.userSid, 'S-1-5-21-1-2-3-1102');
      assert.deepEqual(result?.groupSids, [
        'S-1-5-21-1-2-3-513',
        'S-1-5-21-1-2-3-1104',
        'S-1-5-21-9-9-9-1000',
      ]);
      assert.equal(result?.logonInfo?.primaryGroupSid, 'S-1-5-21-1-2-3-513');
      assert.deepEqual(result?.sessionBaseKey, Buffer.alloc(16, 0xab));
    }
    assert.deepEqual(dc.calls, [...SETUP, 39, 39, 39, 39, 39]);
  });

  it('a DC that lost the session (restart) refuses the bind: set up again, then answer', async () => {
    dc.calls.length = 0;
    dc.forgetSessions();
    dc.close(); // drops the pooled connection too
    const again = await startFakeDc(machineNtHash(PASSWORD));
    // The same port is not guaranteed: point a verifier at the new server after a restart.
    const v = domainControllerVerifier({
      domain: 'SAMDOM',
      servers: [`127.0.0.1:${again.port}`],
      machineAccount: 'WEB1$',
      machinePassword: PASSWORD,
      timeoutMs: 2000,
    });
    try {
      assert.ok(await v.verify(LOGON));
      again.forgetSessions();
      // The pooled connection still holds the old key and works; a new binding is refused.
      assert.ok(await v.verify(LOGON));
      const parallel = await Promise.all([v.verify(LOGON), v.verify(LOGON), v.verify(LOGON)]);
      assert.ok(parallel.every((r) => r?.userSid === 'S-1-5-21-1-2-3-1102'));
      assert.ok(
        again.calls.filter((op) => op === 26).length >= 2,
        `Authenticate3 again: ${again.calls}`,
      );
    } finally {
      v.close();
      again.close();
    }
  });

  it('fault 0x721 on a fresh binding: authenticate again and retry', async () => {
    const fresh = await startFakeDc(machineNtHash(PASSWORD));
    const v = domainControllerVerifier({
      domain: 'SAMDOM',
      servers: [`127.0.0.1:${fresh.port}`],
      machineAccount: 'WEB1$',
      machinePassword: PASSWORD,
      timeoutMs: 2000,
    });
    try {
      fresh.failNextCallWith721();
      assert.ok(await v.verify(LOGON));
      assert.deepEqual(fresh.calls, [...SETUP, 39, ...SETUP, 39]);
    } finally {
      v.close();
      fresh.close();
    }
  });

  it('fault 0x721 on a connection that worked so far: authenticate again and retry', async () => {
    const fresh = await startFakeDc(machineNtHash(PASSWORD));
    const v = domainControllerVerifier({
      domain: 'SAMDOM',
      servers: [`127.0.0.1:${fresh.port}`],
      machineAccount: 'WEB1$',
      machinePassword: PASSWORD,
      maxConnections: 1,
      timeoutMs: 2000,
    });
    try {
      assert.ok(await v.verify(LOGON));
      fresh.failNextCallWith721();
      assert.ok(await v.verify(LOGON), 'the DC asked for a new channel; the logon still answers');
      assert.deepEqual(fresh.calls, [...SETUP, 39, 39, ...SETUP, 39]);
    } finally {
      v.close();
      fresh.close();
    }
  });

  it('a tampered response is a 503 (RPC_INTEGRITY), never a logon', async () => {
    const fresh = await startFakeDc(machineNtHash(PASSWORD));
    const v = domainControllerVerifier({
      domain: 'SAMDOM',
      servers: [`127.0.0.1:${fresh.port}`],
      machineAccount: 'WEB1$',
      machinePassword: PASSWORD,
      timeoutMs: 2000,
    });
    try {
      fresh.tamperNextResponse();
      await assert.rejects(
        v.verify(LOGON),
        (error: unknown) =>
          error instanceof HttpAuthError &&
          error.code === 'ERR_HTTPAUTH_DOMAIN_CONTROLLER_UNAVAILABLE' &&
          error.reason === 'RPC_INTEGRITY',
      );
      assert.ok(await v.verify(LOGON), 'the next logon uses a fresh connection');
    } finally {
      v.close();
      fresh.close();
    }
  });

  it('a wrong machine password: 503 with the DC status as the reason', async () => {
    const fresh = await startFakeDc(machineNtHash('another password'));
    const v = domainControllerVerifier({
      domain: 'SAMDOM',
      servers: [`127.0.0.1:${fresh.port}`],
      machineAccount: 'WEB1$',
      machinePassword: PASSWORD,
      timeoutMs: 2000,
    });
    try {
      await assert.rejects(
        v.verify(LOGON),
        (error: unknown) =>
          error instanceof HttpAuthError && error.reason === 'SECURE_CHANNEL_STATUS_ACCESS_DENIED',
      );
    } finally {
      v.close();
      fresh.close();
    }
  });
});
