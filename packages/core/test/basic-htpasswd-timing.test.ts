// The unknown-user path of htpasswd verification and bcrypt's 72-byte limit: a refusal must not
// tell which user names exist, and a bcrypt password must not be accepted on its first 72 bytes.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import type { HtpasswdEntry } from '../src/basic/htpasswd.js';
import { HtpasswdTable, htpasswdCost, parseHtpasswd } from '../src/basic/htpasswd.js';

const SHA1 = '{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g='; // htpasswd -s, "password"
const APR1 = execFileSync('htpasswd', ['-nbm', 'u', 'pw']).toString().trim().slice(2);
const BCRYPT_4 = bcrypt.hashSync('pw', 4);
const BCRYPT_6 = bcrypt.hashSync('pw', 6);
const UNSUPPORTED = 'abJnggxhB/yWI'; // crypt(3) DES

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

/** A table whose verifier records which entry each check used. */
function recordingTable(hashes: readonly string[]) {
  const checked: HtpasswdEntry[] = [];
  const table = new HtpasswdTable(async (entry) => {
    checked.push(entry);
    return true;
  });
  hashes.forEach((hash, i) => table.add(`user${i}`, hash));
  return { table, checked };
}

describe('htpasswd unknown users', () => {
  it('use the costliest entry as the decoy, whatever the order of the file', () => {
    for (const order of permutations([SHA1, APR1, BCRYPT_4, BCRYPT_6, UNSUPPORTED])) {
      const table = new HtpasswdTable();
      order.forEach((hash, i) => table.add(`u${i}`, hash));
      assert.equal(table.decoy?.hash, BCRYPT_6, order.join(' '));
    }
    for (const order of permutations([SHA1, APR1, UNSUPPORTED])) {
      const table = new HtpasswdTable();
      order.forEach((hash, i) => table.add(`u${i}`, hash));
      assert.equal(table.decoy?.hash, APR1, order.join(' '));
    }
    assert.equal(parseHtpasswd(`a:${UNSUPPORTED}\n`).decoy, undefined);
    assert.ok(
      htpasswdCost({ scheme: 'bcrypt', hash: BCRYPT_6 }) >
        htpasswdCost({ scheme: 'bcrypt', hash: BCRYPT_4 }),
    );
  });

  it('run the same verifier on the decoy as a known user, and then refuse', async () => {
    const { table, checked } = recordingTable([SHA1, BCRYPT_6, UNSUPPORTED]);
    // Known: its own entry, and the verifier's answer counts.
    assert.equal(await table.verify('user0', 'x'), true);
    assert.deepEqual(checked.splice(0), [{ scheme: 'sha1', hash: SHA1 }]);
    // Unknown, and known with a hash that cannot verify: one check of the decoy, then false.
    for (const user of ['nobody', 'user2']) {
      assert.equal(await table.verify(user, 'x'), false);
      assert.deepEqual(checked.splice(0), [{ scheme: 'bcrypt', hash: BCRYPT_6 }], user);
    }
  });
});

describe('bcrypt and passwords longer than 72 bytes', () => {
  it('refuses a password that only matches on its first 72 bytes', async () => {
    for (const prefix of ['a'.repeat(72), 'ä'.repeat(36)]) {
      assert.equal(Buffer.byteLength(prefix), 72);
      const table = parseHtpasswd(`u:${bcrypt.hashSync(prefix, 4)}\n`);
      assert.equal(await table.verify('u', prefix), true);
      // bcrypt itself would accept these: it never reads past byte 72.
      for (const longer of [prefix + 'x', prefix + prefix]) {
        assert.equal(await bcrypt.compare(longer, table.decoy?.hash as string), true);
        assert.equal(await table.verify('u', longer), false);
      }
    }
  });
});
