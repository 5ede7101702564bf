/**
 * A decrypted ticket is kept in the acceptor's ticket cache for up to the ticket's lifetime (10,000
 * tickets by default), so nothing in it may be a view into a larger allocation: not the decrypted
 * ticket (a PAC is tens of KiB), and not a slice of Node's shared 8 KiB Buffer pool, which a small
 * copy made with Buffer.from or Buffer.concat is, and which such a slice keeps alive whole. Before,
 * the session key (Buffer.from in makeKey) and the slim ticket's key (a view into the pooled
 * plaintext) pinned about 8 KiB per cached ticket (bench/suites/scale.ts, issue 16).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeKey } from '../src/kerberos/crypto/key.js';
import { decodeGssToken } from '../src/kerberos/gss-token.js';
import { decodeApReq } from '../src/kerberos/messages/ap-req.js';
import { decryptTicket } from '../src/kerberos/ticket-decryption.js';
import { forgeApReq, randomKey } from './fixtures/kerberos/forge.js';

/** Every Buffer or typed array reachable from `value`, with its path. */
function views(value: unknown, path = 'ticket', seen = new Set<unknown>()): [string, Uint8Array][] {
  if (value === null || typeof value !== 'object' || seen.has(value)) return [];
  seen.add(value);
  if (value instanceof Uint8Array) return [[path, value]];
  return Object.entries(value).flatMap(([key, inner]) => views(inner, `${path}.${key}`, seen));
}

describe('Kerberos: what a cached ticket holds', () => {
  it('no view into a larger allocation (the plaintext, or a shared pool slab)', () => {
    const serviceKey = randomKey(18);
    const now = Date.now();
    for (let i = 0; i < 20; i += 1) {
      const { token } = forgeApReq({
        serviceKey,
        kvno: 2,
        authtime: now - 60_000,
        endtime: now + 3_600_000,
        ctime: now,
      });
      const apReq = decodeApReq(decodeGssToken(token).message);
      const decrypted = decryptTicket(apReq, serviceKey, () => undefined, new Set());
      const found = views(decrypted);
      const seen = found.map(([, view]) => view);
      assert.ok(seen.includes(decrypted.sessionKey.bytes), 'the session key is among them');
      for (const [path, view] of found) {
        assert.equal(view.buffer.byteLength, view.byteLength, `${path} owns its memory`);
      }
    }
  });

  it('makeKey copies the bytes into memory of their own', () => {
    const pooled = Buffer.from(randomKey(18).bytes); // a slice of the shared pool
    assert.ok(pooled.buffer.byteLength > pooled.byteLength);
    const key = makeKey(18, pooled);
    assert.equal(key.bytes.buffer.byteLength, 32);
    assert.deepEqual(key.bytes, pooled);
    pooled.fill(0);
    assert.notDeepEqual(key.bytes, pooled, 'a copy, not a view');
  });
});
