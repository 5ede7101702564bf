import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { isHttpAuthError } from '../src/errors.js';
import type { Ccache, CcacheCredential } from '../src/kerberos/ccache.js';
import {
  TICKET_FLAGS,
  decodeCcache,
  encodeCcache,
  formatPrincipalName,
  parsePrincipalName,
} from '../src/kerberos/ccache.js';
import { assertDecoderInputs } from './fixtures/fuzz/decoder-inputs.js';

// A cache MIT kinit 1.20 wrote for alice@EXAMPLE.TEST: DeltaTime header, a fast_avail config
// entry and the TGT (captured from a throwaway realm; the session key is worthless now).
const KINIT_CCACHE_HEX =
  '0504000c00010008000000000000000000000001000000010000000c4558414d504c452e5445535400000005616c69636500000001000000010000000c4558414d504c452e5445535400000005616c69636500000001000000030000000c582d4341434845434f4e463a000000156b7262355f6363616368655f636f6e665f646174610000000a666173745f617661696c000000206b72627467742f4558414d504c452e54455354404558414d504c452e544553540000000000000000000000000000000000000000000000000000000000000000000000000000037965730000000000000001000000010000000c4558414d504c452e5445535400000005616c69636500000002000000020000000c4558414d504c452e54455354000000066b72627467740000000c4558414d504c452e54455354001200000020a4f4a28732d7e995091f6ad2b325453155050d2325c64294fbeb2713016354cb6b0845b26b0845b26b09973200000000004041000000000000000000000000019c6182019830820194a003020105a10e1b0c4558414d504c452e54455354a221301fa003020102a11830161b066b72627467741b0c4558414d504c452e54455354a382015830820154a003020112a103020101a2820146048201429c67f9207566f33c3b6907909f028e51b3b9b7c693133780fac618293c407faf98190e12b6994c6baa68d11c9f62a10381e29b8187dee9bdb1f4439cc3591f46c8dc3e1fa60ec3ca636c44c737a17280371666cd5eee5a610a73545d08f7f0e58781a103acabd24fa080d62d15d78bf642e03a574b653eb13d3ed96047f87d0621c2b1081ceb93feb91de81f4e7ee8b787c10439567839cf746c3d16aa2a9af7d7072de32ec7e25be14c0b276119cd09bdc7fe62f0ec338483b3eb62992001eb9685d63c2cdf64a5d494f2c894131b3a3b8cf3ac2b9add03d0f6ef42613876916c692ce6a1a4a52a8f5fbeed6e7203a57ea1e8d0bb015d2dcc6aaffecf246f355764e88e18e5545e595d89ee7fc1d84c7e2770501b2f08cab9bf9fad940646c122b2daa2213307f3adac583ab43409aea399dfc0c56d84c0be24c72938d98f183e4500000000';

const dir = mkdtempSync(join(tmpdir(), 'httpauth-ccache-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function syntheticCredential(overrides: Partial<CcacheCredential> = {}): CcacheCredential {
  const now = Math.floor(Date.now() / 1000);
  return {
    client: parsePrincipalName('alice@EXAMPLE.TEST'),
    server: parsePrincipalName('krbtgt/EXAMPLE.TEST@EXAMPLE.TEST', 2),
    key: { enctype: 18, value: randomBytes(32) },
    authTime: now,
    startTime: now,
    endTime: now + 3600,
    renewTill: now + 7200,
    isSkey: false,
    flags: TICKET_FLAGS.forwardable | TICKET_FLAGS.forwarded | TICKET_FLAGS.renewable,
    addresses: [],
    authData: [],
    // kinit's TGT: klist reads the ticket's enctype from its DER but never decrypts it.
    ticket: decodeCcache(Buffer.from(KINIT_CCACHE_HEX, 'hex')).credentials[1]!.ticket,
    secondTicket: Buffer.alloc(0),
    ...overrides,
  };
}

function klist(path: string, ...flags: string[]): string {
  return execFileSync('klist', [...flags, '-c', `FILE:${path}`], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', KRB5_CONFIG: '/dev/null' },
  });
}

describe('ccache v4 encoding', () => {
  it('re-encodes a cache written by MIT kinit byte for byte', () => {
    const original = Buffer.from(KINIT_CCACHE_HEX, 'hex');
    const cache = decodeCcache(original);
    assert.equal(formatPrincipalName(cache.defaultPrincipal), 'alice@EXAMPLE.TEST');
    assert.deepEqual(cache.kdcOffset, { seconds: 0, microseconds: 0 });
    assert.equal(cache.credentials.length, 2);
    const tgt = cache.credentials[1]!;
    assert.equal(formatPrincipalName(tgt.server), 'krbtgt/EXAMPLE.TEST@EXAMPLE.TEST');
    assert.equal(tgt.key.enctype, 18);
    assert.equal(tgt.key.value.length, 32);
    assert.equal(tgt.flags & TICKET_FLAGS.forwardable, TICKET_FLAGS.forwardable);
    assert.equal(tgt.flags & TICKET_FLAGS.initial, TICKET_FLAGS.initial);
    assert.equal(tgt.ticket[0], 0x61, 'the ticket is an [APPLICATION 1] DER value');
    assert.deepEqual(encodeCcache(cache), original);
  });

  it('writes a cache MIT klist lists with the right principals, enctype and flags', () => {
    const credential = syntheticCredential();
    const path = join(dir, 'synthetic');
    writeFileSync(
      path,
      encodeCcache({ defaultPrincipal: credential.client, credentials: [credential] }),
    );
    const listing = klist(path, '-f', '-e');
    assert.match(listing, /Default principal: alice@EXAMPLE\.TEST/);
    assert.match(listing, /krbtgt\/EXAMPLE\.TEST@EXAMPLE\.TEST/);
    assert.match(listing, /Flags: FfR/);
    assert.match(listing, /Etype \(skey, tkt\): aes256-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96/);
    // The times klist prints are the ones written (checked through the renew line's presence).
    assert.match(listing, /renew until/);
  });

  it('writes flags and several credentials that klist reads back in order', () => {
    const first = syntheticCredential({ flags: TICKET_FLAGS.forwardable, renewTill: 0 });
    const second = syntheticCredential({
      server: parsePrincipalName('HTTP/downstream.example@EXAMPLE.TEST', 2),
      key: { enctype: 17, value: randomBytes(16) },
      flags: TICKET_FLAGS.okAsDelegate,
    });
    const path = join(dir, 'two');
    writeFileSync(
      path,
      encodeCcache({ defaultPrincipal: first.client, credentials: [first, second] }),
    );
    const listing = klist(path, '-f', '-e');
    const tgtAt = listing.indexOf('krbtgt/EXAMPLE.TEST');
    const httpAt = listing.indexOf('HTTP/downstream.example@EXAMPLE.TEST');
    assert.ok(tgtAt > 0 && httpAt > tgtAt);
    assert.match(listing, /Etype \(skey, tkt\): aes128-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96/);
    assert.match(listing, /Flags: O/);
    assert.doesNotMatch(listing.slice(0, httpAt), /renew until/);
  });

  it('round-trips arbitrary credentials', () => {
    const principal = fc
      .record({
        nameType: fc.integer({ min: 0, max: 0xffffffff }),
        realm: fc.string({ maxLength: 20 }),
        components: fc.array(fc.string({ maxLength: 12 }), { maxLength: 4 }),
      })
      .map((r) => ({ ...r }));
    const typed = fc.array(
      fc
        .record({
          type: fc.integer({ min: 0, max: 0xffff }),
          data: fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)),
        })
        .map((r) => ({ ...r })),
      { maxLength: 3 },
    );
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const credential = fc
      .record({
        client: principal,
        server: principal,
        key: fc
          .record({
            enctype: fc.integer({ min: 0, max: 0xffff }),
            value: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
          })
          .map((r) => ({ ...r })),
        authTime: u32,
        startTime: u32,
        endTime: u32,
        renewTill: u32,
        isSkey: fc.boolean(),
        flags: u32,
        addresses: typed,
        authData: typed,
        ticket: fc.uint8Array({ maxLength: 60 }).map((a) => Buffer.from(a)),
        secondTicket: fc.uint8Array({ maxLength: 10 }).map((a) => Buffer.from(a)),
      })
      .map((r) => ({ ...r }));
    fc.assert(
      fc.property(
        principal,
        fc.array(credential, { maxLength: 3 }),
        fc.integer({ min: -0x80000000, max: 0x7fffffff }),
        (defaultPrincipal, credentials, seconds) => {
          const cache: Ccache = {
            kdcOffset: { seconds, microseconds: 0 },
            defaultPrincipal,
            credentials,
          };
          const encoded = encodeCcache(cache);
          assert.deepEqual(decodeCcache(encoded), cache);
          assert.deepEqual(encodeCcache(decodeCcache(encoded)), encoded);
        },
      ),
    );
  });

  it('refuses values that do not fit their field', () => {
    const bad = syntheticCredential({ endTime: 2 ** 32 });
    assert.throws(
      () => encodeCcache({ defaultPrincipal: bad.client, credentials: [bad] }),
      (error: unknown) => isHttpAuthError(error) && error.code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
    );
  });
});

describe('ccache v4 decoding is strict', () => {
  const original = Buffer.from(KINIT_CCACHE_HEX, 'hex');
  const onlyMalformed = (error: unknown): boolean =>
    isHttpAuthError(error) && error.code === 'ERR_HTTPAUTH_CCACHE_MALFORMED';

  it('throws CCACHE_MALFORMED on every truncation', () => {
    // Every proper prefix ends inside a field, except those ending right after the default
    // principal or after the first credential (caches with fewer credentials).
    const principalEnd = 2 + 2 + 12 + 4 + 4 + (4 + 12) + (4 + 5);
    const firstCredentialEnd = encodeCcache({
      defaultPrincipal: decodeCcache(original).defaultPrincipal,
      credentials: [decodeCcache(original).credentials[0]!],
    }).length;
    for (let n = 0; n < original.length; n++) {
      if (n === firstCredentialEnd || n === principalEnd) continue;
      assert.throws(() => decodeCcache(original.subarray(0, n)), onlyMalformed, `prefix ${n}`);
    }
  });

  it('refuses other file format versions', () => {
    for (const version of [0x0501, 0x0502, 0x0503, 0x0505, 0x0000]) {
      const copy = Buffer.from(original);
      copy.writeUInt16BE(version, 0);
      assert.throws(() => decodeCcache(copy), onlyMalformed);
    }
  });

  it('refuses oversized lengths and counts', () => {
    const copy = Buffer.from(original);
    // The default principal's component count (offset 2 + 2 + 12 + 4).
    copy.writeUInt32BE(0xffffffff, 20);
    assert.throws(() => decodeCcache(copy), onlyMalformed);
    const realmLength = Buffer.from(original);
    realmLength.writeUInt32BE(0x7fffffff, 24);
    assert.throws(() => decodeCcache(realmLength), onlyMalformed);
    assert.throws(() => decodeCcache(Buffer.alloc(5 * 1024 * 1024)), onlyMalformed);
  });

  it('only ever throws HttpAuthError on random and mutated input', () => {
    const attempt = (input: Buffer): void => {
      try {
        const cache = decodeCcache(input);
        assert.ok(cache.credentials.length <= 256);
      } catch (error) {
        assert.ok(onlyMalformed(error));
      }
    };
    assertDecoderInputs(attempt, original, {
      maxRandomLength: 600,
      runs: { truncated: 0, extended: 0 },
    });
  });
});

describe('principal names', () => {
  it('parses and formats components and realm', () => {
    const p = parsePrincipalName('HTTP/web.example@EXAMPLE.TEST', 2);
    assert.deepEqual(p, {
      nameType: 2,
      realm: 'EXAMPLE.TEST',
      components: ['HTTP', 'web.example'],
    });
    assert.equal(formatPrincipalName(p), 'HTTP/web.example@EXAMPLE.TEST');
    const escaped = parsePrincipalName('a\\/b@R');
    assert.deepEqual(escaped.components, ['a/b']);
    assert.equal(formatPrincipalName(escaped), 'a\\/b@R');
    assert.throws(() => parsePrincipalName('a//b@R'), isHttpAuthError);
  });
});
