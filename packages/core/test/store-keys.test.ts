// The store key layout (src/store/keys.ts): every key core's writers put in a KeyValueStore is one
// of the documented kinds, and the strings stay what running deployments already hold.
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { basic } from '../src/basic/basic.js';
import { createAuthenticator } from '../src/loop/authenticator.js';
import { digestUserTag, recordNonceUse } from '../src/digest/nonce-use.js';
import { recordAuthenticator, replayKey } from '../src/kerberos/replay-cache.js';
import {
  digestNonceCountKey,
  digestNonceOnceKey,
  digestOwner,
  kerberosReplayKey,
  kerberosReplayOwner,
  ownerQuotaKey,
  sessionRevokedKey,
  STORE_KEY_LAYOUT,
} from '../src/store/keys.js';
import { MemoryStore } from '../src/store/memory.js';
import type { KeyValueStore } from '../src/store/types.js';

/** A MemoryStore that remembers every key and owner it was asked to write. */
class RecordingStore extends MemoryStore {
  readonly writes: { key: string; owner: string | undefined }[] = [];
  override async add(key: string, value: string, ttlMs: number, owner?: string) {
    this.writes.push({ key, owner });
    return super.add(key, value, ttlMs, owner);
  }
  override async advance(key: string, value: number, ttlMs: number, owner?: string) {
    this.writes.push({ key, owner });
    return super.advance(key, value, ttlMs, owner);
  }
  override async compareAndSet(
    ...args: Parameters<KeyValueStore['compareAndSet']>
  ): Promise<boolean> {
    this.writes.push({ key: args[0], owner: args[4] });
    return super.compareAndSet(...args);
  }
}

const kinds = Object.values(STORE_KEY_LAYOUT);

/** The pattern as a regular expression: each `<placeholder>` stands for one or more characters. */
function patternRegExp(pattern: string): RegExp {
  const parts = pattern.split(/<[^>]+>/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.+')}$`);
}

function kindOf(key: string) {
  const matching = kinds.filter((kind) => patternRegExp(kind.pattern).test(key));
  assert.equal(matching.length, 1, `${key} matches ${matching.length} documented kinds`);
  return matching[0];
}

describe('store key layout', () => {
  it('keeps the key strings running deployments hold (changing one loses replay records)', () => {
    const cipher = Buffer.from('authenticator ciphertext');
    const hash = createHash('sha256').update(cipher).digest('base64url');
    assert.equal(kerberosReplayKey(cipher), `httpauth:krb5rc:${hash}`);
    assert.equal(replayKey(cipher), kerberosReplayKey(cipher));
    assert.equal(kerberosReplayOwner('alice@EXAMPLE.TEST'), 'krb5:alice@EXAMPLE.TEST');
    assert.equal(digestNonceCountKey('N', 'T'), 'digest:{N}:nc:T');
    assert.equal(digestNonceOnceKey('N', 'T'), 'digest:{N}:once:T');
    assert.equal(digestOwner('T'), 'digest:T');
    assert.equal(sessionRevokedKey('s1'), 'session:revoked:s1');
    const ownerHash = createHash('sha256').update('krb5:alice', 'utf8').digest('base64url');
    assert.equal(ownerQuotaKey('krb5:alice'), `owner-quota:${ownerHash}`);
  });

  it('documents each kind with a pattern that starts with its prefix', () => {
    for (const kind of kinds) {
      assert.ok(kind.pattern.startsWith(kind.prefix), kind.pattern);
      assert.ok(kind.prefix.length > 0);
    }
    // No key of one kind fits another kind's pattern.
    for (const kind of kinds) {
      const example = kind.pattern.replace(/<[^>]+>/g, 'x');
      assert.equal(kindOf(example), kind);
    }
  });

  it('every key the Kerberos, Digest and session writers store is a documented kind', async () => {
    const store = new RecordingStore();
    await recordAuthenticator(store, randomBytes(32), 'alice@EXAMPLE.TEST', 600_000);
    const use = { userTag: digestUserTag('r', 'acct'), ttlMs: 60_000 };
    await recordNonceUse(store, { ...use, nonce: 'n1', count: 1, consume: false });
    await recordNonceUse(store, { ...use, nonce: 'n2', count: undefined, consume: true });
    const auth = createAuthenticator({
      packages: [basic({ realm: 'r', verify: () => false })],
      store,
      sessions: { keys: [{ id: 'a', secret: 'a'.repeat(32) }], revocable: true },
    });
    await auth.revokeSession('session-id');

    const found = store.writes.map(({ key }) => kindOf(key));
    assert.equal(found.length, 4);
    assert.deepEqual(found, [
      STORE_KEY_LAYOUT.kerberosReplay,
      STORE_KEY_LAYOUT.digestNonceCount,
      STORE_KEY_LAYOUT.digestNonceOnce,
      STORE_KEY_LAYOUT.sessionRevoked,
    ]);
    assert.ok(store.writes[1]?.key.startsWith('digest:{n1}:nc:'));
    assert.ok(store.writes[2]?.key.startsWith('digest:{n2}:once:'));
    assert.equal(store.writes[0]?.owner, kerberosReplayOwner('alice@EXAMPLE.TEST'));
    assert.equal(store.writes[1]?.owner, store.writes[2]?.owner);
    assert.ok(store.writes[1]?.owner?.startsWith('digest:'));
    assert.equal(store.writes[3]?.owner, undefined);
    // Principal names stay out of the keys: only hashes and the Digest user tag.
    assert.ok(store.writes.every(({ key }) => !key.includes('alice') && !key.includes('acct')));
  });
});
