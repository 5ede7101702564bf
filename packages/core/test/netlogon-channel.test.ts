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
import type { DomainControllerVerifier } from '../src/netlogon/verifier.js';
import { startFakeDc } from './netlogon-fake-dc.js';
import type { FakeDc } from './netlogon-fake-dc.js';
import { LOGON, MACHINE_PASSWORD, web1Verifier, withFakeDc } from './netlogon-fixtures.js';

/** Opnums: NetrServerReqChallenge, NetrServerAuthenticate3 (the set-up); 39 is SamLogonEx. */
const SETUP = [4, 26];

describe('netlogon secure channel against a NETLOGON server', () => {
  let dc: FakeDc;
  let verifier: DomainControllerVerifier;

  before(async () => {
    dc = await startFakeDc(machineNtHash(MACHINE_PASSWORD));
    verifier = web1Verifier([`127.0.0.1:${dc.port}`], { maxConnections: 1 });
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
    // The same port is not guaranteed: point a verifier at the new server after a restart.
    await withFakeDc(async (again, v) => {
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
    });
  });

  it('fault 0x721 on a fresh binding: authenticate again and retry', async () => {
    await withFakeDc(async (fresh, v) => {
      fresh.failNextCallWith721();
      assert.ok(await v.verify(LOGON));
      assert.deepEqual(fresh.calls, [...SETUP, 39, ...SETUP, 39]);
    });
  });

  it('fault 0x721 on a connection that worked so far: authenticate again and retry', async () => {
    await withFakeDc(
      async (fresh, v) => {
        assert.ok(await v.verify(LOGON));
        fresh.failNextCallWith721();
        assert.ok(await v.verify(LOGON), 'the DC asked for a new channel; the logon still answers');
        assert.deepEqual(fresh.calls, [...SETUP, 39, 39, ...SETUP, 39]);
      },
      { maxConnections: 1 },
    );
  });

  it('a tampered response is a 503 (RPC_INTEGRITY), never a logon', async () => {
    await withFakeDc(async (fresh, v) => {
      fresh.tamperNextResponse();
      await assert.rejects(
        v.verify(LOGON),
        (error: unknown) =>
          error instanceof HttpAuthError &&
          error.code === 'ERR_HTTPAUTH_DOMAIN_CONTROLLER_UNAVAILABLE' &&
          error.reason === 'RPC_INTEGRITY',
      );
      assert.ok(await v.verify(LOGON), 'the next logon uses a fresh connection');
    });
  });

  it('a wrong machine password: 503 with the DC status as the reason', async () => {
    await withFakeDc(
      async (fresh, v) => {
        await assert.rejects(
          v.verify(LOGON),
          (error: unknown) =>
            error instanceof HttpAuthError &&
            error.reason === 'SECURE_CHANNEL_STATUS_ACCESS_DENIED',
        );
      },
      { dcPassword: 'another password' },
    );
  });
});
