/**
 * Names for SIDs (src/directory): SID encoding, the bounded TTL cache, batching, sharing of
 * lookups in flight, negative answers, timeouts and the degrade-to-SIDs path with its warning.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { requireGroup } from '../src/authorization/authorization.js';
import { TtlCache } from '../src/directory/cache.js';
import { createSidResolver } from '../src/directory/resolver.js';
import type { SidNameLookup } from '../src/directory/resolver.js';
import { canonicalSid, sidFromBytes, sidToBytes } from '../src/directory/sid.js';
import { CHANNEL_WARNING } from '../src/events.js';
import type { WarningEvent } from '../src/events.js';
import type { Principal } from '../src/principal.js';

const DOMAIN = 'S-1-5-21-1004336348-1177238915-682003330';

/** A lookup over a fixed table that records every batch it is asked. */
function tableLookup(table: Record<string, string>): SidNameLookup & { batches: string[][] } {
  const batches: string[][] = [];
  return {
    batches,
    async lookupSids(sids) {
      batches.push([...sids]);
      const found = new Map<string, string>();
      for (const sid of sids) if (table[sid] !== undefined) found.set(sid, table[sid]);
      return found;
    },
  };
}

function warnings(): { events: WarningEvent[]; stop(): void } {
  const events: WarningEvent[] = [];
  const listener = (message: unknown) => events.push(message as WarningEvent);
  subscribe(CHANNEL_WARNING, listener);
  return { events, stop: () => unsubscribe(CHANNEL_WARNING, listener) };
}

describe('SIDs: string and binary forms (MS-DTYP 2.4.2.2)', () => {
  it('encodes a domain SID as AD stores objectSid', () => {
    const bytes = sidToBytes(`${DOMAIN}-1104`);
    assert.equal(
      bytes?.toString('hex'),
      '010500000000000515000000dcf4dc3b833d2b46828ba62850040000',
    );
    assert.equal(sidFromBytes(bytes as Buffer), `${DOMAIN}-1104`);
  });

  it('round-trips any SID and canonicalises the spelling', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 48 - 1 }),
        fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { maxLength: 15 }),
        (authority, subs) => {
          const sid = `S-1-${authority}${subs.map((s) => `-${s}`).join('')}`;
          const bytes = sidToBytes(sid);
          assert.ok(bytes !== undefined);
          assert.equal(sidFromBytes(bytes), sid);
        },
      ),
    );
    assert.equal(canonicalSid('s-1-5-032-0544'), 'S-1-5-32-544');
  });

  it('refuses what is not a SID, in either form', () => {
    for (const bad of [
      '',
      'S-1',
      'S-2-5-21',
      'S-1-5-',
      `S-1-5${'-1'.repeat(16)}`,
      'S-1-5-4294967296',
      'S-1-281474976710656',
      'alice',
    ]) {
      assert.equal(sidToBytes(bad), undefined, bad);
    }
    assert.equal(sidFromBytes(Buffer.alloc(7)), undefined);
    assert.equal(sidFromBytes(Buffer.from('0201000000000005', 'hex')), undefined, 'revision 2');
    assert.equal(sidFromBytes(Buffer.from('01020000000000051500', 'hex')), undefined, 'truncated');
    assert.equal(sidFromBytes(Buffer.concat([Buffer.from([1, 16]), Buffer.alloc(70)])), undefined);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (raw) => {
        const sid = sidFromBytes(Buffer.from(raw));
        if (sid !== undefined) assert.deepEqual(sidToBytes(sid), Buffer.from(raw));
      }),
    );
  });
});

describe('TtlCache', () => {
  it('never holds more than its bound, evicting the least recently used', () => {
    const cache = new TtlCache<string, number>(3);
    cache.set('a', 1, 100);
    cache.set('b', 2, 100);
    cache.set('c', 3, 100);
    assert.equal(cache.get('a', 0)?.value, 1, 'a is now the most recently used');
    cache.set('d', 4, 100);
    assert.equal(cache.size, 3);
    assert.equal(cache.get('b', 0), undefined, 'b was the least recently used');
    assert.deepEqual(
      ['a', 'c', 'd'].map((k) => cache.get(k, 0)?.value),
      [1, 3, 4],
    );
  });

  it('forgets an entry at its expiry', () => {
    const cache = new TtlCache<string, number>(10);
    cache.set('a', 1, 100);
    assert.equal(cache.get('a', 99)?.value, 1);
    assert.equal(cache.get('a', 100), undefined);
    assert.equal(cache.size, 0, 'the expired entry is dropped, not kept');
  });
});

describe('createSidResolver', () => {
  it('names group SIDs, well-known SIDs without asking, and caches until the TTL', async () => {
    let now = 1_000;
    const lookup = tableLookup({
      [`${DOMAIN}-1104`]: 'SAMDOM\\webusers',
      [`${DOMAIN}-513`]: 'SAMDOM\\Domain Users',
    });
    const resolver = createSidResolver({ lookup, ttlMs: 60_000, now: () => now });
    const first = await resolver.names([`${DOMAIN}-1104`, `${DOMAIN}-513`, 'S-1-5-11', 'S-1-18-1']);
    assert.equal(first.unresolved, 0);
    assert.equal(first.names.get(`${DOMAIN}-1104`), 'SAMDOM\\webusers');
    assert.equal(first.names.get('S-1-5-11'), 'NT AUTHORITY\\Authenticated Users');
    assert.equal(first.names.get('S-1-18-1'), 'Authentication authority asserted identity');
    assert.deepEqual(
      lookup.batches,
      [[`${DOMAIN}-1104`, `${DOMAIN}-513`]],
      'well-known SIDs are never looked up',
    );

    now += 59_999;
    await resolver.names([`${DOMAIN}-1104`]);
    assert.equal(lookup.batches.length, 1, 'served from the cache');
    now += 1;
    await resolver.names([`${DOMAIN}-1104`]);
    assert.equal(lookup.batches.length, 2, 'asked again once the TTL ran out');
  });

  it('batches: one lookup per batchSize SIDs, and the cache stays within maxEntries', async () => {
    const table: Record<string, string> = {};
    const sids: string[] = [];
    for (let rid = 1000; rid < 1250; rid++) {
      sids.push(`${DOMAIN}-${rid}`);
      table[`${DOMAIN}-${rid}`] = `SAMDOM\\g${rid}`;
    }
    const lookup = tableLookup(table);
    const resolver = createSidResolver({ lookup, batchSize: 100, maxEntries: 200 });
    const { names } = await resolver.names([...sids, ...sids]);
    assert.equal(names.size, 250);
    assert.deepEqual(
      lookup.batches.map((b) => b.length),
      [100, 100, 50],
    );
    assert.equal(resolver.cacheSize, 200);
  });

  it('concurrent logons share the lookup in flight', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const inner = tableLookup({ [`${DOMAIN}-1104`]: 'SAMDOM\\webusers' });
    const lookup: SidNameLookup = {
      async lookupSids(sids, signal) {
        await gate;
        return inner.lookupSids(sids, signal);
      },
    };
    const resolver = createSidResolver({ lookup });
    const both = Promise.all([
      resolver.names([`${DOMAIN}-1104`]),
      resolver.names([`${DOMAIN}-1104`]),
    ]);
    release();
    const [a, b] = await both;
    assert.equal(a.names.get(`${DOMAIN}-1104`), 'SAMDOM\\webusers');
    assert.equal(b.names.get(`${DOMAIN}-1104`), 'SAMDOM\\webusers');
    assert.equal(inner.batches.length, 1);
  });

  it('remembers "no such SID" for negativeTtlMs only', async () => {
    let now = 0;
    const lookup = tableLookup({});
    const resolver = createSidResolver({ lookup, negativeTtlMs: 1_000, now: () => now });
    const foreign = 'S-1-5-21-1-2-3-1105';
    assert.equal((await resolver.names([foreign])).names.size, 0);
    await resolver.names([foreign]);
    assert.equal(lookup.batches.length, 1);
    now = 1_000;
    await resolver.names([foreign]);
    assert.equal(lookup.batches.length, 2);
  });

  it('a failing directory degrades to SIDs with a warning, then pauses for retryAfterMs', async () => {
    let now = 0;
    let calls = 0;
    let down = true;
    const lookup: SidNameLookup = {
      async lookupSids(sids) {
        calls++;
        if (down) throw new Error('ECONNREFUSED');
        return new Map(sids.map((sid) => [sid, `SAMDOM\\${sid.slice(-4)}`]));
      },
    };
    const seen = warnings();
    try {
      const resolver = createSidResolver({ lookup, retryAfterMs: 5_000, now: () => now });
      const principal: Principal = {
        name: 'alice@SAMDOM.TEST',
        user: 'alice',
        mechanism: 'Kerberos',
        groupSids: [`${DOMAIN}-513`, 'S-1-5-11'],
      };
      const degraded = await resolver.resolvePrincipal(principal);
      assert.deepEqual(degraded.groupSids, principal.groupSids, 'the SIDs are kept');
      assert.deepEqual(degraded.groups, ['NT AUTHORITY\\Authenticated Users']);
      assert.deepEqual(seen.events, [
        { code: 'ERR_HTTPAUTH_DIRECTORY_UNAVAILABLE', source: 'directory', unresolved: 1 },
      ]);
      down = false;
      now = 4_999;
      await resolver.resolvePrincipal(principal);
      assert.equal(calls, 1, 'paused: no lookup while the directory is known to be down');
      assert.equal(seen.events.length, 2);
      now = 5_000;
      const named = await resolver.resolvePrincipal(principal);
      assert.equal(calls, 2);
      assert.deepEqual(named.groups, ['SAMDOM\\-513', 'NT AUTHORITY\\Authenticated Users']);
    } finally {
      seen.stop();
    }
  });

  it('a directory that hangs costs timeoutMs, then the logon goes on with SIDs', async () => {
    let aborted = false;
    const lookup: SidNameLookup = {
      lookupSids(_sids, signal) {
        signal.addEventListener('abort', () => (aborted = true));
        return new Promise(() => undefined);
      },
    };
    const resolver = createSidResolver({ lookup, timeoutMs: 50 });
    const started = Date.now();
    const result = await resolver.names([`${DOMAIN}-1104`]);
    assert.ok(Date.now() - started < 2_000);
    assert.equal(result.unresolved, 1);
    assert.equal(aborted, true, 'the lookup was told to stop');
  });

  it('ignores malformed answers and throws of any kind from the lookup', async () => {
    const answers: unknown[] = [
      undefined,
      'SAMDOM\\x',
      new Map<unknown, unknown>([
        [`${DOMAIN}-1104`, ''],
        [`${DOMAIN}-1105`, 'x'.repeat(600)],
        [42, 'SAMDOM\\x'],
        ['not-a-sid', 'SAMDOM\\x'],
        [`s-1-5-21-1004336348-1177238915-682003330-1106`, 'SAMDOM\\ok'],
      ]),
    ];
    for (const answer of answers) {
      const resolver = createSidResolver({
        lookup: { lookupSids: async () => answer as Map<string, string> },
      });
      const { names } = await resolver.names([
        `${DOMAIN}-1104`,
        `${DOMAIN}-1105`,
        `${DOMAIN}-1106`,
      ]);
      assert.deepEqual([...names.values()], answer instanceof Map ? ['SAMDOM\\ok'] : []);
    }
    const throwing = createSidResolver({
      lookup: {
        lookupSids: () => {
          throw 'not even an Error';
        },
      },
    });
    assert.equal((await throwing.names([`${DOMAIN}-1104`])).unresolved, 1);
  });

  it('refuses invalid options', () => {
    const lookup = tableLookup({});
    for (const bad of [
      {},
      { lookup: {} },
      { lookup, ttlMs: 0 },
      { lookup, batchSize: 1.5 },
      { lookup, maxEntries: -1 },
      { lookup, timeoutMs: Number.NaN },
    ]) {
      assert.throws(
        () => createSidResolver(bad as never),
        (e: unknown) => (e as { code?: string }).code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
      );
    }
  });

  it('requireGroup accepts the name or the SID once the principal is resolved', async () => {
    const lookup = tableLookup({ [`${DOMAIN}-1104`]: 'SAMDOM\\WebUsers' });
    const resolver = createSidResolver({ lookup });
    const principal = await resolver.resolvePrincipal({
      name: 'SAMDOM\\alice',
      user: 'alice',
      mechanism: 'NTLM',
      groupSids: [`${DOMAIN}-1104`],
      groups: ['local-group'],
    });
    assert.deepEqual(principal.groups, ['local-group', 'SAMDOM\\WebUsers']);
    assert.ok(requireGroup('samdom\\webusers').test({ principal }));
    assert.ok(requireGroup(`${DOMAIN}-1104`).test({ principal }));
    assert.ok(!requireGroup('SAMDOM\\Domain Admins').test({ principal }));
  });
});
